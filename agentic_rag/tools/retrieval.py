"""The built-in retrieval tools over a retriever: the knowledge base or any other :class:`Retriever`."""

from __future__ import annotations

import asyncio
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool

from agentic_rag.evidence import Evidence
from agentic_rag.tools.knowledge_base import KnowledgeBase
from agentic_rag.tools.retriever import Retriever

__all__ = ["retrieval_tools", "SEARCH_TOOL", "DEFAULT_READ_CHARS", "search_description", "read_sections"]

SEARCH_TOOL = "search_knowledge_base"
DEFAULT_READ_CHARS = 800
"""Characters of a section read around a match: what a prompt shows of a passage by default."""
_READ_WINDOW = 6  # chunks fetched on each side of a match to find its section's extent


def retrieval_tools(retriever: Retriever, *, k: int = 4, read_chars: int = DEFAULT_READ_CHARS) -> list[BaseTool]:
    """``search_knowledge_base``, ``keyword_search`` and ``read_chunk`` bound to ``retriever``.

    Each match of a search is read with its section around it, up to ``read_chars`` (:func:`read_sections`).

    On a :class:`KnowledgeBase` the search is hybrid. ``keyword_search`` needs the knowledge base's
    keyword mode, so other retrievers get only ``search_knowledge_base`` and ``read_chunk``.
    """

    def search_knowledge_base(query: str, k: int = k, filters: dict[str, Any] | None = None) -> list[Evidence]:
        return read_sections(retriever, retriever.search(query, k=k, filters=filters), read_chars)

    async def asearch_knowledge_base(query: str, k: int = k, filters: dict[str, Any] | None = None) -> list[Evidence]:
        found = await retriever.asearch(query, k=k, filters=filters)  # type: ignore[attr-defined]
        return await asyncio.to_thread(read_sections, retriever, found, read_chars)

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


def read_sections(retriever: Retriever, found: list[Evidence], max_chars: int = DEFAULT_READ_CHARS) -> list[Evidence]:
    """Each found chunk read together with the chunks of its section around it, up to ``max_chars``.

    Search matches small chunks, so that the embedding model reads all of each; the model reading
    the results gets the section around each match (the steps after a procedure's first line, the
    setting a paragraph's example needs): the following chunks first, then the ones before, while
    they share the match's source and section (its title) and fit. A chunk already read for an
    earlier match is not read again, so two matches in one section become one passage; a joined
    passage lists its chunks in ``Evidence.parts``. No model call; a retriever that cannot fetch
    neighbours leaves the match as it is.
    """
    covered: set[str] = set()
    read: list[Evidence] = []
    for hit in found:
        if hit.id in covered:
            continue
        try:
            around = retriever.neighbours(hit.id, window=_READ_WINDOW) if hit.span is not None else [hit]
        except Exception:  # noqa: BLE001 - the search result stands without its section
            around = [hit]
        position = next((i for i, e in enumerate(around) if e.id == hit.id), None)
        if position is None:
            covered.add(hit.id)
            read.append(hit)
            continue

        def joins(i: int) -> bool:
            e = around[i]
            return e.source == hit.source and e.title == hit.title and e.span is not None and e.id not in covered

        first = last = position
        size = len(hit.text)
        while True:
            grown = False
            for step in (1, -1):
                i = last + 1 if step == 1 else first - 1
                if 0 <= i < len(around) and joins(i) and size + len(around[i].text) <= max_chars:
                    size += len(around[i].text)
                    first, last = min(first, i), max(last, i)
                    grown = True
            if not grown:
                break
        parts = [hit if i == position else around[i] for i in range(first, last + 1)]
        covered.update(e.id for e in parts)
        read.append(_joined(hit, parts))
    return read


def _joined(hit: Evidence, parts: list[Evidence]) -> Evidence:
    """``hit`` with the text and span of consecutive chunks ``parts`` (overlaps counted once)."""
    if len(parts) == 1:
        return hit
    text, (start, end) = parts[0].text, parts[0].span or (0, 0)
    for part in parts[1:]:
        part_start, part_end = part.span or (end, end)
        if part_start >= end:
            gap = part_start - end
            text += (" " if gap == 1 else "\n" * gap) + part.text
        else:
            text += part.text[end - part_start:]
        end = max(end, part_end)
    return hit.model_copy(update={"text": text, "span": (start, end), "parts": tuple(p.id for p in parts)})


def _keyword_search_tool(kb: KnowledgeBase, default_k: int) -> BaseTool:
    def keyword_search(query: str, k: int = default_k, filters: dict[str, Any] | None = None) -> list[Evidence]:
        """Exact-word search, only for codes, identifiers or error messages."""
        return kb.search(query, k=k, mode="keyword", filters=filters)

    return StructuredTool.from_function(keyword_search)
