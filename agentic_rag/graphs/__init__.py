"""The two LangGraph graphs, built by factories from the same nodes."""

from .adaptive import ADAPTIVE_MODES, adaptive_settings
from .agentic import build_agentic_graph
from .budget import Budget
from .nodes import RAGNodes
from .question_shape import looks_single_hop, multi_hop_signs
from .state import RAGInput, RAGOutput, RAGState
from .traditional import build_traditional_graph

__all__ = [
    "ADAPTIVE_MODES", "adaptive_settings", "Budget", "RAGInput", "RAGNodes", "RAGOutput", "RAGState", "build_agentic_graph", "build_traditional_graph",
    "looks_single_hop", "multi_hop_signs"]
