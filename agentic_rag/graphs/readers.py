"""Ways of writing a short answer from passages: what the answer prompt shows and what it asks for.

The answer node writes with the ``passages`` way (whole passages; its own call adds a plain-text
fallback and the run's budget) and decides comparisons with :func:`write_comparison`; the other
readers are measured, not used: ``benchmarks/reader.py`` replays a finished evaluation run's
answer calls through each reader, so they are compared on the same passages. Every reader is one structured model call (``vote``:
several) over passages numbered as the judge saw them, so the markers keep pointing at passages.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, Field

from agentic_rag._text import one_line
from agentic_rag.evidence import Evidence
from agentic_rag.graphs import prompts
from agentic_rag.graphs.citations import content_stems, format_passages
from agentic_rag.graphs.comparison import Comparison, compare_schema, comparison_of, decide
from agentic_rag.graphs.effects import Effects, run_sync
from agentic_rag.graphs.llm import prompt_messages, structured_call
from agentic_rag.graphs.schemas import AnswerReply
from agentic_rag.steps import normalise_query
from agentic_rag.usage import Usage

__all__ = ["READERS", "append_markers", "write_comparison", "FactsAnswerReply", "ShortReader", "ShortReading", "read_short", "select_sentences", "write_short"]


@dataclass(frozen=True)
class ShortReader:
    """One way of reading passages for a short answer.

    ``facts_first``: the reply first copies the facts that decide the answer, then answers (a
    few more generated tokens; the prompt is the same). ``sentences``: the prompt shows each
    passage's title and first sentence and the sentences that share most words with the question,
    this many in all, instead of whole passages. ``samples``: answers drawn (the first greedy, the
    others sampled from the same cached prompt) and the most frequent one kept.
    """

    name: str
    facts_first: bool = False
    sentences: int | None = None
    samples: int = 1
    temperature: float = 0.7
    compare: bool = False  # a comparison of dates or numbers decided by code, see write_comparison


READERS: dict[str, ShortReader] = {
    reader.name: reader
    for reader in (
        ShortReader("passages"),
        ShortReader("facts_first", facts_first=True),
        ShortReader("sentences", sentences=12),
        ShortReader("facts_first_sentences", facts_first=True, sentences=12),
        ShortReader("vote", samples=5),
        ShortReader("compare", compare=True),
    )
}


class FactsAnswerReply(BaseModel):
    """A short answer that first states the facts it rests on (the model reads before it answers)."""

    facts: str = Field(max_length=300, description="the facts from the passages that decide the answer, with their numbers")
    answer: str = Field(max_length=200, description="the answer in as few words as possible, or empty")
    sources: list[int] = Field(max_length=10, description="numbers of the passages the answer comes from")


@dataclass(frozen=True)
class ShortReading:
    """A short answer as written: its text (markers appended), what it cost, and how it was chosen."""

    answer: str | None
    sources: list[int]
    usage: Usage
    error: str | None = None
    note: str = ""
    support: dict[int, str] = field(default_factory=dict)  # a decided comparison's values, by passage number

    @property
    def text(self) -> str | None:
        return None if self.answer is None else append_markers(self.answer, self.sources)


_MARKERS = re.compile(r"\[\d+\]")


def append_markers(answer: str, sources: list[int]) -> str:
    """A short answer (its own markers dropped) followed by the markers of ``sources``, or the no-answer sentence."""
    answer = _MARKERS.sub("", answer).strip()
    if not answer:
        return prompts.NO_ANSWER
    markers = "".join(f"[{n}]" for n in dict.fromkeys(sources))
    return f"{answer} {markers}".strip()


_SENTENCE = re.compile(r"[^.!?]+(?:[.!?]+(?=\s|$)|$)")


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.findall(" ".join(text.split())) if s.strip()]


def select_sentences(question: str, passages: Sequence[Evidence], most: int, max_chars: int = 800) -> str:
    """The passages numbered as :func:`format_passages` numbers them, each cut to its telling sentences.

    Each passage keeps its title, its first sentence (what the passage is about) and, of all the
    passages' other sentences, the ``most`` that share the most question words (weighted by how few
    sentences hold each word), in their order; cut sentences show as "...".
    """
    split = [_sentences(p.short(max_chars)) for p in passages]
    wanted = set(content_stems(question))
    bags = [[set(content_stems(s)) for s in sentences] for sentences in split]
    holders = Counter(stem for bag in bags for sentence in bag for stem in sentence & wanted)
    total = sum(len(bag) for bag in bags) or 1

    def score(stems: set[str]) -> float:
        return sum(math.log(1 + total / holders[stem]) for stem in stems & wanted)

    ranked = sorted(
        ((score(stems), p, s) for p, bag in enumerate(bags) for s, stems in enumerate(bag) if s > 0),
        key=lambda item: -item[0],
    )
    keep = {(p, 0) for p in range(len(passages))} | {(p, s) for value, p, s in ranked[:most] if value > 0}
    lines = []
    for number, (passage, sentences) in enumerate(zip(passages, split), start=1):
        shown, last = [], -1
        for index, sentence in enumerate(sentences):
            if (number - 1, index) in keep:
                if index > last + 1 and shown:
                    shown.append("...")
                shown.append(sentence)
                last = index
        if last < len(sentences) - 1:
            shown.append("...")
        text = " ".join(shown)
        lines.append(prompts.PASSAGE.format(number=number, source=one_line(passage.title or passage.source, 160), text=one_line(text)))
    return "\n".join(lines)


def write_short(
    model: BaseChatModel, reader: ShortReader, question: str, passages: Sequence[Evidence], *,
    passage_chars: int = 800, attempts: int = 2, calls_left: int | None = None,
) -> Effects[ShortReading]:
    """The short answer over ``passages`` as ``reader`` reads them (``calls_left`` caps a vote's samples)."""
    shown = (
        select_sentences(question, passages, reader.sentences, passage_chars) if reader.sentences
        else format_passages(list(passages), passage_chars)
    )
    template = prompts.ANSWER_FACTS_FIRST if reader.facts_first else prompts.ANSWER
    schema = FactsAnswerReply if reader.facts_first else AnswerReply
    messages = prompt_messages(template.format(passages=shown, question=question, answer_rule=prompts.ANSWER_RULE))
    result = yield from structured_call(model, schema, messages, attempts=attempts)
    usage = result.usage
    if result.value is None:
        return ShortReading(answer=None, sources=[], usage=usage, error=result.error)
    replies = [result.value]
    samples = reader.samples if calls_left is None else min(reader.samples, 1 + max(calls_left - usage.llm_calls, 0))
    if samples > 1:
        sampler = model.bind(temperature=reader.temperature)
        for _ in range(samples - 1):
            more = yield from structured_call(sampler, schema, messages, attempts=1)  # type: ignore[arg-type]
            usage = usage + more.usage
            if more.value is not None:
                replies.append(more.value)
    votes = Counter(normalise_query(r.answer) for r in replies)
    winner, count = votes.most_common(1)[0]
    # ties go to the greedy reply, which comes first
    chosen = next(r for r in replies if normalise_query(r.answer) == winner)
    note = f"{count} of {len(replies)} replies" if len(replies) > 1 else ""
    if reader.facts_first:
        note = f"{note}; facts: {chosen.facts}".lstrip("; ")
    return ShortReading(answer=chosen.answer, sources=list(chosen.sources), usage=usage, note=note)


def write_comparison(
    model: BaseChatModel, comparison: Comparison, question: str, passages: Sequence[Evidence], *,
    passage_chars: int = 800, attempts: int = 1,
) -> Effects[ShortReading]:
    """The short answer to a comparison: the model copies each name's value, :func:`~.comparison.decide` compares.

    The prompt shows the passages as the judge and the answer do (the cached prefix carries over);
    ``answer`` is ``None`` when the values do not settle it, and the usual answer is written then.
    """
    names = ", ".join(comparison.names)
    user = prompts.COMPARE.format(passages=format_passages(list(passages), passage_chars), question=question,
                                  names=names, what=prompts.COMPARE_WHAT["birth" if comparison.born else comparison.kind])
    result = yield from structured_call(model, compare_schema(comparison), prompt_messages(user), attempts=attempts)
    if result.value is None:
        return ShortReading(answer=None, sources=[], usage=result.usage, error=result.error, note=f"failed ({result.error})")
    decision = decide(comparison, result.value.values, [p.short(passage_chars) for p in passages])
    shown = "; ".join(f"{v.name}: {v.value} [{v.source}]" for v in result.value.values)
    if decision is None:
        return ShortReading(answer=None, sources=[], usage=result.usage, note=f"undecided ({shown})")
    return ShortReading(answer=decision.answer, sources=decision.sources, usage=result.usage, note=f"compared {shown}",
                        support=decision.support)


def read_short(
    model: BaseChatModel, reader: ShortReader, question: str, passages: Sequence[Evidence], *, passage_chars: int = 800,
) -> ShortReading:
    """:func:`write_short` with the sync API (a ``compare`` reader tries :func:`write_comparison` first)."""
    comparison = comparison_of(question) if reader.compare else None
    if comparison is not None:
        compared = run_sync(write_comparison(model, comparison, question, passages, passage_chars=passage_chars))
        if compared.answer is not None:
            return compared
        written = run_sync(write_short(model, reader, question, passages, passage_chars=passage_chars))
        return ShortReading(written.answer, written.sources, compared.usage + written.usage, written.error,
                            f"{compared.note}; wrote the answer")
    return run_sync(write_short(model, reader, question, passages, passage_chars=passage_chars))
