"""The built-in retrieval tools over a retriever: the knowledge base or any other :class:`Retriever`."""

from __future__ import annotations

from langchain_core.tools import BaseTool, StructuredTool

from agentic_rag.evidence import Evidence
from agentic_rag.tools.knowledge_base import KnowledgeBase
from agentic_rag.tools.retriever import Retriever

__all__ = ["retrieval_tools", "SEARCH_TOOL"]

SEARCH_TOOL = "search_knowledge_base"


def retrieval_tools(retriever: Retriever, *, k: int = 4) -> list[BaseTool]:
    """``search_knowledge_base``, ``keyword_search`` and ``read_chunk`` bound to ``retriever``.

    On a :class:`KnowledgeBase` the search is hybrid. ``keyword_search`` needs the knowledge base's
    keyword mode, so other retrievers get only ``search_knowledge_base`` and ``read_chunk``.
    """

    def search_knowledge_base(query: str, k: int = k) -> list[Evidence]:
        """Search the documents by meaning and keywords. Best for most questions."""
        return retriever.search(query, k=k)

    def read_chunk(chunk_id: str, window: int = 1) -> list[Evidence]:
        """Read a passage by its id, with the passages just before and after it."""
        return retriever.neighbours(chunk_id, window=window)

    tools: list[BaseTool] = [StructuredTool.from_function(search_knowledge_base)]
    if isinstance(retriever, KnowledgeBase):
        tools.append(_keyword_search_tool(retriever, k))
    tools.append(StructuredTool.from_function(read_chunk))
    return tools


def _keyword_search_tool(kb: KnowledgeBase, default_k: int) -> BaseTool:
    def keyword_search(query: str, k: int = default_k) -> list[Evidence]:
        """Exact-word search, only for codes, identifiers or error messages."""
        return kb.search(query, k=k, mode="keyword")

    return StructuredTool.from_function(keyword_search)
