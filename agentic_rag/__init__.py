"""agentic-rag: an agent that plans searches, judges evidence, refines queries and answers with checked citations."""

from .agent.agent import Agent
from .answer import Answer, Citation, ExitReason, Step, Usage
from .errors import (
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
from .evidence import Evidence
from .graphs import Budget, build_agentic_graph, build_traditional_graph
from .tools.embeddings import default_embeddings
from .tools.knowledge_base import KnowledgeBase
from .tools.retrieval import retrieval_tools
from .tools.retriever import Retriever

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
