"""Structured outputs of the planner and the judge (filled by constrained decoding on local models)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field, create_model

__all__ = ["Plan", "Judgement", "plan_schema", "SearchRequest"]


class SearchRequest(BaseModel):
    """One tool call the planner asks for."""

    tool: str
    query: str


class Plan(BaseModel):
    """The planner's decision: the first searches to run (none if the question needs no documents)."""

    searches: list[SearchRequest] = Field(default_factory=list, max_length=2)


class Judgement(BaseModel):
    """The judge's verdict on the evidence so far.

    Fields are in the order a small model should think: first the facts found, each with the number
    of its passage (``[n]``, which is how relevance is read), then the answer if the facts state it
    (empty if not: that is how "not sufficient" is said), then a search for what is missing.
    """

    facts: str = Field(min_length=1, max_length=400, description="facts bearing on the question, each with its [n]")
    answer: str = Field(default="", max_length=100, description="the answer if the facts state it, else empty")
    next_query: str = Field(default="", max_length=80, description="a short search for what is still missing")

    def relevant(self) -> list[int]:
        """Passage numbers cited in ``facts``, in order of first mention."""
        return list(dict.fromkeys(int(n) for n in re.findall(r"\[(\d+)\]", self.facts)))


def plan_schema(tool_names: list[str]) -> type[Plan]:
    """A :class:`Plan` whose ``tool`` field only admits ``tool_names`` (so decoding cannot invent tools)."""
    if not tool_names:
        raise ValueError("plan_schema needs at least one tool name")
    tool_type = Literal[tuple(tool_names)]  # type: ignore[valid-type]
    request = create_model("SearchRequest", tool=(tool_type, ...), query=(str, ...), __base__=SearchRequest)
    return create_model(
        "Plan",
        searches=(list[request], Field(default_factory=list, max_length=2)),  # type: ignore[valid-type]
        __base__=Plan,
    )
