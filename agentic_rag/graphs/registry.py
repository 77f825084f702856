"""The graphs by name: the one lookup the agent, the evaluation harness and the servers share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel

from agentic_rag.errors import ConfigurationError
from agentic_rag.graphs.agentic import build_agentic_graph
from agentic_rag.graphs.config import RAGConfig
from agentic_rag.graphs.research import build_research_graph
from agentic_rag.graphs.traditional import build_traditional_graph

__all__ = ["GRAPHS", "GraphName", "build_graph", "check_graph_name"]

GraphName = Literal["agentic", "traditional", "research"]
GRAPHS: dict[str, Callable[..., Any]] = {
    "agentic": build_agentic_graph, "traditional": build_traditional_graph, "research": build_research_graph,
}


def check_graph_name(name: str) -> str:
    """``name`` if a graph has it, else a :class:`ConfigurationError` listing the graphs."""
    if name not in GRAPHS:
        raise ConfigurationError(f"unknown graph {name!r}; choose one of: {', '.join(GRAPHS)}")
    return name


def build_graph(
    name: str, model: BaseChatModel, tools: list[Any], config: RAGConfig | None = None, *, checkpointer: Any = None
) -> Any:
    """Compile the graph called ``name`` over ``model`` and ``tools``."""
    return GRAPHS[check_graph_name(name)](model, tools, config, checkpointer=checkpointer)
