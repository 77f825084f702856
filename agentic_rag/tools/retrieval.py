"""The built-in retrieval tools over a knowledge base."""

from __future__ import annotations

from typing import TYPE_CHECKING

from langchain_core.tools import BaseTool, StructuredTool

from ..evidence import Evidence

if TYPE_CHECKING:
    from .knowledge_base import KnowledgeBase

__all__ = ["retrieval_tools", "SEARCH_TOOL"]

SEARCH_TOOL = "search_knowledge_base"


def retrieval_tools(kb: KnowledgeBase, *, k: int = 4) -> list[BaseTool]:
    """``search_knowledge_base`` (hybrid), ``keyword_search`` and ``read_chunk`` bound to ``kb``."""

    def search_knowledge_base(query: str, k: int = k) -> list[Evidence]:
        """Search the documents by meaning and keywords. Best for most questions."""
        return kb.search(query, k=k, mode="hybrid")

    def keyword_search(query: str, k: int = k) -> list[Evidence]:
        """Exact-word search, only for codes, identifiers or error messages."""
        return kb.search(query, k=k, mode="keyword")

    def read_chunk(chunk_id: str, window: int = 1) -> list[Evidence]:
        """Read a passage by its id, with the passages just before and after it."""
        return kb.neighbours(chunk_id, window=window)

    return [
        StructuredTool.from_function(search_knowledge_base),
        StructuredTool.from_function(keyword_search),
        StructuredTool.from_function(read_chunk),
    ]
