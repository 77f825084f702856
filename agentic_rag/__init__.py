"""agentic-rag: an agent that plans searches, judges evidence, refines queries and answers with checked citations."""

from agentic_rag.agent.agent import Agent
from agentic_rag.answer import Answer, Citation, ExitReason, Step, Usage
from agentic_rag.errors import (
    AgenticRAGError,
    ConfigurationError,
    EmbeddingMismatchError,
    KnowledgeBaseError,
    MissingDependencyError,
    ModelDownloadError,
    ModelError,
    ModelNotFoundError,
    RetrievalError,
)
from agentic_rag.evidence import Evidence
from agentic_rag.graphs import Budget, build_agentic_graph, build_traditional_graph
from agentic_rag.tools.embeddings import default_embeddings
from agentic_rag.tools.knowledge_base import KnowledgeBase
from agentic_rag.tools.retrieval import retrieval_tools
from agentic_rag.tools.retriever import Retriever

__all__ = [
    "Agent",
    "AgenticRAGError",
    "Answer",
    "Budget",
    "Citation",
    "ConfigurationError",
    "EmbeddingMismatchError",
    "Evidence",
    "ExitReason",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "MissingDependencyError",
    "ModelDownloadError",
    "ModelError",
    "ModelNotFoundError",
    "RetrievalError",
    "Retriever",
    "Step",
    "Usage",
    "build_agentic_graph",
    "build_traditional_graph",
    "default_embeddings",
    "retrieval_tools",
]

__version__ = "0.1.0"
