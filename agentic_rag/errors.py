"""The exception tree of agentic-rag.

Everything the library raises on purpose derives from :class:`AgenticRAGError`, so an
application can catch one type. Subclasses say which part failed.
"""

from __future__ import annotations

__all__ = [
    "ThreadStoreError",
    "AgenticRAGError",
    "ConfigurationError",
    "KnowledgeBaseError",
    "EmbeddingMismatchError",
    "RetrievalError",
    "ModelError",
    "ModelNotFoundError",
    "ModelDownloadError",
    "MissingDependencyError",
]


class AgenticRAGError(Exception):
    """Base class of every error agentic-rag raises on purpose."""


class ConfigurationError(AgenticRAGError, ValueError):
    """A setting or argument is invalid (empty question, negative budget, unknown graph...)."""


class KnowledgeBaseError(AgenticRAGError):
    """The knowledge base cannot be built, saved or loaded."""


class EmbeddingMismatchError(KnowledgeBaseError):
    """An index is used with an embedding model other than the one it was built with."""


class ThreadStoreError(AgenticRAGError):
    """The threads database cannot be opened or read (corrupt, or not a threads database)."""


class RetrievalError(AgenticRAGError):
    """A retrieval tool failed."""


class ModelError(AgenticRAGError):
    """A chat model could not be resolved, loaded or called."""


class ModelNotFoundError(ModelError):
    """A model name is unknown, or its file is not on disk."""


class ModelDownloadError(ModelError):
    """Model weights could not be fetched or failed verification."""


class MissingDependencyError(AgenticRAGError, ImportError):
    """An optional dependency is not installed; the message says which extra to install."""


def require(module: str, extra: str):
    """Import ``module`` or raise :class:`MissingDependencyError` naming the extra that provides it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(
            f"'{module}' is not installed; install it with: pip install 'agentic-rag[{extra}]'"
        ) from exc
