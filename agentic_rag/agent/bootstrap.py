"""Opening the knowledge base that a command, a server or LangGraph Studio works over."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from agentic_rag.errors import ConfigurationError
from agentic_rag.tools.store import MANIFEST_NAME

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

    from agentic_rag.tools.knowledge_base import KnowledgeBase

__all__ = ["open_knowledge_base"]


def open_knowledge_base(
    index_dir: str | os.PathLike[str], embeddings: Embeddings | None = None, *, hint: str | None = None
) -> KnowledgeBase:
    """The knowledge base saved in ``index_dir``; :class:`ConfigurationError` if none is there.

    ``embeddings`` default to :func:`default_embeddings`, created only once the index is found.
    ``hint`` is what the error suggests doing; by default the command that builds the index.
    """
    index_dir = Path(index_dir)
    if not (index_dir / MANIFEST_NAME).exists():
        hint = hint or f"build one with: agentic-rag index PATH --index {index_dir}"
        raise ConfigurationError(f"no index at {index_dir}; {hint}")
    from agentic_rag.tools.embeddings import default_embeddings
    from agentic_rag.tools.knowledge_base import KnowledgeBase

    return KnowledgeBase.load(index_dir, embeddings if embeddings is not None else default_embeddings())
