"""The facade applications embed: an :class:`Agent` over a chat model and tools."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from pydantic import ValidationError

from ..answer import Answer
from ..events import (
    AnswerTextStream,
    AnswerToken,
    EvidenceFound,
    FinalAnswer,
    ToolCallStarted,
    chunk_text,
    events_from_step,
)
from ..errors import ConfigurationError
from ..graphs import Budget, build_agentic_graph, build_traditional_graph, looks_single_hop
from ..tools.adapters import as_tool, query_tools
from ..tools.retrieval import retrieval_tools
from .conversation import Conversation
from .models import resolve_chat_model
from .settings import Settings

__all__ = ["Agent", "GraphName"]

GraphName = Literal["agentic", "traditional"]
_BUILDERS = {"agentic": build_agentic_graph, "traditional": build_traditional_graph}


class Agent:
    """Ask questions of a knowledge base and/or tools through one of the two graphs.

    ``model`` is any LangChain chat model, a ``provider:model`` string, or ``"local"`` /
    ``"local:<name>"`` for the offline llama.cpp default. ``adaptive`` and ``single_hop`` set the
    agentic graph's adaptive path (:class:`~agentic_rag.graphs.RAGNodes`): ``single_hop`` is the
    check, of the question's text, that lets the first cited answer stand.
    """

    def __init__(
        self,
        model: BaseChatModel | str | None = None,
        *,
        knowledge_base: Any = None,
        tools: list[Any] | None = None,
        graph: GraphName | None = None,
        budget: Budget | None = None,
        k: int | None = None,
        verbose: bool | None = None,
        on_download: Any = None,
        checkpointer: Any = None,
        citation_check: Literal["lexical", "llm"] = "lexical",
        adaptive: bool = True,
        single_hop: Callable[[str], bool] | None = looks_single_hop,
    ) -> None:
        try:
            settings = Settings()
        except ValidationError as exc:
            problems = "; ".join(f"AGENTIC_RAG_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
            raise ConfigurationError(f"bad environment setting: {problems}") from None
        graph = graph or settings.graph  # type: ignore[assignment]
        if graph not in _BUILDERS:
            raise ConfigurationError(f"unknown graph {graph!r}; choose one of: {', '.join(_BUILDERS)}")
        k = k if k is not None else settings.k
        own_tools = [as_tool(t) for t in tools or []]
        kb_tools = retrieval_tools(knowledge_base, k=k) if knowledge_base is not None else []
        all_tools = kb_tools + own_tools
        if not all_tools:
            raise ConfigurationError("give the agent a knowledge_base or at least one tool")
        # With tools of your own, a model call plans the first searches (it sees their names and
        # descriptions) and the judge's follow-up queries go to them as well as to the knowledge base.
        graph_settings: dict[str, Any] = {"citation_check": citation_check, "adaptive": adaptive, "single_hop": single_hop}
        if own_tools:
            follow_up = [t.name for t in (kb_tools[:1] + query_tools(own_tools))]
            graph_settings |= {"planner": True, "follow_up_tools": follow_up}
        self.model = resolve_chat_model(
            model if model is not None else settings.model,
            verbose=settings.verbose if verbose is None else verbose,
            on_download=on_download,
        )
        self.graph_name = graph
        self.budget = budget or Budget()
        self.checkpointer = checkpointer
        self.graph = _BUILDERS[graph](self.model, all_tools, k=k, checkpointer=checkpointer, **graph_settings)
        self._conversation = Conversation(self.model, self.graph, checkpointer) if checkpointer is not None else None

    def _input(self, question: str, budget: Budget | None) -> dict[str, Any]:
        if not isinstance(question, str) or not question.strip():
            raise ConfigurationError("the question is empty")
        return {"question": question.strip(), "budget": budget or self.budget}

    def ask(self, question: str, *, budget: Budget | None = None, thread_id: str | None = None) -> Answer:
        """Run the graph to the end and return the answer.

        With ``thread_id`` (needs a checkpointer) the question is a turn of that chat thread: see :meth:`chat`.
        """
        if thread_id is not None:
            return self.chat(question, thread_id=thread_id, budget=budget)
        return self.graph.invoke(self._input(question, budget), self._one_off_config(), **self._durability)["answer"]

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
        research_input, config = self.conversation.start_turn(message, thread_id, self._input(message, budget))
        answer = self.graph.invoke(research_input, config, **self._durability)["answer"]
        return self.conversation.finish_turn(thread_id, answer)

    def resume(self, thread_id: str) -> Answer:
        """Finish the thread's interrupted run from its last finished step."""
        config = self.conversation.resume_config(thread_id)
        snapshot = self.graph.get_state(config)
        if snapshot.next:
            answer = self.graph.invoke(None, config, **self._durability)["answer"]
        elif snapshot.values.get("answer") is not None:
            answer = snapshot.values["answer"]  # it had finished; only the record was missing
        else:  # killed before the first step was saved: start the turn's run again
            pending = self.conversation.pending(thread_id) or {}
            answer = self.graph.invoke(self._input(pending.get("question", ""), None), config, **self._durability)["answer"]
        return self.conversation.finish_turn(thread_id, answer)

    def history(self, thread_id: str) -> list[dict[str, str]]:
        """The thread's finished turns: ``message``, standalone ``question`` and ``answer``."""
        return [dict(t) for t in self.conversation.turns(thread_id)]

    def _run(self, question: str, budget: Budget | None, thread_id: str | None) -> tuple[Any, dict[str, Any] | None]:
        """The graph input and config of a run: one-off, or a turn of a chat thread."""
        if thread_id is None:
            return self._input(question, budget), self._one_off_config()
        return self.conversation.start_turn(question, thread_id, self._input(question, budget))

    def stream(self, question: str, *, budget: Budget | None = None, thread_id: str | None = None) -> Iterator[Any]:
        """Yield typed events (:mod:`agentic_rag.events`) as the run goes; the last is a ``FinalAnswer``."""
        translator = _EventTranslator()
        graph_input, config = self._run(question, budget, thread_id)
        final: FinalAnswer | None = None
        for mode, chunk in self.graph.stream(graph_input, config, stream_mode=_STREAM_MODES, **self._durability):
            for event in translator.translate(mode, chunk):
                if thread_id is not None and isinstance(event, FinalAnswer):
                    final = event  # recorded once the run has ended (its last checkpoint saved)
                else:
                    yield event
        if final is not None and thread_id is not None:
            yield FinalAnswer(answer=self.conversation.finish_turn(thread_id, final.answer))

    async def astream(
        self, question: str, *, budget: Budget | None = None, thread_id: str | None = None
    ) -> AsyncIterator[Any]:
        """Like :meth:`stream`, for asyncio applications.

        Without a checkpointer the graph runs on LangGraph's async API. With one, the run goes
        through the synchronous path in a worker thread, so any checkpointer works (SQLite's is
        synchronous); events arrive as they happen either way.
        """
        if self.checkpointer is None and thread_id is None:
            translator = _EventTranslator()
            async for mode, chunk in self.graph.astream(self._input(question, budget), stream_mode=_STREAM_MODES):
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
            return (await self.graph.ainvoke(self._input(question, budget)))["answer"]
        return await asyncio.to_thread(self.ask, question, budget=budget, thread_id=thread_id)


_STREAM_MODES = ["updates", "custom", "messages"]


class _EventTranslator:
    """LangGraph stream chunks (updates, custom writes, model tokens) to typed events."""

    def __init__(self) -> None:
        self.text = AnswerTextStream()
        self.message_id: str | None = None

    def translate(self, mode: str, chunk: Any) -> list[Any]:
        if mode == "custom":
            if isinstance(chunk, dict) and chunk.get("event") == "tool_started":
                return [ToolCallStarted(tool=chunk["tool"], query=chunk["query"])]
            return []
        if mode == "messages":
            message, metadata = chunk
            if (metadata or {}).get("langgraph_node") != "answer":
                return []
            events: list[Any] = []
            if getattr(message, "id", None) != self.message_id:  # a new call (e.g. a retry): start over
                if self.text.sent:
                    events.append(AnswerToken(text="", reset=True))
                self.message_id, self.text = getattr(message, "id", None), AnswerTextStream()
            delta = self.text.feed(chunk_text(message.content))
            return events + ([AnswerToken(text=delta)] if delta else [])
        events: list[Any] = []
        for node_update in (chunk or {}).values():
            if not node_update:
                continue
            if node_update.get("answer") is not None:
                events.append(FinalAnswer(answer=node_update["answer"]))
                continue
            steps, evidence = node_update.get("steps"), node_update.get("evidence")
            for step in steps if isinstance(steps, list) else []:  # not the start node's reset marker
                events.extend(events_from_step(step))
            if isinstance(evidence, dict) and evidence:
                events.append(EvidenceFound(ids=list(evidence)))
        return events
