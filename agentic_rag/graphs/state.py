"""Graph state, its input and output schemas, and the reducers that merge node updates."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Annotated

from typing_extensions import TypedDict

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.graph.message import add_messages
from pydantic import BaseModel, ConfigDict, Field

from agentic_rag._text import message_text
from agentic_rag.answer import Answer, ExitReason, Step, Usage
from agentic_rag.evidence import Evidence
from agentic_rag.graphs.budget import Budget
from agentic_rag.steps import SearchRequest

__all__ = [
    "JudgeDraft", "RAGState", "RAGInput", "RAGOutput", "merge_evidence", "add_usage", "extend", "RESET", "question_of",
    "reply_message",
]

# A node returns RESET for a summing key to empty it: the start of each run does, so a second run
# on the same checkpointed thread (LangGraph Studio, a chat turn) starts from nothing.
RESET = "__reset__"


def merge_evidence(current: dict[str, Evidence] | None, new: dict[str, Evidence] | str | None) -> dict[str, Evidence]:
    """Union of evidence by id; the first copy of an id wins, insertion order is kept."""
    if new == RESET:
        return {}
    merged = dict(current or {})
    for evidence_id, evidence in (new or {}).items():
        merged.setdefault(evidence_id, evidence)
    return merged


def add_usage(current: Usage | None, delta: Usage | str | None) -> Usage:
    """Sum of two usage records (nodes return only what they spent)."""
    if delta == RESET:
        return Usage()
    return (current or Usage()) + (delta or Usage())


def extend(current: list[Any] | None, new: list[Any] | str | None) -> list[Any]:
    """Append to a list."""
    if new == RESET:
        return []
    return [*(current or []), *(new or [])]


def question_of(state: Mapping[str, Any]) -> tuple[str, bool]:
    """The run's question and whether it came as a message.

    A human message that arrived since the last run (more messages than the last run saw, the last
    one human) is the question; otherwise ``question`` is. A message with no text falls back to
    ``question``, so a blank message left on a thread never blocks the runs after it.
    """
    messages = state.get("messages") or []
    if len(messages) > (state.get("messages_seen") or 0) and isinstance(messages[-1], HumanMessage):
        text = message_text(messages[-1].content)
        if text.strip() or not state.get("question"):
            return text, True
    return state.get("question") or "", False


def reply_message(state: Mapping[str, Any], answer: Answer) -> dict[str, Any]:
    """The update that appends ``answer`` as an ``AIMessage`` when the question came as a message, else nothing.

    The message's ``response_metadata`` carries the citations, claims, exit reason and steps as JSON.
    """
    if not state.get("from_messages"):
        return {}
    record = answer.model_dump(mode="json", include={"citations", "claims", "exit_reason", "notice", "usage", "steps"})
    return {"messages": [AIMessage(content=answer.text, response_metadata={"agentic_rag": record})]}


class JudgeDraft(BaseModel):
    """The latest cited answer of a judge.

    ``asks_nothing_more``: the judge asked for no further search. ``final``: the adaptive path
    accepted it in the first round, so it is the answer as it is (no answer call).
    """

    model_config = ConfigDict(frozen=True)

    answer: str
    sources: list[str] = Field(default_factory=list, description="The evidence ids it cites.")
    asks_nothing_more: bool = False
    final: bool = False


class RAGInput(TypedDict, total=False):
    """What a caller gives a graph: the question, and optionally a budget.

    Or ``messages``, as a parent ``MessagesState`` graph, LangGraph Studio's chat or agent-chat-ui
    send them: when the last message is a human one, its text is the question, and the answer comes
    back as an ``AIMessage`` appended to them.
    """

    question: str
    budget: Budget
    messages: Annotated[list[AnyMessage], add_messages]


class RAGOutput(TypedDict, total=False):
    """What a graph returns: the answer, and the reply message when the question came as messages."""

    answer: Answer
    messages: Annotated[list[AnyMessage], add_messages]


class RAGState(TypedDict, total=False):
    """Everything a run knows. Reducers merge evidence, usage, steps and queries; other keys are replaced."""

    question: str
    budget: Budget
    started_at: float
    pending: list[SearchRequest]  # searches still to run
    queries_run: Annotated[list[SearchRequest], extend]  # searches already run
    evidence: Annotated[dict[str, Evidence], merge_evidence]
    relevant_ids: list[str]
    new_ids: list[str]  # evidence first seen in the last search round
    sufficient: bool
    draft: JudgeDraft | None
    rounds: int
    usage: Annotated[Usage, add_usage]
    steps: Annotated[list[Step], extend]
    exit_reason: ExitReason | None
    answer: Answer
    messages: Annotated[list[AnyMessage], add_messages]
    messages_seen: int  # messages there when the last run started: later ones are new
    from_messages: bool  # this run's question came as a message (its answer goes back as one)
