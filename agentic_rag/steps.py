"""Typed records of a run's steps: what each plan, search, judge, refine, answer and rewrite did.

A :class:`Step` has a ``kind`` and a ``detail`` model of that kind (:class:`PlanDetail`,
:class:`SearchDetail`, ...). Details read as attributes; they also answer ``detail["field"]``,
``"field" in detail`` and ``detail.get(...)`` for fields that are set, so code that reads a trace
parsed from JSON and code that reads a live run look the same. Unset fields are left out of the
JSON form.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_serializer, model_validator

from agentic_rag.usage import Usage

__all__ = [
    "AnswerDetail", "DecomposeDetail", "JudgeDetail", "ReportDetail", "SubquestionDetail", "PlanDetail", "RefineDetail", "RewriteDetail", "SearchDetail",
    "SearchRequest", "Step", "StepDetail", "StepKind", "normalise_query",
]

_SPACES = re.compile(r"\s+")
_PUNCT = re.compile(r"[^\w\s]")


def normalise_query(query: str) -> str:
    """Lower case, no punctuation, single spaces: two queries equal after this are the same query."""
    return _SPACES.sub(" ", _PUNCT.sub(" ", query.lower())).strip()


class SearchRequest(BaseModel):
    """One search: a query for a tool. Equal to the dict of its fields (a trace read back from JSON)."""

    model_config = ConfigDict(frozen=True)

    tool: str
    query: str

    def key(self) -> tuple[str, str]:
        """What makes two searches the same search: the tool and the normalised query."""
        return self.tool, normalise_query(self.query)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return {"tool": self.tool, "query": self.query} == dict(other)
        if isinstance(other, SearchRequest):
            return (self.tool, self.query) == (other.tool, other.query)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.tool, self.query))


class StepDetail(BaseModel):
    """Base of the step details: attribute access, plus read-only mapping access to the set fields."""

    model_config = ConfigDict(extra="ignore")

    def __getitem__(self, name: str) -> Any:
        value = getattr(self, name, None) if name in type(self).model_fields else None
        if value is None:
            raise KeyError(name)
        return value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in type(self).model_fields and getattr(self, name) is not None

    def get(self, name: str, default: Any = None) -> Any:
        return self[name] if name in self else default

    @model_serializer(mode="wrap")
    def _without_unset(self, handler: Any) -> dict[str, Any]:
        return {key: value for key, value in handler(self).items() if value is not None}


class PlanDetail(StepDetail):
    """The first searches; ``skipped`` says why no model call chose them (``budget``), ``error`` why it failed."""

    searches: list[SearchRequest] = Field(default_factory=list)
    skipped: str | None = None
    error: str | None = None


class SearchDetail(StepDetail):
    """One tool call: the evidence ids it returned, how long it took, or the error it failed with for good."""

    tool: str = ""
    query: str = ""
    found: list[str] = Field(default_factory=list)
    seconds: float | None = None
    error: str | None = None


class JudgeDetail(StepDetail):
    """The judge's verdict: the passages it found relevant, its draft answer, what is missing, what to search.

    ``coverage`` is the share of the question's content words the cited passages hold;
    ``single_hop`` / ``multi_hop_signs`` / ``single_hop_error`` record the wording check.
    """

    relevant: list[str] | None = None
    draft_answer: str | None = None
    missing: str | None = None
    sufficient: bool = False
    next_query: str | None = None
    coverage: float | None = None
    single_hop: bool | None = None
    multi_hop_signs: list[str] | None = None
    single_hop_error: str | None = None
    skipped: str | None = None
    error: str | None = None


class RefineDetail(StepDetail):
    """The next round's searches, or the exit reason that stopped the search (``stop``)."""

    searches: list[SearchRequest] = Field(default_factory=list)
    stop: str | None = None


class AnswerDetail(StepDetail):
    """The passages the answer read, the markers it wrote that point at none of them, and, for a
    comparison the code decided, the values it compared (``compared``)."""

    passages: list[str] | None = None
    invalid_markers: list[int] | None = None
    compared: str | None = None


class RewriteDetail(StepDetail):
    """A chat follow-up (``message``) rewritten into the standalone ``question`` the run researched."""

    message: str = ""
    question: str = ""


class DecomposeDetail(StepDetail):
    """A research run's sub-questions; ``source`` says whether the model or the question's own wording gave them."""

    subquestions: list[str] = Field(default_factory=list)
    source: str | None = None
    error: str | None = None


class SubquestionDetail(StepDetail):
    """One sub-question researched by the agentic loop: its answer, why its loop stopped, what it found."""

    index: int = 0
    question: str = ""
    answer: str | None = None
    found: bool = False
    exit_reason: str | None = None
    evidence_ids: list[str] | None = None
    steps: int | None = None


class ReportDetail(StepDetail):
    """The report: its sections, references and whether the summary was written by the model."""

    sections: int = 0
    references: int = 0
    summary: str | None = None
    error: str | None = None


StepKind = Literal["plan", "search", "judge", "refine", "answer", "rewrite", "decompose", "subquestion", "report"]
_DETAILS: dict[str, type[StepDetail]] = {
    "plan": PlanDetail, "search": SearchDetail, "judge": JudgeDetail, "refine": RefineDetail,
    "answer": AnswerDetail, "rewrite": RewriteDetail, "decompose": DecomposeDetail, "subquestion": SubquestionDetail,
    "report": ReportDetail,
}
AnyDetail = Union[
    PlanDetail, SearchDetail, JudgeDetail, RefineDetail, AnswerDetail, RewriteDetail, DecomposeDetail, SubquestionDetail,
    ReportDetail,
]


class Step(BaseModel):
    """One step of a run, as recorded in the trace, with the detail model of its kind."""

    kind: StepKind
    detail: AnyDetail = Field(default_factory=AnswerDetail)
    usage: Usage | None = Field(default=None, description="What the step's model calls cost (all attempts).")

    @model_validator(mode="before")
    @classmethod
    def _detail_of_its_kind(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and data.get("kind") in _DETAILS:
            detail_type = _DETAILS[data["kind"]]
            detail = data.get("detail")
            if detail is None or isinstance(detail, Mapping):
                data = {**data, "detail": detail_type.model_validate(dict(detail or {}))}
            elif isinstance(detail, StepDetail) and not isinstance(detail, detail_type):
                raise ValueError(f"a {data['kind']} step needs a {detail_type.__name__}, not {type(detail).__name__}")
        return data
