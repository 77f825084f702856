"""The LangGraph graphs, built by factories from the same nodes, and their typed configuration."""

from agentic_rag.graphs.adaptive import ADAPTIVE_MODES, adaptive_settings
from agentic_rag.graphs.agentic import build_agentic_graph
from agentic_rag.graphs.budget import Budget
from agentic_rag.graphs.checkpoints import state_serializer, with_state_types
from agentic_rag.graphs.config import RAGConfig
from agentic_rag.graphs.effects import node
from agentic_rag.graphs.nodes import RAGNodes
from agentic_rag.graphs.question_shape import looks_single_hop, multi_hop_signs
from agentic_rag.graphs.registry import GRAPHS, GraphName, build_graph
from agentic_rag.graphs.research import build_research_graph, default_research_budget
from agentic_rag.graphs.state import JudgeDraft, RAGInput, RAGOutput, RAGState
from agentic_rag.graphs.traditional import build_traditional_graph

__all__ = [
    "ADAPTIVE_MODES", "GRAPHS", "Budget", "GraphName", "JudgeDraft", "RAGConfig", "RAGInput", "RAGNodes", "RAGOutput",
    "RAGState", "adaptive_settings", "build_agentic_graph", "build_graph", "build_research_graph", "build_traditional_graph", "default_research_budget", "looks_single_hop",
    "multi_hop_signs", "node", "state_serializer", "with_state_types",
]
