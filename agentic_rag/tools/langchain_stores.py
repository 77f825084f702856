"""Any LangChain vector store or retriever as the agent's knowledge source, through the ``Retriever`` protocol.

Each returned Document stays its own piece of evidence: its id is the document's id (or its
source and a hash of its text), its source ``metadata["source"]`` (or the store's name), its score
the store's where it gives one, and its metadata kept. A store that fails to search raises a
:class:`~agentic_rag.errors.RetrievalError` that names it, which the run reports; it never turns
into a quiet "cannot answer". These stores are searched by meaning only: the knowledge base's
keyword side (BM25) is not there, and the agent gets no ``keyword_search`` tool for them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from langchain_core.retrievers import BaseRetriever
from langchain_core.vectorstores import VectorStore

from agentic_rag.errors import ConfigurationError, RetrievalError
from agentic_rag.evidence import Evidence
from agentic_rag.tools.adapters import document_evidence
from agentic_rag.tools.retriever import Retriever
from agentic_rag.tools.source_filter import check_fields_known, filter_patterns, metadata_conditions, metadata_matches, source_predicate

__all__ = ["DocumentRetriever", "VectorStoreSource", "as_retriever"]

_OVERFETCH = 4  # with filters applied after the search, ask the store for this many times k


def _matches(item: Evidence, filters: Mapping[str, Any] | None) -> bool:
    """``source`` as for the knowledge base (name, path prefix or glob, or a list); other keys as metadata equality."""
    if not filters:
        return True
    if not isinstance(filters, Mapping):
        raise ConfigurationError(f"search filters must be a mapping, got {type(filters).__name__}")
    if "source" in filters:
        test = source_predicate(None, filter_patterns({"source": filters["source"]}))
        if test is not None and not test(item.source):
            return False
    return metadata_matches(item.metadata, metadata_conditions(filters))


class _DocumentSource:
    """What both adapters share: the documents seen so far (for ``neighbours``), filters, errors."""

    name: str  # the source of documents that name none
    label: str = ""  # how errors name the store, when not by ``name``
    hybrid = False  # searched by meaning only: the tools say so to the model

    def __init__(self) -> None:
        self._seen: dict[str, Evidence] = {}

    def _fetch(self, query: str, k: int) -> list[Evidence]:
        raise NotImplementedError

    async def _afetch(self, query: str, k: int) -> list[Evidence]:
        raise NotImplementedError

    def search(self, query: str, k: int = 4, *, filters: Mapping[str, Any] | None = None) -> list[Evidence]:
        """The ``k`` best documents for ``query``; ``filters`` applied to what the store returns.

        A metadata field that none of the returned documents has is a :class:`ConfigurationError`
        listing the fields they have: a misspelt filter would otherwise find nothing, silently. A
        store with only an async search is searched on a loop of its own (sync runs search in
        worker threads, which have none).
        """
        try:
            try:
                found = self._fetch(query, k * _OVERFETCH if filters else k)
            except NotImplementedError:
                found = asyncio.run(self._afetch(query, k * _OVERFETCH if filters else k))
        except Exception as exc:  # noqa: BLE001 - named and re-raised: the run reports it
            raise RetrievalError(f"the store {self.label or self.name} failed to search: {type(exc).__name__}: {exc}") from exc
        return self._kept(found, k, filters)

    async def asearch(self, query: str, k: int = 4, *, filters: Mapping[str, Any] | None = None) -> list[Evidence]:
        """:meth:`search` through the store's async API (LangChain runs a sync-only store's in a thread)."""
        try:
            found = await self._afetch(query, k * _OVERFETCH if filters else k)
        except Exception as exc:  # noqa: BLE001 - named and re-raised: the run reports it
            raise RetrievalError(f"the store {self.label or self.name} failed to search: {type(exc).__name__}: {exc}") from exc
        return self._kept(found, k, filters)

    def _kept(self, found: list[Evidence], k: int, filters: Mapping[str, Any] | None) -> list[Evidence]:
        conditions = metadata_conditions(filters) if isinstance(filters, Mapping) else {}
        if found and conditions:  # a field none of them has is a typo, not a wish for nothing
            check_fields_known(conditions, {key for item in found for key in item.metadata},
                               holders=f"none of the {len(found)} documents the store {self.name} returned")
        found = [item for item in found if _matches(item, filters)][:k]
        self._seen.update((item.id, item) for item in found)
        return found

    def neighbours(self, evidence_id: str, /, window: int = 1) -> list[Evidence]:
        """The document itself: a generic store has no order of passages to read around it."""
        item = self._seen.get(evidence_id)
        return [item] if item is not None else []


class VectorStoreSource(_DocumentSource):
    """A LangChain :class:`VectorStore` (InMemoryVectorStore, Chroma, PGVector, ...) as a retriever."""

    def __init__(self, store: VectorStore, *, name: str | None = None) -> None:
        super().__init__()
        self.store = store
        self.name = name or type(store).__name__

    def _fetch(self, query: str, k: int) -> list[Evidence]:
        try:
            pairs = self.store.similarity_search_with_score(query, k=k)
        except NotImplementedError:
            return [document_evidence(doc, self.name) for doc in self.store.similarity_search(query, k=k)]
        return [document_evidence(doc, self.name, score=float(score)) for doc, score in pairs]

    async def _afetch(self, query: str, k: int) -> list[Evidence]:
        try:
            pairs = await self.store.asimilarity_search_with_score(query, k=k)
        except NotImplementedError:
            return [document_evidence(doc, self.name) for doc in await self.store.asimilarity_search(query, k=k)]
        return [document_evidence(doc, self.name, score=float(score)) for doc, score in pairs]


class DocumentRetriever(_DocumentSource):
    """A LangChain :class:`BaseRetriever` as a retriever; ``k`` cuts what it returns (set its own k too)."""

    def __init__(self, retriever: BaseRetriever, *, name: str | None = None) -> None:
        super().__init__()
        self.retriever = retriever
        self.name = name or type(retriever).__name__
        store = getattr(retriever, "vectorstore", None)  # as_retriever(): errors name the store behind it
        if store is not None:
            self.label = f"{type(store).__name__} (through {self.name})"

    def _fetch(self, query: str, k: int) -> list[Evidence]:
        return [document_evidence(doc, self.name) for doc in self.retriever.invoke(query)[:k]]

    async def _afetch(self, query: str, k: int) -> list[Evidence]:
        return [document_evidence(doc, self.name) for doc in (await self.retriever.ainvoke(query))[:k]]


def as_retriever(source: Any) -> Retriever:
    """``source`` as a :class:`Retriever`: a knowledge base or any retriever as is, a LangChain store adapted."""
    if isinstance(source, Retriever):
        return source
    if isinstance(source, VectorStore):
        return VectorStoreSource(source)
    if isinstance(source, BaseRetriever):
        return DocumentRetriever(source)
    raise ConfigurationError(
        f"knowledge_base must be a KnowledgeBase, a LangChain VectorStore or BaseRetriever, or have "
        f"search() and neighbours() methods; got {type(source).__name__}"
    )
