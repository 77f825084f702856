"""Comparisons the model reads and the code decides.

"Which came out first, X or Y?", "Who is older, X or Y?", "Which has the larger population, X or
Y?": a small model finds both sides' passages and still picks the wrong name. Here the model only
copies, for each compared name, the date or number the question compares, with the passage it
comes from; the code then compares. ("Are X and Y both ...?" is left to the answer call: asked
name by name, the 1.5B model said "true" for every name, so deciding it here gained nothing.) When the wording is not such a comparison, or a
value cannot be read as a date or a number, :func:`decide` gives ``None`` and the answer is
written as usual.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from agentic_rag.graphs.question_shape import compared_entities

__all__ = [
    "Comparison", "CompareReply", "comparison_of", "compare_schema", "decide", "parse_date", "parse_number", "written_in",
]

ComparisonKind = Literal["date", "number"]


@dataclass(frozen=True)
class Comparison:
    """What a question compares: ``names``, by ``kind`` (a date or a number), whether the answer is
    the name with the ``min`` or the ``max``, and whether the dates are birth dates (older, younger)."""

    names: tuple[str, ...]
    kind: ComparisonKind
    pick: Literal["min", "max"]
    born: bool = False


_WHICH = re.compile(r"^\W*(?:(?:in|of|on|at|by)\s+)?(?:which|who)\b", re.IGNORECASE)
# "Which year was the older of X or Y founded?", "Which nationality ...": asks for something else than a name
_ASKS_OTHER = re.compile(
    r"^\W*(?:(?:in|of|on|at|by)\s+)?which\s+(?:year|date|decade|century|month|day|nationality|country|state|city|town|"
    r"language|genre|religion)\b",
    re.IGNORECASE,
)
_NOT_MEASURED = r"popular|famous|successful|well[- ]known|notable|important|influential|critically|widely|recently|recent"
_BIRTH = re.compile(r"\b(?:older|oldest|younger|youngest|elder|eldest|born)\b", re.IGNORECASE)
# Each comparative word and what it asks for; the first found in the question (names taken out) wins.
_WORDS: tuple[tuple[re.Pattern[str], ComparisonKind, Literal["min", "max"]], ...] = tuple(
    (re.compile(rf"\b(?:{words})\b", re.IGNORECASE), kind, pick)  # type: ignore[misc]
    for words, kind, pick in (
        (r"first|earlier|earliest|older|oldest|elder|eldest|before|sooner", "date", "min"),
        (r"later|latest|last|newer|newest|(?:more|most) recent(?:ly)?|younger|youngest", "date", "max"),
        (rf"fewer|fewest|smaller|smallest|(?:less|least)(?!\s+(?:{_NOT_MEASURED})\b)|lower|lowest|shorter|shortest|"
         r"lighter", "number", "min"),
        (rf"(?:more|most)(?!\s+(?:{_NOT_MEASURED})\b)|larger|largest|bigger|biggest|higher|highest|taller|tallest|"
         r"longer|longest|greater|greatest|heavier|wider|deeper", "number", "max"),
    )
)
# "the first president of X or Y", "the older of X or Y": the word qualifies something else the question asks for
_QUALIFIES = re.compile(r"^\s+(?:\w+\s+)?of\b", re.IGNORECASE)


def comparison_of(question: str) -> Comparison | None:
    """The comparison ``question`` asks for, if its wording is one this module decides; else ``None``.

    A "which/who" question over names joined by "or" with a comparative word ("first", "older",
    "larger") asks for the earliest, latest, smallest or largest. Not: a question that asks for a
    year or a nationality of one of them ("Which year was the older of X or Y founded?"), a word
    that qualifies another thing ("the first president of X or Y"), a quality no number measures
    ("more popular"), or a comparative word inside a name ("The Last Emperor").
    """
    names = tuple(compared_entities(question))
    if len(names) < 2 or not _WHICH.search(question) or _ASKS_OTHER.search(question):
        return None
    if " or " not in f" {question.lower()} ":
        return None
    rest = question
    for name in sorted(names, key=len, reverse=True):
        rest = rest.replace(name, " ")
    found = []
    for pattern, kind, pick in _WORDS:
        for match in pattern.finditer(rest):
            if not _QUALIFIES.match(rest[match.end():]):
                found.append((match.start(), kind, pick))
                break
    if not found:
        return None
    _, kind, pick = min(found)
    return Comparison(names, kind, pick, born=kind == "date" and bool(_BIRTH.search(rest)))


class CompareReply(BaseModel):
    """For each compared name: the value the question compares, and its passage."""

    values: list[Any]


def compare_schema(comparison: Comparison) -> type[CompareReply]:
    """A reply schema with exactly one entry per compared name, each name one of the question's."""
    name_type = Literal[comparison.names]  # type: ignore[valid-type]
    value = (str, Field(max_length=60, description=f"the {comparison.kind} the question compares, as the passages write it"))
    entry = create_model(
        "ComparedValue", name=(name_type, ...), value=value,
        source=(int, Field(description="the number of the passage it comes from")),
    )
    count = len(comparison.names)
    return create_model(
        "Compared", values=(list[entry], Field(min_length=count, max_length=count)),  # type: ignore[valid-type]
        __base__=CompareReply,
    )


_MONTHS = {m: i for i, m in enumerate(
    "january february march april may june july august september october november december".split(), start=1)}
_MONTHS |= {m[:3]: i for m, i in list(_MONTHS.items())}
_MONTHS |= {"sept": 9}
_YEAR = re.compile(r"\b(\d{3,4})\b(?!\s*(?:B\.?C\.?|BCE)\b)", re.IGNORECASE)
_MONTH = re.compile(r"\b(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?\b", re.IGNORECASE)
_CLOCK = re.compile(r"\b\d{1,2}:\d{2}\b")
_DAY = re.compile(r"\b([0-3]?\d)(?:st|nd|rd|th)?\b")


def parse_date(text: str) -> tuple[int, int, int] | None:
    """``(year, month, day)`` from a date as passages write it ("17 July 1939", "July 1939", "1939"); 0 for a part not given."""
    text = _CLOCK.sub(" ", text)
    year = _YEAR.search(text)
    if year is None:
        return None
    # "may" in lower case is the verb
    month = next((m for m in _MONTH.finditer(text) if m.group(1) != "may"), None)
    day = 0
    if month is not None:
        rest = _YEAR.sub(" ", text)
        days = [int(d) for d in _DAY.findall(rest) if 1 <= int(d) <= 31]
        day = days[0] if days else 0
    return int(year.group(1)), _MONTHS[month.group(1).lower()] if month else 0, day


_NUMBER = re.compile(r"([-−]?)(\d[\d,]*(?:\.\d+)?)(?:\s*(thousand|million|billion|trillion|bn)\b)?", re.IGNORECASE)
_SCALE = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "bn": 1e9, "trillion": 1e12}
_LEADING_YEAR = re.compile(r"^\D{0,12}\b(?:1[5-9]|20)\d\d\b(?!,\d)")


def parse_number(text: str) -> float | None:
    """The number in ``text`` ("1,900", "24.15 million", "-5 °C", "3.5 km"), scaled by a word that follows it.

    A year before another number ("2010 census: 24,000") is the number's date, not the number.
    """
    matches = list(_NUMBER.finditer(text))
    if len(matches) > 1 and _LEADING_YEAR.match(text):
        matches = matches[1:]
    if not matches:
        return None
    return _quantity(matches[0])


_UNIT = re.compile(r"\d\s*([a-z]+|%|°\s*[cf])", re.IGNORECASE)
_UNITS = {
    "mm": "mm", "cm": "cm", "m": "m", "metre": "m", "metres": "m", "meter": "m", "meters": "m", "km": "km",
    "kilometres": "km", "kilometers": "km", "in": "in", "inches": "in", "ft": "ft", "feet": "ft", "foot": "ft",
    "mi": "mi", "miles": "mi", "mile": "mi", "g": "g", "kg": "kg", "lb": "lb", "lbs": "lb", "pounds": "lb",
    "t": "t", "tonnes": "t", "tons": "t", "ha": "ha", "hectares": "ha", "acres": "acre", "sq": "sq", "%": "%",
}


def _unit(text: str) -> str:
    """The unit of measure written right after a number ("km", "m", "ft"), or "" (none, a scale or a count noun)."""
    match = _UNIT.search(text)
    if match is None:
        return ""
    word = match.group(1).lower().replace(" ", "")
    return word if word.startswith("°") else _UNITS.get(word, "")


@dataclass(frozen=True)
class Decision:
    """What the code decided: the short answer, the passage numbers it rests on, and what each of them writes."""

    answer: str
    sources: list[int]
    # passage number -> the values it holds, "Casa Gaivota: 70": what its citation supports
    support: dict[int, str] = field(default_factory=dict)


_DIGITS = re.compile(r"\d[\d,.]*\d|\d")


def written_in(value: str, kind: ComparisonKind, passage: str) -> bool:
    """Whether ``passage`` writes ``value``: a date's year, or a number's digits (commas aside) or its
    quantity in other words ("24,000,000" for "24 million").

    The 1.5B model, finding no value, copies the prompt's example ("17 July 1939", "1,900"); a
    value its passage does not hold decides nothing.
    """
    if kind == "date":
        year = _YEAR.search(_CLOCK.sub(" ", value))
        return year is not None and re.search(rf"(?<!\d){year.group(1)}(?!\d)", passage) is not None
    digits = _DIGITS.search(value)
    if digits is None:
        return False
    wanted = digits.group(0).replace(",", "").rstrip(".")
    if re.search(rf"(?<![\d.]){re.escape(wanted)}(?![\d]|\.\d)", passage.replace(",", "")) is not None:
        return True
    quantity = parse_number(value)
    return quantity is not None and any(
        _quantity(match) == quantity for match in _NUMBER.finditer(passage)
    )


def _quantity(match: re.Match[str]) -> float | None:
    sign, digits, scale = match.groups()
    try:
        value = float(digits.replace(",", ""))
    except ValueError:
        return None
    return (-value if sign else value) * _SCALE.get((scale or "").lower(), 1.0)


def _source_writing(name: str, value: str, kind: ComparisonKind, cited: int, passages: Sequence[str]) -> int | None:
    """The number of the passage that writes ``value``: the one cited, else the first shown that names ``name`` and writes it.

    The model copies the right value and, now and then, the number of a neighbouring passage; the
    answer then cites the passage that holds it.
    """
    if 1 <= cited <= len(passages) and written_in(value, kind, passages[cited - 1]):
        return cited
    folded = name.casefold()
    for number, passage in enumerate(passages, start=1):
        if folded in passage.casefold() and written_in(value, kind, passage):
            return number
    return None


def decide(comparison: Comparison, values: Sequence[Any], passages: Sequence[str]) -> Decision | None:
    """The answer from the model's values, or ``None`` when they do not settle it.

    Every name needs one value that parses and a passage among the ``passages`` shown (their
    texts, numbered from 1) that writes it (:func:`written_in`): the one the model gave, else the
    first that names it and writes the value; dates
    compare as (year, month, day) with a missing part counting only when both give it; numbers
    written with different units are not compared; a tie settles nothing.
    """
    by_name = {}
    sources: dict[str, int] = {}
    for entry in values:
        if entry.name in by_name:
            return None
        source = _source_writing(entry.name, str(entry.value), comparison.kind, entry.source, passages)
        if source is None:
            return None
        by_name[entry.name], sources[entry.name] = entry, source
    if set(by_name) != set(comparison.names):
        return None
    parse = parse_date if comparison.kind == "date" else parse_number
    parsed = {name: parse(str(by_name[name].value)) for name in comparison.names}
    if any(value is None for value in parsed.values()):
        return None
    if comparison.kind == "number" and len({_unit(str(by_name[name].value)) for name in comparison.names}) > 1:
        return None  # "2 km" against "1,500 m": not compared without converting
    if comparison.kind == "date":
        # compare only as finely as every date is given
        depth = min(3 - list(value).count(0) if value[1] else 1 for value in parsed.values())  # type: ignore[union-attr]
        parsed = {name: tuple(value[:depth]) for name, value in parsed.items()}  # type: ignore[index]
    ordered = sorted(parsed.items(), key=lambda item: item[1])  # type: ignore[arg-type, return-value]
    best = ordered[0] if comparison.pick == "min" else ordered[-1]
    if sum(1 for _, value in ordered if value == best[1]) > 1:
        return None
    # the winner's passage first, then the others': the answer rests on all the values
    cited = [sources[best[0]]] + [sources[name] for name in comparison.names]
    support: dict[int, str] = {}
    for name in comparison.names:
        held = f"{name}: {by_name[name].value}"
        support[sources[name]] = f"{support[sources[name]]}; {held}" if sources[name] in support else held
    return Decision(best[0], list(dict.fromkeys(cited)), support)
