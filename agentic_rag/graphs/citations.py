"""Numbering passages for prompts and checking the ``[n]`` markers an answer cites."""

from __future__ import annotations

import re

from agentic_rag.answer import Citation
from agentic_rag.evidence import Evidence
from agentic_rag._text import one_line
from agentic_rag.graphs import prompts

__all__ = [
    "best_quote", "check_citations", "content_stems", "covers_question", "format_passages", "question_coverage", "supports",
]

_MARKER_GROUP = re.compile(r"\s?\[(-?\d+(?:\s*[,;]\s*-?\d+)*)\]")
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")
_WORD = re.compile(r"\w+")
_STOPWORDS = frozenset(
    "a an and are as at be by for from has have in is it its of on or that the their this to was were which who "
    "with whose what when where how passage passages".split()
)
# Words of questions that passages need not repeat.
_QUESTION_STOPWORDS = _STOPWORDS | frozenset(
    "did do does whom why these those they them then there than his her he she into name many much both".split()
)


def supports(evidence: Evidence, claim: str, threshold: float = 0.5) -> bool:
    """Lexical support check: does ``evidence`` contain at least ``threshold`` of the claim's content words?"""
    words = {w.lower() for w in _WORD.findall(claim) if len(w) > 2 and w.lower() not in _STOPWORDS}
    if not words:
        return True
    found = {w.lower() for w in _WORD.findall(evidence.text)}
    return len(words & found) / len(words) >= threshold


# Common irregular past forms, so "led" meets "leads" and "wrote" meets "writes".
_IRREGULAR = {
    "led": "lead", "won": "win", "wrote": "write", "written": "write", "began": "begin", "begun": "begin",
    "made": "make", "built": "build", "held": "hold", "sold": "sell", "bought": "buy", "took": "take",
    "taken": "take", "gave": "give", "given": "give", "became": "become", "grew": "grow", "grown": "grow",
    "sang": "sing", "sung": "sing", "left": "leave", "ran": "run", "found": "find", "fought": "fight",
}


def _stem(word: str) -> str:
    """A crude stem: a common ending dropped, then five letters ("owns", "owned" -> "own"; "published" -> "publi")."""
    word = _IRREGULAR.get(word, word)
    for ending in ("ing", "ed", "es", "s"):
        if word.endswith(ending) and len(word) - len(ending) >= 3 and not word.endswith("ss"):
            word = word[: -len(ending)]
            break
    return word[:5]


def content_stems(text: str) -> list[str]:
    """The stems of the content words of ``text``, in order."""
    words = (m.lower() for m in _WORD.findall(text))
    return [_stem(w) for w in words if w not in _QUESTION_STOPWORDS and (len(w) > 2 or w.isdigit())]


def _passage_stems(passages: list[Evidence]) -> set[str]:
    """Every content stem of the passages, titles included."""
    return {stem for p in passages for stem in content_stems(f"{p.title or ''} {p.text}")}


def question_coverage(question: str, passages: list[Evidence]) -> float:
    """The share of the question's content words that the passages (with their titles) contain, 0 to 1."""
    wanted = set(content_stems(question))
    if not wanted:
        return 1.0
    return len(wanted & _passage_stems(passages)) / len(wanted)


def covers_question(question: str, passages: list[Evidence], threshold: float) -> bool:
    """Whether the passages hold ``threshold`` of the question's content words, its first one included.

    The first content word is what the question asks about or the relation it asks for ("Who
    *leads* the team that owns Relay?"); a passage lacking it usually answers a step on the way.
    """
    words = content_stems(question)
    if not words:
        return True
    return words[0] in _passage_stems(passages) and question_coverage(question, passages) >= threshold


def format_passages(passages: list[Evidence], max_chars: int = 800) -> str:
    """Passages numbered from 1, each cut to ``max_chars``, each on one line (titles and text flattened)."""
    return "\n".join(
        prompts.PASSAGE.format(number=i, source=one_line(e.title or e.source, 160), text=one_line(e.short(max_chars)))
        for i, e in enumerate(passages, start=1)
    )


def best_quote(evidence: Evidence, claim: str) -> tuple[str, tuple[int, int] | None]:
    """The sentence of ``evidence`` that shares most words with ``claim``, and its span in the source."""
    claim_words = {w.lower() for w in _WORD.findall(claim)}
    best, best_score = None, -1
    for match in _SENTENCE.finditer(evidence.text):
        sentence = match.group().strip()
        if not _WORD.search(sentence) or sentence.startswith("#"):
            continue  # an empty line or a heading is no quote
        score = len(claim_words & {w.lower() for w in _WORD.findall(sentence)})
        if score > best_score:
            best, best_score = match, score
    if best is None:
        return evidence.text, evidence.span
    start = best.start() + (len(best.group()) - len(best.group().lstrip()))
    quote = best.group().strip()
    span = None
    if evidence.span is not None:
        span = (evidence.span[0] + start, evidence.span[0] + start + len(quote))
    return quote, span


def _sentence_around(text: str, start: int, end: int) -> str:
    """The claim a marker at ``text[start:end]`` supports: the sentence before it, or after it if it leads."""
    before = text[max(text.rfind(". ", 0, start), text.rfind("\n", 0, start)) + 1 : start]
    if _WORD.search(before):
        return before
    stops = [i for i in (text.find(". ", end), text.find("\n", end)) if i != -1]
    return text[end : min(stops) if stops else len(text)]


def check_citations(
    text: str, passages: list[Evidence], *, renumber_markers: bool = True
) -> tuple[str, list[Citation], list[int]]:
    """Validate the markers in ``text`` against the passages the model was shown.

    Returns the text with markers renumbered 1..k in order of first use (or, with
    ``renumber_markers=False``, kept as the passage numbers, so streamed text stays valid), markers
    that point at no passage (zero, negative or past the last) removed and grouped markers
    (``[1,2]``) written apart; the citations; and the invalid marker numbers the model wrote.
    """
    renumber: dict[int, int] = {}
    citations: list[Citation] = []
    invalid: list[int] = []

    def replace(match: re.Match[str]) -> str:
        numbers = [int(n) for n in re.split(r"\s*[,;]\s*", match.group(1))]
        kept: list[int] = []
        for n in numbers:
            if not 1 <= n <= len(passages):
                if n not in invalid:
                    invalid.append(n)
                continue
            if n not in renumber:
                renumber[n] = len(renumber) + 1 if renumber_markers else n
                evidence = passages[n - 1]
                claim = _sentence_around(text, match.start(), match.end())
                quote, span = best_quote(evidence, claim)
                citations.append(
                    Citation(
                        marker=renumber[n],
                        evidence_id=evidence.id,
                        source=evidence.source,
                        quote=quote,
                        span=span,
                        claim=claim.strip(),
                        supported=supports(evidence, claim),
                    )
                )
            if renumber[n] not in kept:
                kept.append(renumber[n])
        lead = " " if match.group().startswith(" ") else ""
        return lead + "".join(f"[{k}]" for k in kept) if kept else ""

    cleaned = _MARKER_GROUP.sub(replace, text).strip()
    return cleaned, citations, invalid
