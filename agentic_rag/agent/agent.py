"""The facade applications embed: an :class:`Agent` over a chat model and tools."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

from langchain_core.language_models import BaseChatModel

from agentic_rag.agent.conversation import Conversation, Turn, rewrite_follow_up, with_rewrite
from agentic_rag.event_stream import STREAM_MODES, EventTranslator, stream_events
from agentic_rag.agent.models import resolve_chat_model
from agentic_rag.agent.settings import load_settings
from agentic_rag.answer import Answer
from agentic_rag.errors import ConfigurationError
from agentic_rag.events import FinalAnswer
from agentic_rag.graphs import Budget, GraphName, RAGConfig, build_graph, looks_single_hop
from agentic_rag.graphs.config import CitationCheck, SingleHopCheck
from agentic_rag.graphs.registry import check_graph_name
from agentic_rag.tools.adapters import as_tool, query_tools
from agentic_rag.tools.retrieval import retrieval_tools

__all__ = ["Agent", "GraphName"]


class Agent:
    """Ask questions of a knowledge base and/or tools through one of the graphs.

    ``model`` is any LangChain chat model, a ``provider:model`` string, or ``"local"`` /
    ``"local:<name>"`` for the offline llama.cpp default. ``config`` is the graph's
    :class:`~agentic_rag.graphs.RAGConfig`; ``k``, ``citation_check``, ``adaptive`` and
    ``single_hop`` are shortcuts for its fields (``single_hop`` is the check, of the question's
    text, that lets the first cited answer stand).
    """

    def __init__(
        self,
        model: BaseChatModel | str | None = None,
        *,
        knowledge_base: Any = None,
        tools: list[Any] | None = None,
        graph: GraphName | None = None,
        budget: Budget | None = None,
        config: RAGConfig | None = None,
        k: int | None = None,
        verbose: bool | None = None,
        on_download: Any = None,
        checkpointer: Any = None,
        citation_check: CitationCheck | None = None,
        adaptive: bool | None = None,
        single_hop: SingleHopCheck | None = looks_single_hop,
    ) -> None:
        settings = load_settings()
        graph_name = check_graph_name(graph or settings.graph)
        config = config or RAGConfig()
        if k is None and "k" not in config.model_fields_set:
            k = settings.k  # the environment's default, below what the caller set
        shortcuts = {"k": k, "citation_check": citation_check, "adaptive": adaptive}
        config = config.override({name: value for name, value in shortcuts.items() if value is not None})
        if single_hop is not looks_single_hop:
            config = config.override({"single_hop": single_hop})
        own_tools = [as_tool(t) for t in tools or []]
        kb_tools = retrieval_tools(knowledge_base, k=config.k) if knowledge_base is not None else []
        all_tools = kb_tools + own_tools
        if not all_tools:
            raise ConfigurationError("give the agent a knowledge_base or at least one tool")
        # With tools of your own, a model call plans the first searches (it sees their names and
        # descriptions) and the judge's follow-up queries go to them as well as to the knowledge base.
        if own_tools:
            follow_up = [t.name for t in (kb_tools[:1] + query_tools(own_tools))]
            config = config.override({"planner": True, "follow_up_tools": follow_up})
        self.model = resolve_chat_model(
            model if model is not None else settings.model,
            verbose=settings.verbose if verbose is None else verbose,
            on_download=on_download,
        )
        self.graph_name = graph_name
        self.config = config
        self.budget = budget or Budget()
        self.checkpointer = checkpointer
        self.graph = build_graph(graph_name, self.model, all_tools, config, checkpointer=checkpointer)
        self._conversation = Conversation(self.model, self.graph, checkpointer) if checkpointer is not None else None

    def graph_input(self, question: str, budget: Budget | None = None) -> dict[str, Any]:
        """The graph's input for ``question``: the stripped question and the budget (this agent's by default)."""
        if not isinstance(question, str) or not question.strip():
            raise ConfigurationError("the question is empty")
        return {"question": question.strip(), "budget": budget or self.budget}

    def ask(
        self, question: str, *, budget: Budget | None = None, thread_id: str | None = None,
        history: list[Turn] | None = None,
    ) -> Answer:
        """Run the graph to the end and return the answer.

        With ``thread_id`` (needs a checkpointer) the question is a turn of that chat thread: see
        :meth:`chat`. With ``history`` (earlier turns the caller keeps) a follow-up is first
        rewritten to stand alone, and nothing is recorded.
        """
        if thread_id is not None:
            return self.chat(question, thread_id=thread_id, budget=budget)
        return _final(self._one_off(question, budget, history, events=False))

    def _one_off(self, question: str, budget: Budget | None, history: list[Turn] | None, events: bool) -> Iterator[Any]:
        """A question outside any thread; a follow-up of ``history`` is rewritten first."""
        graph_input = self.graph_input(question, budget)
        message = graph_input["question"]
        graph_input["question"], cost = rewrite_follow_up(self.model, message, history or [])
        config = self._one_off_config()
        if events:
            stream: Iterator[Any] = stream_events(self.graph, graph_input, config, **self._durability)
        else:
            stream = iter([FinalAnswer(answer=self.graph.invoke(graph_input, config, **self._durability)["answer"])])
        for event in stream:
            if isinstance(event, FinalAnswer):
                event = FinalAnswer(answer=with_rewrite(event.answer, message, cost))
            yield event

    def _one_off_config(self) -> dict[str, Any] | None:
        """A checkpointed graph needs a thread id even for a one-off question: a fresh one."""
        if self.checkpointer is None:
            return None
        return {"configurable": {"thread_id": f"one-off/{uuid.uuid4().hex}"}}

    @property
    def _durability(self) -> dict[str, Any]:
        """With a checkpointer, each step is saved before the next starts, so a kill loses no finished step."""
        return {"durability": "sync"} if self.checkpointer is not None else {}

    @property
    def conversation(self) -> Conversation:
        if self._conversation is None:
            raise ConfigurationError("chat threads and resume need a checkpointer: Agent(..., checkpointer=...)")
        return self._conversation

    def chat(self, message: str, *, thread_id: str, budget: Budget | None = None) -> Answer:
        """Answer ``message`` as the next turn of ``thread_id``.

        A follow-up ("and who leads it?") is first rewritten into a standalone question from the
        thread's history (one model call); ``Answer.question`` holds the rewritten question. The
        run is checkpointed step by step, so :meth:`resume` can finish it if the process dies.
        """
        return _final(self.conversation.run_turn(message, thread_id, self.graph_input(message, budget), events=False))

    def resume(self, thread_id: str) -> Answer:
        """Finish the thread's interrupted run from its last finished step."""
        return self.conversation.resume(thread_id)

    def history(self, thread_id: str) -> list[dict[str, str]]:
        """The thread's finished turns: ``message``, standalone ``question`` and ``answer``."""
        return [dict(t) for t in self.conversation.turns(thread_id)]

    def stream(
        self, question: str, *, budget: Budget | None = None, thread_id: str | None = None,
        history: list[Turn] | None = None,
    ) -> Iterator[Any]:
        """Yield typed events (:mod:`agentic_rag.events`) as the run goes; the last is a ``FinalAnswer``."""
        if thread_id is not None:
            yield from self.conversation.run_turn(question, thread_id, self.graph_input(question, budget))
        else:
            yield from self._one_off(question, budget, history, events=True)

    async def astream(
        self, question: str, *, budget: Budget | None = None, thread_id: str | None = None
    ) -> AsyncIterator[Any]:
        """Like :meth:`stream`, for asyncio applications.

        Without a checkpointer the graph runs on LangGraph's async API. With one, the run goes
        through the synchronous path in a worker thread, so any checkpointer works (SQLite's is
        synchronous); events arrive as they happen either way.
        """
        if self.checkpointer is None and thread_id is None:
            translator = EventTranslator()
            async for mode, chunk in self.graph.astream(self.graph_input(question, budget), stream_mode=STREAM_MODES):
                for event in translator.translate(mode, chunk):
                    yield event
            return
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

        def work() -> None:
            try:
                for event in self.stream(question, budget=budget, thread_id=thread_id):
                    loop.call_soon_threadsafe(queue.put_nowait, ("event", event))
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting side
                loop.call_soon_threadsafe(queue.put_nowait, ("error", exc))
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, ("done", None))

        threading.Thread(target=work, name="agentic-rag-run", daemon=True).start()
        while True:
            kind, value = await queue.get()
            if kind == "event":
                yield value
            elif kind == "error":
                raise value
            else:
                return

    async def aask(self, question: str, *, budget: Budget | None = None, thread_id: str | None = None) -> Answer:
        """Like :meth:`ask`, for asyncio applications (see :meth:`astream` on checkpointers)."""
        if self.checkpointer is None and thread_id is None:
            return (await self.graph.ainvoke(self.graph_input(question, budget)))["answer"]
        return await asyncio.to_thread(self.ask, question, budget=budget, thread_id=thread_id)


def _final(events: Iterator[Any]) -> Answer:
    """The answer of the last event of a run."""
    final = None
    for event in events:
        final = event
    if not isinstance(final, FinalAnswer):
        raise RuntimeError("the run ended without an answer")
    return final.answer
