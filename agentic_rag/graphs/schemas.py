"""Structured outputs of the planner and the judge (filled by constrained decoding on local models)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, create_model

__all__ = ["Plan", "Judgement", "plan_schema", "SearchRequest"]


class SearchRequest(BaseModel):
    """One tool call the planner asks for."""

    tool: str
    query: str


class Plan(BaseModel):
    """The planner's decision: search or not, and with which queries."""

    needs_search: bool = Field(description="false only if the question needs no documents")
    searches: list[SearchRequest] = Field(default_factory=list, max_length=3)


class Judgement(BaseModel):
    """The judge's verdict on the evidence so far."""

    relevant: list[int] = Field(default_factory=list, description="numbers of the useful passages")
    sufficient: bool = Field(description="true if the useful passages answer the question")
    missing: str = Field(default="", description="what is still unknown")
    next_query: str = Field(default="", description="a new search for what is missing")


def plan_schema(tool_names: list[str]) -> type[Plan]:
    """A :class:`Plan` whose ``tool`` field only admits ``tool_names`` (so decoding cannot invent tools)."""
    if not tool_names:
        raise ValueError("plan_schema needs at least one tool name")
    tool_type = Literal[tuple(tool_names)]  # type: ignore[valid-type]
    request = create_model("SearchRequest", tool=(tool_type, ...), query=(str, ...), __base__=SearchRequest)
    return create_model(
        "Plan",
        needs_search=(bool, Field(description="false only if the question needs no documents")),
        searches=(list[request], Field(default_factory=list, max_length=3)),  # type: ignore[valid-type]
        __base__=Plan,
    )
