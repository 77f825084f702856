"""The agentic graph: plan -> search -> judge -> refine -> search ... -> answer."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel
from langgraph.graph import END, START, StateGraph

from agentic_rag.graphs import routing
from agentic_rag.graphs.checkpoints import with_state_types
from agentic_rag.graphs.config import RAGConfig
from agentic_rag.graphs.effects import node
from agentic_rag.graphs.nodes import RAGNodes
from agentic_rag.graphs.state import RAGInput, RAGOutput, RAGState

__all__ = ["build_agentic_graph"]


def build_agentic_graph(
    model: BaseChatModel, tools: list[Any], config: RAGConfig | None = None, *, checkpointer: Any = None
) -> Any:
    """Compile the agentic graph over ``model`` and ``tools`` with ``config`` (default: ``RAGConfig()``).

    A run may override any setting: ``graph.invoke(input, context={"k": 2})`` or
    ``{"configurable": {"k": 2}}`` (see :class:`~agentic_rag.graphs.config.RAGConfig`).

    The loop always ends: every round costs a search and the budget in the state caps rounds,
    LLM calls, tool calls, tokens and seconds; a repeated query is never run twice.
    """
    nodes = RAGNodes(model, tools, config)
    graph = StateGraph(RAGState, context_schema=RAGConfig, input_schema=RAGInput, output_schema=RAGOutput)
    graph.add_node("start", nodes.start)
    graph.add_node("plan", node(nodes.plan))
    graph.add_node("search", node(nodes.search))
    graph.add_node("judge", node(nodes.judge))
    graph.add_node("refine", nodes.refine)
    graph.add_node("answer", node(nodes.answer))
    graph.add_edge(START, "start")
    graph.add_edge("start", "plan")
    graph.add_conditional_edges("plan", routing.after_plan)
    graph.add_conditional_edges("search", routing.after_search)
    graph.add_conditional_edges("judge", routing.after_judge)
    graph.add_conditional_edges("refine", routing.after_refine)
    graph.add_edge("answer", END)
    return graph.compile(checkpointer=with_state_types(checkpointer), name="agentic-rag")
