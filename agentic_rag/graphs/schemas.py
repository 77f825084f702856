"""The model's structured replies: plan, judge, answer and support check (constrained decoding on local models).

Each is named ``<step>Reply``; the events of a run have their own names (:mod:`agentic_rag.events`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, create_model

from agentic_rag.steps import SearchRequest

__all__ = ["AnswerReply", "JudgeReply", "PlanReply", "SupportReply", "plan_schema"]


class PlanReply(BaseModel):
    """The planner's decision: the first searches to run (none if the question needs no documents)."""

    searches: list[SearchRequest] = Field(default_factory=list, max_length=2)


class JudgeReply(BaseModel):
    """The judge's verdict on the evidence so far.

    The answer comes first: small models read passages better when they try to answer than when
    they are asked to list facts. An empty answer means "not sufficient"; ``missing`` and
    ``next_query`` say what to look for next.
    """

    answer: str = Field(default="", max_length=100, description="the answer in a few words, or empty")
    sources: list[int] = Field(default_factory=list, max_length=10, description="numbers of the passages the answer comes from")
    missing: str = Field(default="", max_length=100, description="what is still unknown")
    next_query: str = Field(default="", max_length=80, description="a short search for what is missing")

    def relevant(self) -> list[int]:
        """The cited passage numbers, first mention first."""
        return list(dict.fromkeys(self.sources))


class AnswerReply(BaseModel):
    """The written answer: as few words as the question allows, and the passages it comes from.

    Short answers are what small models get right most often and what a reader checks fastest;
    the citation markers are added from ``sources``. An empty answer means the passages do not say.
    """

    # Required (no defaults): with optional fields constrained decoding lets a model reply ``{}``.
    answer: str = Field(max_length=200, description="the answer in as few words as possible, or empty")
    sources: list[int] = Field(max_length=10, description="numbers of the passages the answer comes from")


class SupportReply(BaseModel):
    """The optional model check of one citation."""

    supported: bool = Field(description="whether the passage states the answer")


def plan_schema(tool_names: list[str]) -> type[PlanReply]:
    """A :class:`PlanReply` whose ``tool`` field only admits ``tool_names`` (so decoding cannot invent tools)."""
    if not tool_names:
        raise ValueError("plan_schema needs at least one tool name")
    tool_type = Literal[tuple(tool_names)]  # type: ignore[valid-type]
    request = create_model("SearchRequest", tool=(tool_type, ...), query=(str, ...), __base__=SearchRequest)
    return create_model(
        "Plan",
        searches=(list[request], Field(default_factory=list, max_length=2)),  # type: ignore[valid-type]
        __base__=PlanReply,
    )
