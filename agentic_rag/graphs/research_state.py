"""State of the research graph: the question, its sub-questions, and what each sub-question's loop found."""

from __future__ import annotations

from typing import Annotated

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict

from pydantic import BaseModel, ConfigDict, Field

from agentic_rag.answer import Answer, ExitReason, Step, Usage
from agentic_rag.evidence import Evidence
from agentic_rag.graphs.budget import Budget
from agentic_rag.graphs.state import RESET, add_usage, extend

__all__ = ["Finding", "ResearchState", "SubquestionTask", "add_findings"]


class Finding(BaseModel):
    """A sub-question's answer and the passages it cites (what the report is written from)."""

    model_config = ConfigDict(frozen=True)

    index: int
    question: str
    answer: Answer
    cited: dict[str, Evidence] = Field(default_factory=dict, description="The cited passages by evidence id.")

    @property
    def found(self) -> bool:
        """Whether the sources answered it: a cited answer."""
        return bool(self.answer.citations) and self.answer.exit_reason not in (ExitReason.NO_EVIDENCE, ExitReason.ERROR)


def add_findings(current: list[Finding] | None, new: list[Finding] | str | None) -> list[Finding]:
    """Findings of the parallel sub-questions, kept in sub-question order."""
    if new == RESET:
        return []
    merged = {f.index: f for f in [*(current or []), *(new or [])]}
    return [merged[i] for i in sorted(merged)]


class SubquestionTask(TypedDict):
    """What one parallel branch gets: its sub-question and its share of the run's budget."""

    index: int
    question: str
    budget: Budget


class ResearchState(TypedDict, total=False):
    """Everything a research run knows."""

    question: str
    budget: Budget
    started_at: float
    subquestions: list[str]
    findings: Annotated[list[Finding], add_findings]
    usage: Annotated[Usage, add_usage]
    steps: Annotated[list[Step], extend]
    answer: Answer | None
    exit_reason: ExitReason | None
    messages: Annotated[list[AnyMessage], add_messages]
    messages_seen: int
    from_messages: bool
