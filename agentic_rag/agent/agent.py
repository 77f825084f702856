"""The facade applications embed: an :class:`Agent` over a chat model and tools."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from pydantic import ValidationError

from ..answer import Answer, Step
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

    def stream(self, question: str, *, budget: Budget | None = None) -> Iterator[Step | Answer]:
        """Yield each step as it happens, then the :class:`Answer`."""
        for update in self.graph.stream(self._input(question, budget), stream_mode="updates"):
            for node_update in update.values():
                if not node_update:
                    continue
                if "answer" in node_update:
                    yield node_update["answer"]
                else:
                    yield from node_update.get("steps") or []
