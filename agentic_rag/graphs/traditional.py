"""The traditional graph: retrieve once with the question, then answer."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel
from langgraph.graph import END, START, StateGraph

from agentic_rag.graphs.checkpoints import with_state_types
from agentic_rag.graphs.config import RAGConfig
from agentic_rag.graphs.effects import node
from agentic_rag.graphs.nodes import RAGNodes
from agentic_rag.graphs.state import RAGInput, RAGOutput, RAGState

__all__ = ["build_traditional_graph"]


def build_traditional_graph(
    model: BaseChatModel, tools: list[Any], config: RAGConfig | None = None, *, checkpointer: Any = None
) -> Any:
    """Compile single-step RAG over ``model`` and the first query tool in ``tools``: one search, one answer.

    ``config`` is the same :class:`~agentic_rag.graphs.config.RAGConfig` the agentic graph takes
    (it reads ``k``, ``passage_chars``, ``max_answer_passages``, the tool retries and ``citation_check``);
    it answers in one call, so ``compare_values`` is off unless a run turns it on.
    """
    nodes = RAGNodes(model, tools, (config or RAGConfig()).override({"compare_values": False}))
    graph = StateGraph(RAGState, context_schema=RAGConfig, input_schema=RAGInput, output_schema=RAGOutput)
    graph.add_node("start", nodes.start)
    graph.add_node("retrieve", node(nodes.retrieve))
    graph.add_node("answer", node(nodes.answer))
    graph.add_edge(START, "start")
    graph.add_edge("start", "retrieve")
    graph.add_edge("retrieve", "answer")
    graph.add_edge("answer", END)
    return graph.compile(checkpointer=with_state_types(checkpointer), name="traditional-rag")
