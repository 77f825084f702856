"""The traditional graph: retrieve once with the question, then answer."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel
from langgraph.graph import END, START, StateGraph

from .nodes import RAGNodes
from .state import RAGInput, RAGOutput, RAGState

__all__ = ["build_traditional_graph"]


def build_traditional_graph(model: BaseChatModel, tools: list[Any], *, checkpointer: Any = None, **settings: Any):
    """Compile single-step RAG over ``model`` and the first query tool in ``tools``: one search, one answer."""
    nodes = RAGNodes(model, tools, **settings)
    graph = StateGraph(RAGState, input_schema=RAGInput, output_schema=RAGOutput)
    graph.add_node("start", nodes.start)
    graph.add_node("retrieve", nodes.retrieve)
    graph.add_node("answer", nodes.answer)
    graph.add_edge(START, "start")
    graph.add_edge("start", "retrieve")
    graph.add_edge("retrieve", "answer")
    graph.add_edge("answer", END)
    return graph.compile(checkpointer=checkpointer, name="traditional-rag")
