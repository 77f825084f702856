"""The runs the server hands to its worker threads: a one-off with the request's history, or a thread's turn."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from agentic_rag.agent.agent import Agent
from agentic_rag.agent.conversation import Turn

__all__ = ["GraphAgents", "RunFactory"]


@dataclass(frozen=True)
class GraphAgents:
    """The two agents of one graph: one over the thread checkpointer, one without checkpoints.

    One-off questions go to the second, so they leave nothing behind in the checkpointer.
    """

    threaded: Agent
    one_off: Agent


class RunFactory:
    """Builds the runs the server hands to its worker threads; each run yields typed events."""

    def __init__(self, agents: Mapping[str, GraphAgents]) -> None:
        self.agents = dict(agents)

    def style(self, model: str, settings: Mapping[str, Any] | None = None) -> str:
        """The answer style a run of ``model`` with ``settings`` writes in."""
        return str((settings or {}).get("style") or self.agents[model].one_off.config.style)

    def run(self, model: str, question: str, *, history: list[Turn], thread: str | None,
            streaming: bool, settings: Mapping[str, Any] | None = None) -> Callable[[], Iterator[Any]]:
        """A run for a worker: all events when ``streaming``, else only the ``FinalAnswer``.

        With ``thread`` the question is the thread's next turn and ``history`` is not used: the
        thread's own turns are; a turn left unfinished (a failed run, or the server stopped during
        it) is replaced, and a turn whose run fails is forgotten, since its client got an error. The
        caller runs one turn of a thread at a time (see :class:`~.threads.TurnClaims`). Without
        ``thread`` a follow-up is rewritten with ``history`` first. ``settings`` (the run's
        overrides of the graph's config) are checked here, before the run is admitted.
        """
        agents = self.agents[model]
        overrides = agents.one_off.run_settings(settings)
        if thread is None:
            agent = agents.one_off
            if streaming:
                return lambda: agent.stream(question, history=history, settings=overrides)
            return lambda: iter_final(agent, question, history, overrides)
        conversation = agents.threaded.conversation
        graph_input = agents.threaded.graph_input(question)
        return lambda: conversation.run_turn(
            question, thread, graph_input, events=streaming, replace_unfinished=True, forget_on_error=True,
            settings=overrides,
        )


def iter_final(agent: Agent, question: str, history: list[Turn], settings: Mapping[str, Any] | None = None) -> Iterator[Any]:
    """The one event of a run that is not streamed: its final answer."""
    from agentic_rag.events import FinalAnswer

    yield FinalAnswer(answer=agent.ask(question, history=history, settings=settings))
