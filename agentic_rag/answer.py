"""The result of a run: answer text, checked citations, why the run stopped, what it cost."""

from __future__ import annotations

from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, Field

from agentic_rag.steps import Step
from agentic_rag.usage import Usage

__all__ = ["Answer", "Citation", "Claim", "ClaimQuote", "ExitReason", "Usage", "Step"]


class ExitReason(str, Enum):
    """Why a run stopped."""

    ANSWERED = "answered"
    BUDGET_ROUNDS = "budget_rounds"
    BUDGET_LLM_CALLS = "budget_llm_calls"
    BUDGET_TOOL_CALLS = "budget_tool_calls"
    BUDGET_TOKENS = "budget_tokens"
    BUDGET_TIME = "budget_time"
    NO_NEW_EVIDENCE = "no_new_evidence"
    NO_EVIDENCE = "no_evidence"
    NO_RETRIEVAL_NEEDED = "no_retrieval_needed"
    ERROR = "error"

    @property
    def is_budget(self) -> bool:
        """True for the reasons that mean a budget ran out."""
        return self.value.startswith("budget_")


class Citation(BaseModel):
    """A ``[marker]`` in the answer text and the evidence it points at."""

    marker: int
    evidence_id: str
    source: str
    quote: str
    span: tuple[int, int] | None = None
    claim: str = Field(default="", description="The text the marker is attached to.")
    supported: bool = Field(
        default=True, description="Whether the cited passage supports the claim (see ``checked_by``)."
    )
    checked_by: Literal["lexical", "llm"] = Field(
        default="lexical", description="lexical: the passage holds most content words of the claim; llm: a model said so."
    )


class ClaimQuote(BaseModel):
    """The sentence of a cited passage that best supports a claim."""

    marker: int
    evidence_id: str
    source: str
    quote: str
    span: tuple[int, int] | None = None


class Claim(BaseModel):
    """One claim of the answer (a sentence, a list item's sentence, a table cell) and its check.

    ``supported`` is true when the passages its markers point at hold it (``checked_by`` says how);
    a claim with no marker is not supported.
    """

    text: str = Field(description="The claim without its markers.")
    markers: list[int] = Field(default_factory=list)
    supported: bool = False
    quotes: list[ClaimQuote] = Field(default_factory=list)
    checked_by: Literal["lexical", "llm"] = "lexical"
    attributed: bool = Field(
        default=False, description="The model wrote no marker here; the checker added the passage that states it.")


class Answer(BaseModel):
    """An answer with its citations.

    ``text`` carries ``[n]`` markers; each valid marker has a :class:`Citation`.
    ``invalid_markers`` lists markers the model wrote that point at no retrieved evidence;
    they are removed from ``text``.
    """

    question: str
    text: str
    citations: list[Citation] = Field(default_factory=list)
    exit_reason: ExitReason = ExitReason.ANSWERED
    usage: Usage = Field(default_factory=Usage)
    invalid_markers: list[int] = Field(default_factory=list)
    notice: str | None = Field(default=None, description="Why the answer may be incomplete (budget ran out...).")
    evidence_ids: list[str] = Field(default_factory=list, description="Every evidence id retrieved during the run.")
    steps: list[Step] = Field(default_factory=list)
    claims: list[Claim] = Field(default_factory=list, description="The answer's claims, each checked against its citations.")
    style: Literal["short", "detailed", "report"] = "short"

    def trace(self) -> dict[str, Any]:
        """The run as a trace: the answer's JSON view plus the queries run and each model call's cost."""
        data = self.to_json_dict()
        data["queries"] = [
            step.detail.model_dump(mode="json", include={"tool", "query", "found", "seconds", "error"})
            for step in self.steps
            if step.kind == "search"
        ]
        data["llm_calls"] = [
            {"step": n, "kind": s.kind, **s.usage.model_dump(exclude={"tool_calls"})}
            for n, s in enumerate(self.steps)
            if s.usage is not None and s.usage.llm_calls
        ]
        return data

    def to_json_dict(self) -> dict[str, Any]:
        """A plain-JSON view (the shape ``agentic-rag ask --json`` prints)."""
        data = self.model_dump(mode="json")
        data["answer"] = data.pop("text")
        return data
