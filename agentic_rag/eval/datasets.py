"""Readers for the official layouts of HotpotQA, 2WikiMultiHopQA and MuSiQue into one type.

- HotpotQA: a JSON array of ``{_id, question, answer, supporting_facts, context}``; ``context`` is a
  list of ``[title, [sentence, ...]]`` and ``supporting_facts`` a list of ``[title, sentence index]``.
- 2WikiMultiHopQA: the same shape, plus ``evidences`` (triples, kept in ``meta``).
- MuSiQue: JSON lines of ``{id, question, answer, answer_aliases, paragraphs, question_decomposition}``;
  each paragraph is ``{idx, title, paragraph_text, is_supporting}``.
- ``musique-last-hop``: the same MuSiQue file read as single-hop questions: the last step of each
  ``question_decomposition`` with the earlier steps' answers written in for ``#1``, ``#2``..., its
  answer and its one gold paragraph. Its pooled corpus holds the paragraphs of the questions kept.

A record that is malformed or partial (missing question or answer, a supporting fact naming a
paragraph that is not there, no supporting paragraph...) is reported in :attr:`Dataset.skipped` and
left out; it never stops the read. A file that cannot be read at all raises :class:`DatasetError`.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from agentic_rag.errors import AgenticRAGError

__all__ = [
    "Dataset",
    "DatasetError",
    "DatasetFormat",
    "Paragraph",
    "QAExample",
    "SkippedRecord",
    "detect_format",
    "parse_record",
    "read_dataset",
]

logger = logging.getLogger(__name__)


class DatasetError(AgenticRAGError):
    """A dataset file cannot be read (missing, not JSON, not the layout asked for, no valid record)."""


class DatasetFormat(str, Enum):
    """The layouts the readers understand."""

    HOTPOTQA = "hotpotqa"
    TWOWIKI = "2wiki"
    MUSIQUE = "musique"
    MUSIQUE_LAST_HOP = "musique-last-hop"


@dataclass(frozen=True, slots=True)
class Paragraph:
    """A titled paragraph; sentences are joined with single spaces."""

    title: str
    text: str


@dataclass(frozen=True, slots=True)
class QAExample:
    """One multi-hop question with its answers, its paragraph pool and its gold paragraphs.

    ``answers`` holds the answer first, then its aliases (deduplicated, order kept).
    ``supporting`` are the gold paragraphs, each also in ``paragraphs``.
    """

    id: str
    question: str
    answers: tuple[str, ...]
    supporting: tuple[Paragraph, ...]
    paragraphs: tuple[Paragraph, ...]
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def answer(self) -> str:
        """The main answer."""
        return self.answers[0]

    @property
    def supporting_titles(self) -> tuple[str, ...]:
        """Titles of the gold paragraphs, in order, without repeats."""
        return tuple(dict.fromkeys(p.title for p in self.supporting))


@dataclass(frozen=True, slots=True)
class SkippedRecord:
    """A record left out: its position in the file (0-based record or line number), id if known, why."""

    position: int
    id: str | None
    reason: str


@dataclass
class Dataset:
    """The valid examples of a file and the records that were skipped."""

    path: Path
    format: DatasetFormat
    examples: list[QAExample]
    skipped: list[SkippedRecord] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.examples)


class _BadRecord(ValueError):
    """Raised inside the parsers: the record is skipped with this message."""


# -- helpers -------------------------------------------------------------------------------------


def _text(value: Any, name: str) -> str:
    if isinstance(value, bool) or value is None:
        raise _BadRecord(f"'{name}' is missing")
    if isinstance(value, (int, float)):
        value = str(value)
    if not isinstance(value, str):
        raise _BadRecord(f"'{name}' is not a string")
    value = " ".join(value.split())
    if not value:
        raise _BadRecord(f"'{name}' is empty")
    return value


def _join_sentences(sentences: Any, title: str) -> str:
    if isinstance(sentences, str):
        sentences = [sentences]
    if not isinstance(sentences, list) or not all(isinstance(s, str) for s in sentences):
        raise _BadRecord(f"paragraph {title!r} has no list of sentences")
    text = " ".join(" ".join(s.split()) for s in sentences if s.strip())
    if not text:
        raise _BadRecord(f"paragraph {title!r} is empty")
    return text


def _answers(answer: str, aliases: Any) -> tuple[str, ...]:
    found = [answer]
    if aliases is not None:
        if not isinstance(aliases, list):
            raise _BadRecord("'answer_aliases' is not a list")
        found.extend(" ".join(a.split()) for a in aliases if isinstance(a, str) and a.strip())
    return tuple(dict.fromkeys(found))


def _required(record: dict[str, Any], *names: str) -> None:
    missing = [n for n in names if n not in record]
    if missing:
        raise _BadRecord(f"missing field{'s' if len(missing) > 1 else ''} {', '.join(repr(m) for m in missing)}")


# -- per layout ----------------------------------------------------------------------------------


def _parse_hotpot_like(record: dict[str, Any], fmt: DatasetFormat) -> QAExample:
    _required(record, "_id", "question", "answer", "supporting_facts", "context")
    example_id = _text(record["_id"], "_id")
    question = _text(record["question"], "question")
    answer = _text(record["answer"], "answer")
    context = record["context"]
    if not isinstance(context, list) or not context:
        raise _BadRecord("'context' is not a non-empty list of [title, sentences]")
    paragraphs: list[Paragraph] = []
    # A title may name two paragraphs (it happens in the official 2WikiMultiHopQA files): both are kept.
    by_title: dict[str, list[tuple[Paragraph, int]]] = {}
    for entry in context:
        if not isinstance(entry, (list, tuple)) or len(entry) != 2:
            raise _BadRecord("a 'context' entry is not [title, sentences]")
        title = _text(entry[0], "context title")
        paragraph = Paragraph(title, _join_sentences(entry[1], title))
        paragraphs.append(paragraph)
        by_title.setdefault(title, []).append((paragraph, len(entry[1]) if isinstance(entry[1], list) else 1))
    facts = record["supporting_facts"]
    if not isinstance(facts, list) or not facts:
        raise _BadRecord("'supporting_facts' is not a non-empty list")
    gold: list[Paragraph] = []
    for fact in facts:
        if not isinstance(fact, (list, tuple)) or len(fact) != 2 or not isinstance(fact[1], int):
            raise _BadRecord("a supporting fact is not [title, sentence index]")
        title = _text(fact[0], "supporting fact title")
        if title not in by_title:
            raise _BadRecord(f"supporting fact names {title!r}, which is not in 'context'")
        holding = [p for p, count in by_title[title] if 0 <= fact[1] < count]
        if not holding:
            # A known glitch of the official files; gold paragraphs only need the title.
            logger.debug("%s: supporting fact points past the sentences of %r", example_id, title)
        gold.append((holding or [by_title[title][0][0]])[0])  # of two same-titled paragraphs, one with that sentence
    supporting = tuple(dict.fromkeys(gold))
    meta = {key: record[key] for key in ("type", "level") if isinstance(record.get(key), str)}
    if fmt is DatasetFormat.TWOWIKI and isinstance(record.get("evidences"), list):
        meta["evidences"] = record["evidences"]
    return QAExample(
        id=example_id,
        question=question,
        answers=_answers(answer, record.get("answer_aliases")),
        supporting=supporting,
        paragraphs=tuple(paragraphs),
        meta=meta,
    )


def _parse_musique(record: dict[str, Any]) -> QAExample:
    _required(record, "id", "question", "answer", "paragraphs")
    example_id = _text(record["id"], "id")
    if record.get("answerable") is False:
        raise _BadRecord("the question is marked unanswerable")
    question = _text(record["question"], "question")
    answer = _text(record["answer"], "answer")
    raw = record["paragraphs"]
    if not isinstance(raw, list) or not raw:
        raise _BadRecord("'paragraphs' is not a non-empty list")
    paragraphs: list[Paragraph] = []
    supporting: list[Paragraph] = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise _BadRecord("a paragraph is not an object")
        _required(entry, "title", "paragraph_text")
        title = _text(entry["title"], "paragraph title")
        paragraph = Paragraph(title, _join_sentences(entry["paragraph_text"], title))
        paragraphs.append(paragraph)
        if entry.get("is_supporting") is True and paragraph not in supporting:
            supporting.append(paragraph)
    if not supporting:
        raise _BadRecord("no paragraph is marked is_supporting")
    meta: dict[str, Any] = {}
    decomposition = record.get("question_decomposition")
    if isinstance(decomposition, list):
        meta["hops"] = len(decomposition)
        meta["question_decomposition"] = decomposition
    return QAExample(
        id=example_id,
        question=question,
        answers=_answers(answer, record.get("answer_aliases")),
        supporting=tuple(supporting),
        paragraphs=tuple(paragraphs),
        meta=meta,
    )


def fill_earlier_answers(question: str, earlier: list[str], step: str = "the step") -> str:
    """A decomposition step's question with each ``#n`` replaced by the answer of step n (from 1).

    Raises ``ValueError`` for a ``#n`` that names no earlier step.
    """

    def fill(match: re.Match[str]) -> str:
        number = int(match.group(1))
        if not 1 <= number <= len(earlier):
            raise _BadRecord(f"{step} refers to #{number}, which is not an earlier step")
        return earlier[number - 1]

    return re.sub(r"#(\d+)", fill, question)


def _last_hop(example: QAExample, record: dict[str, Any]) -> QAExample:
    """The last step of a MuSiQue question's decomposition, earlier answers filled in, as a question of its own.

    "Who was the first president of #1 ?" with #1 = "American Psychological Association" becomes
    "Who was the first president of American Psychological Association ?": one search answers it.
    """
    steps = example.meta.get("question_decomposition")
    if not steps or not all(isinstance(step, dict) for step in steps):
        raise _BadRecord("no 'question_decomposition' to take the last hop from")
    answers = [_text(step.get("answer"), f"question_decomposition[{n}].answer") for n, step in enumerate(steps)]
    last = steps[-1]
    question = fill_earlier_answers(_text(last.get("question"), "the last hop's question"), answers[:-1], "the last hop")
    if ">>" in question:
        raise _BadRecord("the last hop is a knowledge-base relation, not a question")
    index = last.get("paragraph_support_idx")
    by_idx = {e.get("idx"): e for e in record["paragraphs"] if isinstance(e, dict)}
    if not isinstance(index, int) or isinstance(index, bool) or index not in by_idx:
        raise _BadRecord("the last hop's paragraph_support_idx names no paragraph")
    entry = by_idx[index]
    title = _text(entry.get("title"), "paragraph title")
    gold = Paragraph(title, _join_sentences(entry.get("paragraph_text"), title))
    same = answers[-1] == example.answer
    return QAExample(
        id=f"{example.id}/last-hop",
        question=question,
        answers=example.answers if same else (answers[-1],),
        supporting=(gold,),
        paragraphs=example.paragraphs,
        meta={"hops": 1, "multi_hop_question": example.question},
    )


def parse_record(record: Any, fmt: DatasetFormat | str) -> QAExample:
    """One record of layout ``fmt`` as a :class:`QAExample`; raises ``ValueError`` if it is malformed."""
    fmt = DatasetFormat(fmt)
    if not isinstance(record, dict):
        raise _BadRecord(f"record is a {type(record).__name__}, not an object")
    if fmt is DatasetFormat.MUSIQUE:
        return _parse_musique(record)
    if fmt is DatasetFormat.MUSIQUE_LAST_HOP:
        return _last_hop(_parse_musique(record), record)
    return _parse_hotpot_like(record, fmt)


# -- files ---------------------------------------------------------------------------------------


def _records(path: Path) -> Iterator[tuple[int, Any, str | None]]:
    """``(position, record, error)`` for each record of a JSON array or JSON-lines file."""
    try:
        content = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DatasetError(f"dataset file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"cannot read dataset file {path}: {exc}") from exc
    stripped = content.lstrip()
    if not stripped:
        raise DatasetError(f"dataset file {path} is empty")
    if stripped.startswith("["):
        try:
            data = json.loads(content)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno})") from exc
        for position, record in enumerate(data):
            yield position, record, None
        return
    for position, line in enumerate(content.splitlines()):
        if not line.strip():
            continue
        try:
            yield position, json.loads(line), None
        except json.JSONDecodeError as exc:
            yield position, None, f"line is not valid JSON ({exc.msg})"


def detect_format(path: str | os.PathLike[str]) -> DatasetFormat:
    """Guess the layout from the first record: ``paragraphs`` means MuSiQue, ``evidences`` 2Wiki, else HotpotQA."""
    for _, record, _error in _records(Path(path)):
        if isinstance(record, dict):
            if "paragraphs" in record:
                return DatasetFormat.MUSIQUE
            if "evidences" in record:
                return DatasetFormat.TWOWIKI
            if "context" in record:
                return DatasetFormat.HOTPOTQA
        break
    raise DatasetError(f"cannot tell the layout of {path}; pass --format hotpotqa, 2wiki or musique")


def _record_id(record: Any) -> str | None:
    if isinstance(record, dict):
        value = record.get("_id", record.get("id"))
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return str(value)
    return None


def read_dataset(path: str | os.PathLike[str], fmt: DatasetFormat | str | None = None) -> Dataset:
    """Read every valid example of ``path`` (layout ``fmt``, detected when ``None``), in file order.

    Malformed or partial records, and records whose id was already seen, are skipped and listed in
    :attr:`Dataset.skipped`. Raises :class:`DatasetError` when the file cannot be read or holds no
    valid record.
    """
    path = Path(path)
    try:
        fmt = detect_format(path) if fmt is None else DatasetFormat(fmt)
    except ValueError:
        choices = ", ".join(f.value for f in DatasetFormat)
        raise DatasetError(f"unknown dataset format {fmt!r}; use one of {choices}") from None
    examples: list[QAExample] = []
    skipped: list[SkippedRecord] = []
    seen: set[str] = set()
    for position, record, error in _records(path):
        if error is not None:
            skipped.append(SkippedRecord(position, None, error))
            continue
        try:
            example = parse_record(record, fmt)
        except _BadRecord as exc:
            skipped.append(SkippedRecord(position, _record_id(record), str(exc)))
            continue
        if example.id in seen:
            skipped.append(SkippedRecord(position, example.id, "id already seen earlier in the file"))
            continue
        seen.add(example.id)
        examples.append(example)
    for item in skipped[:5]:
        logger.warning("%s: skipped record %d (%s): %s", path.name, item.position, item.id or "no id", item.reason)
    if len(skipped) > 5:
        logger.warning("%s: skipped %d more malformed records", path.name, len(skipped) - 5)
    if not examples:
        detail = f"; first problem: {skipped[0].reason}" if skipped else ""
        raise DatasetError(f"{path} holds no valid {fmt.value} record{detail}")
    logger.info("read %d %s examples from %s (%d skipped)", len(examples), fmt.value, path, len(skipped))
    return Dataset(path=path, format=fmt, examples=examples, skipped=skipped)
