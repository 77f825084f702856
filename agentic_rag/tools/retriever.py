"""The interface the retrieval tools need from a retriever, so stores other than the knowledge base fit.

:class:`~agentic_rag.tools.knowledge_base.KnowledgeBase` satisfies it; so does any object with these
two methods (``isinstance(obj, Retriever)`` checks that they exist, not their signatures).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from agentic_rag.evidence import Evidence

__all__ = ["Retriever"]


@runtime_checkable
class Retriever(Protocol):
    """Searches passages and reads the passages around one.

    ``filters`` restricts a search; ``{"source": <name, path prefix or glob>}`` is the form the knowledge
    base supports, and a retriever should raise :class:`~agentic_rag.errors.ConfigurationError` for keys it
    does not know rather than ignore them. ``filters`` is keyword-only and the evidence id positional-only
    here, so implementations may add parameters of their own (the knowledge base's ``mode``) and name the
    id as they like.
    """

    def search(self, query: str, k: int = 4, *, filters: Mapping[str, Any] | None = None) -> list[Evidence]:
        """The ``k`` best passages for ``query``, best first."""
        ...

    def neighbours(self, evidence_id: str, /, window: int = 1) -> list[Evidence]:
        """The passage ``evidence_id`` with up to ``window`` passages before and after it, in order."""
        ...
