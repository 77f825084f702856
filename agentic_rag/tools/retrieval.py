"""The built-in retrieval tools over a retriever: the knowledge base or any other :class:`Retriever`."""

from __future__ import annotations

import asyncio
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool

from agentic_rag.evidence import Evidence
from agentic_rag.tools.knowledge_base import KnowledgeBase
from agentic_rag.tools.retriever import Retriever

__all__ = ["retrieval_tools", "SEARCH_TOOL", "search_description", "with_gaps_filled"]

SEARCH_TOOL = "search_knowledge_base"


def retrieval_tools(retriever: Retriever, *, k: int = 4) -> list[BaseTool]:
    """``search_knowledge_base``, ``keyword_search`` and ``read_chunk`` bound to ``retriever``.

    On a :class:`KnowledgeBase` the search is hybrid. ``keyword_search`` needs the knowledge base's
    keyword mode, so other retrievers get only ``search_knowledge_base`` and ``read_chunk``.
    """

    def search_knowledge_base(query: str, k: int = k, filters: dict[str, Any] | None = None) -> list[Evidence]:
        return with_gaps_filled(retriever, retriever.search(query, k=k, filters=filters))

    async def asearch_knowledge_base(query: str, k: int = k, filters: dict[str, Any] | None = None) -> list[Evidence]:
        found = await retriever.asearch(query, k=k, filters=filters)  # type: ignore[attr-defined]
        return await asyncio.to_thread(with_gaps_filled, retriever, found)

    def read_chunk(chunk_id: str, window: int = 1) -> list[Evidence]:
        """Read a passage by its id, with the passages just before and after it."""
        return retriever.neighbours(chunk_id, window=window)

    search = StructuredTool.from_function(
        search_knowledge_base, name=SEARCH_TOOL, description=search_description(retriever),
        coroutine=asearch_knowledge_base if callable(getattr(retriever, "asearch", None)) else None,
    )
    tools: list[BaseTool] = [search]
    if isinstance(retriever, KnowledgeBase):
        tools.append(_keyword_search_tool(retriever, k))
    tools.append(StructuredTool.from_function(read_chunk))
    return tools


def search_description(retriever: Retriever) -> str:
    """What the search tool tells the model: hybrid stores are searched by meaning and keywords, others by meaning."""
    hybrid = getattr(retriever, "hybrid", None)
    if hybrid is None:
        return "Search the documents. Best for most questions."
    return f"Search the documents by {'meaning and keywords' if hybrid else 'meaning'}. Best for most questions."


def with_gaps_filled(retriever: Retriever, found: list[Evidence]) -> list[Evidence]:
    """``found`` and, where it holds chunks ``n`` and ``n + 2`` of one source but not ``n + 1``, that chunk too.

    A procedure or a list often spans three chunks whose middle one shares few words with the
    question (the steps themselves); the chunks around it are found, so it is read as well. No
    model call; a retriever that cannot fetch a chunk by id is left as it is.
    """
    numbers: dict[str, set[int]] = {}
    for item in found:
        source, _, n = item.id.rpartition("#")
        if source and n.isdigit():
            numbers.setdefault(source, set()).add(int(n))
    seen = {item.id for item in found}
    gaps: list[Evidence] = []
    for source, taken in numbers.items():
        for n in sorted(taken):
            missing = f"{source}#{n + 1}"
            if n + 2 in taken and n + 1 not in taken and missing not in seen:
                try:
                    gaps.extend(e for e in retriever.neighbours(missing, window=0) if e.id == missing)
                except Exception:  # noqa: BLE001 - the search result stands without it
                    continue
                seen.add(missing)
    return [*found, *gaps]


def _keyword_search_tool(kb: KnowledgeBase, default_k: int) -> BaseTool:
    def keyword_search(query: str, k: int = default_k, filters: dict[str, Any] | None = None) -> list[Evidence]:
        """Exact-word search, only for codes, identifiers or error messages."""
        return kb.search(query, k=k, mode="keyword", filters=filters)

    return StructuredTool.from_function(keyword_search)
