"""The facade applications embed: an :class:`Agent` over a chat model and tools."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
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
from ..graphs import Budget, build_agentic_graph, build_traditional_graph
from ..tools.adapters import as_tool, query_tools
from ..tools.retrieval import retrieval_tools
from .models import resolve_chat_model
from .settings import Settings

__all__ = ["Agent", "GraphName"]

GraphName = Literal["agentic", "traditional"]
_BUILDERS = {"agentic": build_agentic_graph, "traditional": build_traditional_graph}


class Agent:
    """Ask questions of a knowledge base and/or tools through one of the two graphs.

    ``model`` is any LangChain chat model, a ``provider:model`` string, or ``"local"`` /
    ``"local:<name>"`` for the offline llama.cpp default.
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
        graph_settings: dict[str, Any] = {}
        if own_tools:
            follow_up = [t.name for t in (kb_tools[:1] + query_tools(own_tools))]
            graph_settings = {"planner": True, "follow_up_tools": follow_up}
        self.model = resolve_chat_model(
            model if model is not None else settings.model,
            verbose=settings.verbose if verbose is None else verbose,
            on_download=on_download,
        )
        self.graph_name = graph
        self.budget = budget or Budget()
        self.graph = _BUILDERS[graph](self.model, all_tools, k=k, **graph_settings)

    def _input(self, question: str, budget: Budget | None) -> dict[str, Any]:
        if not isinstance(question, str) or not question.strip():
            raise ConfigurationError("the question is empty")
        return {"question": question.strip(), "budget": budget or self.budget}

    def ask(self, question: str, *, budget: Budget | None = None) -> Answer:
        """Run the graph to the end and return the answer."""
        return self.graph.invoke(self._input(question, budget))["answer"]

    def stream(self, question: str, *, budget: Budget | None = None) -> Iterator[Any]:
        """Yield typed events (:mod:`agentic_rag.events`) as the run goes; the last is a ``FinalAnswer``."""
        translator = _EventTranslator()
        for mode, chunk in self.graph.stream(self._input(question, budget), stream_mode=_STREAM_MODES):
            yield from translator.translate(mode, chunk)

    async def astream(self, question: str, *, budget: Budget | None = None) -> AsyncIterator[Any]:
        """Like :meth:`stream`, for asyncio applications."""
        translator = _EventTranslator()
        async for mode, chunk in self.graph.astream(self._input(question, budget), stream_mode=_STREAM_MODES):
            for event in translator.translate(mode, chunk):
                yield event

    async def aask(self, question: str, *, budget: Budget | None = None) -> Answer:
        """Like :meth:`ask`, for asyncio applications."""
        return (await self.graph.ainvoke(self._input(question, budget)))["answer"]


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
            if getattr(message, "id", None) != self.message_id:  # a new call (e.g. a retry): start over
                self.message_id, self.text = getattr(message, "id", None), AnswerTextStream()
            delta = self.text.feed(chunk_text(message.content))
            return [AnswerToken(text=delta)] if delta else []
        events: list[Any] = []
        for node_update in (chunk or {}).values():
            if not node_update:
                continue
            if "answer" in node_update:
                events.append(FinalAnswer(answer=node_update["answer"]))
                continue
            for step in node_update.get("steps") or []:
                events.extend(events_from_step(step))
            if node_update.get("evidence"):
                events.append(EvidenceFound(ids=list(node_update["evidence"])))
        return events
