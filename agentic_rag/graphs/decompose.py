"""Sub-questions of a research question: the model's, checked, or the question's own structure as fallback.

Small models decompose poorly: they often repeat the question or return one sub-question. The
fallback needs no model: it splits the question at its clause conjunctions ("..., and summarise
...") and splits a comparison of named things ("Signal Harbor and Mile Markers", "X or Y", "X vs
Y") into one sub-question per thing.

A comparison of two named things is also a check on the model's plan: small models write the
cross product of things and aspects and run out of sub-questions before the second thing gets its
aspects ("Who leads A?", "What does A do?", "How does A ship?", "Who leads B?"). When the plan asks
about one thing more often than the other, each thing gets one sub-question that keeps every aspect.
"""

from __future__ import annotations

import re

from agentic_rag.graphs.citations import content_stems

__all__ = ["checked_subquestions", "compared_things", "subquestions_from_wording"]

_CLAUSE = re.compile(
    r"\s*(?:;|,?\s+and\s+(?:then\s+)?(?=(?:what|who|whom|which|when|where|why|how|summari[sz]e|list|describe|compare|"
    r"explain|give|name|say|tell|find|count|show)\b)|,\s+(?=(?:what|who|which|when|where|why|how)\b))",
    re.I,
)
_NAME = r"(?:[A-Z][\w'-]*(?:\s+(?:[A-Z][\w'-]*|of|the|de))*|[a-z0-9]+(?:-[a-z0-9]+)+)"
_PAIR = re.compile(
    rf"(?P<a>{_NAME})\s*(?:,\s*|\s+(?:and|vs\.?|versus)\s+)(?P<b>{_NAME})|(?P<c>{_NAME})\s+or\s+(?P<d>{_NAME}|[a-z][\w-]+)"
)
_LEADING_VERB = re.compile(r"^(?:please\s+)?(?:compare|contrast)\s+", re.I)


def _pieces(question: str) -> list[str]:
    return [p.strip(" ,.?") for p in _CLAUSE.split(question) if p and len(p.strip(" ,.?").split()) >= 2]


def _split_pair(piece: str) -> list[str]:
    piece = _LEADING_VERB.sub("", piece)
    match = _PAIR.search(piece)
    if not match:
        return [piece]
    whole = match.group()
    a, b = (match.group("a"), match.group("b")) if match.group("a") else (match.group("c"), match.group("d"))
    if " " in a and a.split()[0] in ("What", "Which", "Who", "How", "Compare", "Contrast", "When", "Where"):
        return [piece]  # a question word caught at the start, not a name
    return [piece.replace(whole, name).strip() for name in (a, b)]


def compared_things(question: str) -> list[str]:
    """The question asked once per thing it compares ("A and B: who leads each" -> A's and B's), or []."""
    parts = _split_pair(question.strip())
    return [p[0].upper() + p[1:].rstrip(" .?") + "?" for p in parts] if len(parts) == 2 else []


def _unbalanced(subs: list[str], question: str) -> bool:
    """Whether the plan asks about one of the question's two compared things more often than the other."""
    match = _PAIR.search(_LEADING_VERB.sub("", question))
    if not match:
        return False
    names = [n for n in match.groupdict().values() if n]
    counts = [sum(1 for s in subs if name.lower() in s.lower()) for name in names]
    return len(counts) == 2 and counts[0] != counts[1]


def subquestions_from_wording(question: str, most: int = 6) -> list[str]:
    """The question split at its clauses and compared names; the question itself if nothing splits."""
    parts = [p for piece in _pieces(question) for p in _split_pair(piece)]
    parts = [p[0].upper() + p[1:] + ("" if p.endswith("?") else "?") for p in dict.fromkeys(parts) if p]
    return parts[:most] if len(parts) >= 2 else [question.strip()]


def _same_as(sub: str, question: str) -> bool:
    """Whether a sub-question only repeats the question (nearly all its content words)."""
    mine, theirs = set(content_stems(sub)), set(content_stems(question))
    return not mine or (bool(theirs) and len(mine & theirs) >= 0.8 * len(theirs))


def checked_subquestions(proposed: list[str], question: str, most: int) -> tuple[list[str], bool]:
    """The model's sub-questions if they are usable, else the question's own split; and whether the model's were kept.

    Usable: at least two distinct, non-empty sub-questions, none of which merely repeats the question,
    and, for a comparison of two named things, as many about the one as about the other.
    """
    subs = list(dict.fromkeys(" ".join(s.split()) for s in proposed if s and s.strip()))[:most]
    if len(subs) >= 2 and not any(_same_as(s, question) for s in subs):
        if _unbalanced(subs, question) and (per_thing := compared_things(question)):
            return per_thing, False
        return subs, True
    return subquestions_from_wording(question, most), False
