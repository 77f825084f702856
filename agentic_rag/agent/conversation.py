"""Chat threads and resumable runs over a LangGraph checkpointer.

A thread keeps its turns (question, standalone question, answer) and the turn under way in a small
conversation graph saved by the checkpointer under the thread id. Each turn's research run is
checkpointed under ``<thread id>/turn-<n>``, node by node, so a run killed half way resumes from
its last finished step; once the turn is recorded, its run's checkpoints are deleted. A follow-up
is rewritten into a standalone question from the thread's last turns (one model call) before the
research starts.
"""

from __future__ import annotations

import operator
import sqlite3
from pathlib import Path
from typing import Annotated, Any, TypedDict

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.graph import END, START, StateGraph

from ..answer import Answer, Step, Usage
from ..errors import ConfigurationError
from ..graphs import prompts
from ..graphs.llm import invoke_text

__all__ = ["Conversation", "sqlite_checkpointer", "state_serializer", "Turn", "with_rewrite"]


class Turn(TypedDict):
    """One finished exchange of a thread."""

    message: str
    question: str
    answer: str


class ConversationState(TypedDict, total=False):
    turns: Annotated[list[Turn], operator.add]
    pending: dict[str, Any] | None  # the turn under way: message, standalone question, turn number


def state_serializer() -> Any:
    """LangGraph's msgpack/JSON serializer (never pickle) allowed to rebuild this package's state types."""
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    from ..answer import Answer, Citation, ExitReason, Step, Usage
    from ..evidence import Evidence
    from ..graphs.budget import Budget

    return JsonPlusSerializer(allowed_msgpack_modules=[Answer, Citation, ExitReason, Step, Usage, Evidence, Budget])


def sqlite_checkpointer(path: str | Path) -> Any:
    """A SQLite checkpointer in ``path`` (created with its folder), usable from several threads."""
    from langgraph.checkpoint.sqlite import SqliteSaver

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteSaver(sqlite3.connect(str(path), check_same_thread=False), serde=state_serializer())


def with_rewrite(answer: Answer, message: str, cost: Usage) -> Answer:
    """``answer`` with the rewrite of ``message`` into its question as first step, and its cost added.

    Unchanged when the message was not rewritten.
    """
    if message == answer.question:
        return answer
    step = Step(kind="rewrite", detail={"message": message, "question": answer.question}, usage=cost)
    return answer.model_copy(update={"usage": answer.usage + cost, "steps": [step, *answer.steps]})


def _store_graph(checkpointer: Any) -> Any:
    graph = StateGraph(ConversationState)
    graph.add_node("keep", lambda state: {})
    graph.add_edge(START, "keep")
    graph.add_edge("keep", END)
    return graph.compile(checkpointer=checkpointer)


class Conversation:
    """Threads of one agent: history, follow-up rewriting and resume."""

    def __init__(self, model: BaseChatModel, research: Any, checkpointer: Any, history_turns: int = 3) -> None:
        if checkpointer is None:
            raise ConfigurationError("chat threads need a checkpointer (Agent(checkpointer=...))")
        self.model = model
        self.research = research
        self.checkpointer = checkpointer
        self.store = _store_graph(checkpointer)
        self.history_turns = history_turns

    @staticmethod
    def _config(thread_id: str) -> dict[str, Any]:
        if not isinstance(thread_id, str) or not thread_id.strip():
            raise ConfigurationError("the thread id is empty")
        if "/" in thread_id:
            raise ConfigurationError(f"a thread id may not contain '/': {thread_id!r}")
        return {"configurable": {"thread_id": thread_id}}

    def turns(self, thread_id: str) -> list[Turn]:
        """The finished turns of a thread, oldest first."""
        return list(self.store.get_state(self._config(thread_id)).values.get("turns") or [])

    def pending(self, thread_id: str) -> dict[str, Any] | None:
        """The turn under way (asked, not yet answered), if any."""
        return self.store.get_state(self._config(thread_id)).values.get("pending")

    def standalone(self, message: str, turns: list[Turn]) -> tuple[str, Usage]:
        """``message`` rewritten to stand alone, using the last turns, and what that cost; unchanged without history."""
        if not turns:
            return message, Usage()
        history = "\n".join(
            prompts.HISTORY_TURN.format(question=t["question"], answer=t["answer"]) for t in turns[-self.history_turns :]
        )
        user = prompts.CONDENSE.format(history=history, message=message)
        result = invoke_text(self.model, [SystemMessage(content=prompts.SYSTEM), HumanMessage(content=user)], attempts=1)
        rewritten = (result.value or "").strip().strip('"').strip()
        return (rewritten.splitlines()[0].strip() if rewritten else message), result.usage

    def start_turn(self, message: str, thread_id: str, research_input: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Record the turn as under way; return the research input and its run config."""
        config = self._config(thread_id)
        if self.pending(thread_id):
            raise ConfigurationError(f"thread {thread_id!r} has an unfinished run: resume it first")
        turns = self.turns(thread_id)
        question, cost = self.standalone(message, turns)
        pending = {"message": message, "question": question, "turn": len(turns), "rewrite_usage": cost.model_dump()}
        self.store.update_state(config, {"pending": pending})
        return {**research_input, "question": question}, self._run_config(thread_id, pending["turn"])

    def _run_config(self, thread_id: str, turn: int) -> dict[str, Any]:
        return {"configurable": {"thread_id": f"{thread_id}/turn-{turn}"}}

    def finish_turn(self, thread_id: str, answer: Answer) -> Answer:
        """Record the answered turn and clear the one under way; the answer gains the rewrite's step and cost.

        The turn's research run is deleted from the checkpointer (when it can delete threads): it was
        kept only to resume the turn. Call this once the run has ended, so nothing writes to it after.
        """
        pending = self.pending(thread_id) or {}
        if pending.get("message"):
            answer = with_rewrite(answer, pending["message"], Usage.model_validate(pending.get("rewrite_usage") or {}))
        turn: Turn = {"message": pending.get("message", answer.question), "question": answer.question, "answer": answer.text}
        self.store.update_state(self._config(thread_id), {"turns": [turn], "pending": None})
        delete_thread = getattr(self.checkpointer, "delete_thread", None)
        if "turn" in pending and callable(delete_thread):
            delete_thread(self._run_config(thread_id, pending["turn"])["configurable"]["thread_id"])
        return answer

    def abandon_turn(self, thread_id: str) -> None:
        """Forget the turn under way (its run failed and will not be resumed); finished turns stay."""
        self.store.update_state(self._config(thread_id), {"pending": None})

    def resume_config(self, thread_id: str) -> dict[str, Any]:
        """The run config of the unfinished turn; an error if there is none."""
        pending = self.pending(thread_id)
        if not pending:
            raise ConfigurationError(f"thread {thread_id!r} has no unfinished run to resume")
        return self._run_config(thread_id, pending["turn"])
