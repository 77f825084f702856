"""Running one question on the agents: a one-off with the request's history, or a turn of a thread."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ..agent.agent import Agent
from ..agent.conversation import Turn, with_rewrite
from ..events import FinalAnswer

__all__ = ["GraphAgents", "Research"]


@dataclass(frozen=True)
class GraphAgents:
    """The two agents of one graph: one over the thread checkpointer, one without checkpoints.

    One-off questions go to the second, so they leave nothing behind in the checkpointer.
    """

    threaded: Agent
    one_off: Agent


class Research:
    """Builds the runs the server hands to its worker threads; each run yields typed events."""

    def __init__(self, agents: Mapping[str, GraphAgents]) -> None:
        self.agents = dict(agents)

    def run(self, model: str, question: str, *, history: list[Turn], thread: str | None,
            streaming: bool) -> Callable[[], Iterator[Any]]:
        """A run for a worker: all events when ``streaming``, else only the ``FinalAnswer``.

        With ``thread`` the question is the thread's next turn and ``history`` is not used: the
        thread's own turns are. Without, a follow-up is rewritten with ``history`` first. The caller
        runs one turn of a thread at a time (see :class:`~.threads.TurnClaims`).
        """
        agents = self.agents[model]
        if thread is None:
            return lambda: self._one_off(agents, question, history, streaming)
        return lambda: self._turn(agents.threaded, question, thread, streaming)

    @staticmethod
    def _one_off(agents: GraphAgents, question: str, history: list[Turn], streaming: bool) -> Iterator[Any]:
        standalone, cost = agents.threaded.conversation.standalone(question, history)
        if not streaming:
            yield FinalAnswer(answer=with_rewrite(agents.one_off.ask(standalone), question, cost))
            return
        for event in agents.one_off.stream(standalone):
            if isinstance(event, FinalAnswer):
                event = FinalAnswer(answer=with_rewrite(event.answer, question, cost))
            yield event

    @staticmethod
    def _turn(agent: Agent, question: str, thread: str, streaming: bool) -> Iterator[Any]:
        conversation = agent.conversation
        if conversation.pending(thread):  # an earlier turn failed (or the server stopped during it)
            conversation.abandon_turn(thread)
        try:
            if streaming:
                yield from agent.stream(question, thread_id=thread)
            else:
                yield FinalAnswer(answer=agent.chat(question, thread_id=thread))
        except BaseException:
            conversation.abandon_turn(thread)  # the client got an error for it: not part of the history
            raise
