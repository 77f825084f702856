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

__all__ = ["compared_entities", "multi_hop_signs", "looks_single_hop", "LONG_QUESTION_WORDS"]

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


# -- the names a comparison compares -------------------------------------------------------------

_NAME_TOKEN = re.compile(r"[^\W_][\w\-\.]*(?:['’ʼ]s)?|[,;:?!()]|\S")
_QUOTED = re.compile(r'"([^"]{2,80})"|“([^”]{2,80})”')
# Words that join the parts of one name ("Bank of England", "Ludwig van Beethoven") when a capitalised
# word stands on both sides.
_NAME_JOINERS = frozenset(
    {"of", "the", "for", "from", "in", "on", "at", "to", "de", "del", "der", "von", "van", "la", "le", "di", "da", "du", "y", "&"}
)
# A capitalised first word that asks rather than names.
_OPENERS = frozenset({
    "are", "is", "were", "was", "do", "does", "did", "which", "who", "whom", "whose", "what", "when", "where", "how",
    "both", "between", "has", "have", "had", "can", "could", "in", "of", "the", "a", "an", "and", "or",
})
_AND_COMPARES = re.compile(r"\b(?:both|same|either|neither|in common|between)\b", re.IGNORECASE)
_ARTICLES = frozenset({"the", "a", "an"})
# A sentence ends at ".", "!" or "?" after a word of two or more small letters or digits ("Berlin.",
# not the initials of "E. B. White").
_SENTENCE_END = re.compile(r"(?<=[a-z0-9]{2}[.!?])\s+")


def _names_word(token: str, position: int) -> bool:
    if position == 0 and token.lower().rstrip(".") in _OPENERS:
        return False
    return token[:1].isupper() or token[:1].isdigit()


def _name_before(tokens: list[str], end: int) -> str:
    """The capitalised name that ends just before ``tokens[end]``, or ``""``."""
    start = end
    i = end - 1
    while i >= 0:
        if _names_word(tokens[i], i):
            start = i
        elif tokens[i].lower() in _NAME_JOINERS and _joined(tokens, i, step=-1) and start <= i + 2:
            pass  # joiners count only between capitalised words ("Bank of the West")
        else:
            break
        i -= 1
    return " ".join(tokens[start:end])


def _name_after(tokens: list[str], begin: int) -> str:
    """The capitalised name that starts at or just after ``tokens[begin]`` (past an article), or ``""``."""
    i = begin
    # past an article and a few lowercase words: "or the birth of Robert Young"
    while i < min(len(tokens), begin + 4) and tokens[i][:1].islower():
        i += 1
    if i == len(tokens) or not _names_word(tokens[i], i):
        return ""
    end = i
    while end < len(tokens):
        if _names_word(tokens[end], end) or (tokens[end].lower() in _NAME_JOINERS and _joined(tokens, end, step=1)):
            end += 1
        else:
            break
    return " ".join(tokens[i:end])


def _joined(tokens: list[str], i: int, step: int) -> bool:
    """Whether the joiner at ``i`` leads, past other joiners, to a capitalised word in direction ``step``."""
    i += step
    while 0 <= i < len(tokens) and tokens[i].lower() in _NAME_JOINERS:
        i += step
    return 0 <= i < len(tokens) and _names_word(tokens[i], i)


def compared_entities(question: str, most: int = 3) -> list[str]:
    """The names a comparison or conjunction question puts side by side, from its own words; else ``[]``.

    "Which band formed first, The Exies or Circus Diablo?" gives ``["The Exies", "Circus Diablo"]``;
    "Are Nantong and Jingdezhen in the same province?" gives ``["Nantong", "Jingdezhen"]``. Quoted
    titles count first; otherwise the capitalised names on the two sides of "or", or of "and" when the
    question says "both", "same", "either", "neither", "in common" or "between". Each name is then
    searched on its own, so the first round finds both sides (a single search of the whole question
    often finds one). English only; no model call.
    """
    compares = bool(_COMPARING.search(question) or _COMPARATIVE.search(question))
    quoted = [a or b for a, b in _QUOTED.findall(question)]
    if len(quoted) >= 2 and compares:
        return list(dict.fromkeys(q.strip() for q in quoted))[:most]
    joins = {"or"} | ({"and"} if _AND_COMPARES.search(question) else set())
    names: list[str] = []
    for sentence in _SENTENCE_END.split(question.replace("’", "'").replace("ʼ", "'")):
        tokens = _NAME_TOKEN.findall(sentence)
        for i, token in enumerate(tokens):
            if token.lower() not in joins or not 0 < i < len(tokens) - 1:
                continue
            left = _name_before(tokens, i - 1 if tokens[i - 1] == "," else i)
            right = _name_after(tokens, i + 1)
            # a pair of years or numbers ("between 1900 and 1910") is a range, not two names
            if left and right and any(c.isalpha() for c in left + right):
                names += [n for n in (left, right) if any(c.isalpha() for c in n)]
    names = [n.rstrip(".").strip() for n in names]
    return list(dict.fromkeys(n for n in names if n and n.lower() != question.lower()))[:most]
