"""A free look at a question's wording for signs that one search cannot answer it.

A question needs more than one hop when it names something by describing it ("the team *that owns*
the service"), chains relations ("the extension *of* the commander *of* INC-0419"), compares two
things, or is long enough to carry a description. :func:`multi_hop_signs` lists the signs it finds;
none means the question looks single-hop, and the adaptive path lets the judge's first cited answer
stand. English only, and a heuristic: tuned on MuSiQue sub-questions and HotpotQA train questions
(see ``benchmarks/README.md``), never on the questions the benchmarks report.
"""

from __future__ import annotations

import re

__all__ = ["multi_hop_signs", "looks_single_hop", "LONG_QUESTION_WORDS"]

LONG_QUESTION_WORDS = 15
"""A question of this many words or more usually describes something it does not name."""

_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-\.]*(?:['’ʼ]s)?|[,;]")
_RELATIVE = frozenset({"that", "which", "who", "whom", "whose", "where", "when", "while"})
# After these a wh-word asks ("in which year", "named for whom"); it does not describe.
_BEFORE_QUESTION_WORD = frozenset(
    {"of", "in", "on", "at", "by", "for", "from", "to", "with", "into", "about", "under", "during", ",", ";"}
)
# ...unless a subject follows it: "the office in which Ines works", "the person to whom she reports".
_SUBJECT_PRONOUNS = frozenset({"i", "you", "he", "she", "it", "we", "they", "the", "a", "an", "his", "her", "its", "their"})
# "what's", "who's": a verb, not a possessive.
_CONTRACTED = frozenset({"what", "who", "that", "it", "there", "here", "where", "how", "he", "she", "which", "when", "let"})
# "the name of", "the state of": padding, not a relation to follow.
_GENERIC = frozenset(
    {"name", "kind", "type", "sort", "number", "state", "city", "country", "county", "part", "one", "some",
     "most", "all", "each", "any", "rest", "year", "day"}
)
_DESCRIBED = re.compile(
    r"\b(?:known|born|based|named|used|affected|founded|formed|created|written|directed|produced|owned|run|led|"
    r"made|published|released|played|started|developed|designed|built|associated|involved|listed|mentioned|"
    r"described|featured|performed|composed|hired|adapted)\s+(?:by(?!\s+wh)|(?:in|for|from|at|on|with)\s+the)\b"
    r"|\b(?:owning|covering|starring)\s+\w"
    r"|\bbehind\s+\w",
    re.IGNORECASE,
)
_COMPARING = re.compile(r"\b(?:or|both|same|either|neither|in common)\b", re.IGNORECASE)
_COMPARATIVE = re.compile(r"\b(?:\w{3,}er|more|less|fewer)\s+(?:\w+\s+)?than\b", re.IGNORECASE)
_CAPITALISED = re.compile(r"\b[A-Z][\w\-]")
def _is_relative(raw: list[str], tokens: list[str], i: int) -> bool:
    """Whether the wh-word (or "that") at ``i`` opens a clause describing the word before it."""
    if not 2 <= i < len(tokens) - 1:  # "Who ..." asks; "... is led by whom?" asks too
        return False
    if tokens[i - 1] not in _BEFORE_QUESTION_WORD:
        return True
    following = raw[i + 1]
    return tokens[i - 1] not in {",", ";"} and (following[0].isupper() and following[1:2].islower() or following.lower() in _SUBJECT_PRONOUNS)


def multi_hop_signs(question: str) -> list[str]:
    """The signs in ``question``'s wording that it needs more than one search; empty if none.

    The check reads English. A question it cannot read (no words, or mostly letters outside the
    Latin alphabet) gets the sign "unreadable", so the agent takes no shortcut; for questions in
    another language written in Latin letters, give the agent ``single_hop=None`` or a check of your own.
    """
    raw = [t.replace("’", "'").replace("ʼ", "'") for t in _TOKEN.findall(question)]
    tokens = [t.lower() for t in raw]
    words = [t for t in tokens if t not in {",", ";"}]
    letters = [c for c in question if c.isalpha()]
    if not words or sum(c.isascii() for c in letters) < len(letters) / 2:
        return ["unreadable"]
    bases = [t.removesuffix("'s") if t.removesuffix("'s") in _CONTRACTED else t for t in tokens]
    signs = []
    if any(t in _RELATIVE and _is_relative(raw, bases, i) for i, t in enumerate(bases)):
        signs.append("relative clause")
    if _DESCRIBED.search(question):
        signs.append("described entity")
    relations = sum(1 for i, t in enumerate(bases) if t == "of" and i and bases[i - 1] not in _GENERIC)
    possessives = sum(t.endswith("'s") for t in bases)
    possessive_after_of = any(
        t == "of" and any(x.endswith("'s") for x in bases[i + 1 : i + 4]) for i, t in enumerate(bases)
    )
    if relations >= 2 or possessives >= 2 or possessive_after_of:
        signs.append("chained relation")
    if (_COMPARING.search(question) and len(_CAPITALISED.findall(question[1:])) >= 2) or _COMPARATIVE.search(question):
        signs.append("comparison")
    if len(words) >= LONG_QUESTION_WORDS:
        signs.append("long")
    return signs


def looks_single_hop(question: str) -> bool:
    """Whether nothing in the wording says the question needs more than one search."""
    return not multi_hop_signs(question)
