"""The knowledge base: documents chunked, embedded and searched densely, by keyword or both.

:class:`KnowledgeBase` holds one lock over parts that each do one thing (planning an indexing call,
embedding, the FAISS and BM25 indexes, fusing rankings, chunk lookup, persistence), so searches
see a consistent state and writes are serialised.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from agentic_rag.errors import ConfigurationError
from agentic_rag.evidence import Evidence
from agentic_rag.tools import store
from agentic_rag.tools.chunk_table import ChunkTable, chunk_evidence
from agentic_rag.tools.chunking import DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_SIZE, chunker_for
from agentic_rag.tools.dense_index import DenseIndex
from agentic_rag.tools.embedding_batches import Progress, embed_query, embed_texts, embedding_text, probe_dimension
from agentic_rag.tools.embeddings import embedding_model_id as _model_id_of
from agentic_rag.tools.hybrid_search import SearchMode, check_search, ranked_hits
from agentic_rag.tools.indexing import IndexPlan, IndexReport, TextRecord, plan_files, plan_texts
from agentic_rag.tools.keyword_index import LazyKeywordIndex
from agentic_rag.tools.loaders import scan_paths
from agentic_rag.tools.source_filter import (
    check_fields_known, filter_patterns, metadata_conditions, metadata_matches, source_predicate,
)
from agentic_rag.tools.store import SourceRecord

__all__ = ["KnowledgeBase", "IndexReport", "SearchMode", "Progress"]

logger = logging.getLogger(__name__)

PathsLike = str | os.PathLike[str] | Iterable[str | os.PathLike[str]]


class KnowledgeBase:
    """Chunks of documents with a dense (FAISS) and a keyword (BM25) index, saved without pickle.

    Chunk ids are ``"<source>#<n>"``. Safe for concurrent searches; writes are serialised.
    """

    hybrid = True  # searched by meaning and keywords (the search tool tells the model so)

    def __init__(
        self,
        embeddings: Embeddings,
        *,
        embedding_model_id: str | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        chunk_overlap: int = DEFAULT_CHUNK_OVERLAP,
        batch_size: int = 128,
        max_tokens: int | None = None,
    ) -> None:
        """``max_tokens`` caps a chunk in the embedding model's tokens; by default it is what the model
        reads (its maximum sequence length), where the model's tokenizer is known."""
        if batch_size < 1:
            raise ConfigurationError(f"batch_size must be positive, got {batch_size}")
        self._embeddings = embeddings
        self._model_id = embedding_model_id or _model_id_of(embeddings)
        self._chunker = chunker_for(embeddings, chunk_size, chunk_overlap, max_tokens)
        self._batch_size = batch_size
        self._lock = threading.RLock()
        self._dense = DenseIndex()
        self._table = ChunkTable()
        self._keyword = LazyKeywordIndex(lambda: {vid: embedding_text(c) for vid, c in self._table.items()})
        self._files: dict[str, SourceRecord] = {}
        self._texts: dict[str, SourceRecord] = {}
        self._roots: list[str] = []
        self._prefixes: dict[str, str] = {}  # folder indexed -> the prefix of its files' source names

    # -- construction ----------------------------------------------------------------------------

    @classmethod
    def from_paths(
        cls, paths: PathsLike, embeddings: Embeddings, *, progress: Progress | None = None, **kwargs: Any
    ) -> KnowledgeBase:
        """A knowledge base holding the documents under ``paths`` (see :meth:`index_paths`)."""
        kb = cls(embeddings, **kwargs)
        report = kb.index_paths(paths, progress=progress)
        if not len(kb):
            logger.warning("no documents indexed from %s", paths)
        for path, reason in report.skipped:
            logger.warning("skipped %s: %s", path, reason)
        return kb

    @classmethod
    def load(
        cls,
        directory: str | os.PathLike[str],
        embeddings: Embeddings,
        *,
        embedding_model_id: str | None = None,
        batch_size: int = 128,
    ) -> KnowledgeBase:
        """Load a knowledge base saved with :meth:`save`.

        Raises :class:`EmbeddingMismatchError` if ``embeddings`` is not the model the index was built
        with (by id or dimension), :class:`KnowledgeBaseError` if the directory is missing or corrupt.
        """
        manifest = store.read_manifest(directory)
        model_id = embedding_model_id or _model_id_of(embeddings)
        kb = cls(
            embeddings,
            embedding_model_id=model_id,
            chunk_size=int(manifest["chunking"]["chunk_size"]),
            chunk_overlap=int(manifest["chunking"]["chunk_overlap"]),
            batch_size=batch_size,
            max_tokens=manifest["chunking"].get("max_tokens"),
        )
        store.check_embeddings(manifest, directory, model_id, partial(probe_dimension, embeddings))
        snapshot = store.load_snapshot(directory, manifest)
        kb._dense = DenseIndex(snapshot.index, snapshot.dimension)
        for vid, chunk in sorted(snapshot.chunks, key=lambda pair: (pair[1].source, pair[1].number)):
            kb._table.add(vid, chunk)
        kb._files, kb._texts, kb._roots = snapshot.files, snapshot.texts, list(snapshot.roots)
        kb._prefixes = dict(snapshot.prefixes)
        logger.info("loaded %d chunks from %s", len(kb), directory)
        return kb

    # -- properties ------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._table)

    def __contains__(self, chunk_id: object) -> bool:
        return chunk_id in self._table

    def __repr__(self) -> str:
        return f"KnowledgeBase({len(self)} chunks, {len(self.sources)} sources, model={self._model_id!r})"

    @property
    def sources(self) -> list[str]:
        """The sources of the indexed documents, sorted."""
        return sorted(self._table.sources)

    @property
    def files(self) -> dict[str, str]:
        """Indexed files: source key -> SHA-256 of the content that was indexed."""
        return {key: record.hash for key, record in sorted(self._files.items())}

    @property
    def embedding_model_id(self) -> str:
        """The id of the embedding model the vectors come from."""
        return self._model_id

    @property
    def dimension(self) -> int | None:
        """The vector dimension, once something has been embedded or loaded."""
        return self._dense.dimension

    @property
    def chunk_size(self) -> int:
        """Maximum characters per chunk."""
        return self._chunker.chunk_size

    @property
    def chunk_overlap(self) -> int:
        """Characters shared by consecutive chunks, at most."""
        return self._chunker.chunk_overlap

    # -- indexing --------------------------------------------------------------------------------

    def index_paths(
        self, paths: PathsLike, progress: Progress | None = None, *, follow_symlinks: bool = False,
        reading: Progress | None = None,
    ) -> IndexReport:
        """Index files and folders incrementally.

        Files whose content hash is unchanged are not re-embedded; changed files are re-chunked and
        re-embedded; files indexed from a folder given here that are gone (or no longer loadable)
        are dropped. ``reading(done, total)`` is called as files are read and parsed, ``progress(done,
        total)`` as chunks are embedded. A symbolic link in a
        folder that points outside the folders given is skipped unless ``follow_symlinks``.
        """
        with self._lock:
            scan = scan_paths(paths, known_roots=self._roots, skip_dir=store.is_store_dir,
                              follow_symlinks=follow_symlinks, known_prefixes=self._prefixes)
            plan = plan_files(scan, self._files, self._texts, self._chunker, reading)
            self._apply(plan, self._files, progress)
            for root in scan.roots:
                if root not in self._roots:
                    self._roots.append(root)
                self._prefixes.setdefault(root, scan.prefixes.get(root, ""))
        logger.info("indexed %s: %s", paths, plan.report.summary())
        return plan.report

    def add_texts(self, records: Iterable[TextRecord], progress: Progress | None = None) -> IndexReport:
        """Index ``(source, text[, title])`` records that are not files; embeds in batches.

        A source added again with the same text and title is left alone; with other text it is
        replaced. Empty texts are skipped (an earlier version of that source is dropped).
        """
        with self._lock:
            plan = plan_texts(records, self._files, self._texts, self._chunker)
            self._apply(plan, self._texts, progress)
        logger.info("add_texts: %s", plan.report.summary())
        return plan.report

    def remove(self, source: str) -> int:
        """Drop a file or ``add_texts`` source; returns the number of chunks removed (0 if unknown)."""
        with self._lock:
            for records in (self._files, self._texts):
                if source in records:
                    removed = len(records[source].chunks)
                    self._drop(records.pop(source))
                    return removed
        return 0

    def _apply(self, plan: IndexPlan, records: dict[str, SourceRecord], progress: Progress | None) -> None:
        report = plan.report
        chunks = [chunk for item in plan.pending for chunk in item.chunks]
        vectors = embed_texts(  # before any change
            self._embeddings,
            [embedding_text(c) for c in chunks],
            batch_size=self._batch_size,
            dimension=self._dense.dimension,
            model_id=self._model_id,
            progress=progress,
        )
        for key in plan.drop:
            self._drop(records.pop(key))
            report.removed.append(key)
        for item in plan.pending:
            if item.key in records:
                self._drop(records.pop(item.key))
            records[item.key] = item.record
            (report.updated if item.update else report.added).append(item.key)
        if chunks:
            vids = self._table.new_ids(len(chunks))
            self._dense.add(vectors, vids)
            for vid, chunk in zip(vids.tolist(), chunks):
                self._table.add(vid, chunk)
        if chunks or plan.drop:
            self._keyword.reset()
        report.embedded = len(chunks)
        report.chunks = len(self._table)

    def _drop(self, record: SourceRecord) -> None:
        self._dense.remove(self._table.drop(record.chunks))
        self._keyword.reset()

    # -- search ----------------------------------------------------------------------------------

    def search(
        self,
        query: str,
        k: int = 5,
        mode: SearchMode = "hybrid",
        sources: str | Iterable[str] | None = None,
        filters: Mapping[str, Any] | None = None,
    ) -> list[Evidence]:
        """The ``k`` best chunks for ``query``, best first.

        ``mode``: ``"dense"`` (cosine similarity), ``"keyword"`` (BM25) or ``"hybrid"`` (reciprocal rank
        fusion of both; the score is the fused score). ``sources`` keeps only chunks whose source
        equals one of the names given or lies under it (``"docs"`` matches ``"docs/a.md"``,
        ``"data.jsonl"`` matches its records ``"data.jsonl#3"``).

        ``filters`` is the :class:`~agentic_rag.tools.retriever.Retriever` form of a restriction:
        ``"source"`` takes a name or prefix as for ``sources``, or a glob such as ``"guides/*.md"`` (or
        a list of them); any other key is a metadata field the chunk's document must have with that
        value (see :mod:`~agentic_rag.tools.source_filter`). A chunk must pass both ``sources`` and ``filters``.
        """
        check_search(query, k, mode)
        patterns = filter_patterns(filters)
        conditions = metadata_conditions(filters)
        keep_chunk = (lambda chunk: metadata_matches(chunk.metadata, conditions)) if conditions else None
        query_vector = self._embed_query(query) if mode != "keyword" and len(self) else None
        with self._lock:
            if not len(self._table):
                if conditions:
                    check_fields_known(conditions, ())
                return []
            keep = source_predicate(sources, patterns)
            allowed = None if keep is None and keep_chunk is None else self._table.vids_where(keep, keep_chunk)
            if allowed is not None and not allowed.size:
                if conditions:
                    check_fields_known(conditions, {key for _, chunk in self._table.items() for key in chunk.metadata})
                return []
            hits = ranked_hits(
                mode,
                k,
                dense=lambda n: self._dense.search(query_vector, n, allowed),
                keyword=lambda n: self._keyword.search(query, n, allowed),
            )
            return [chunk_evidence(self._table[vid], score) for vid, score in hits]

    def _embed_query(self, query: str) -> np.ndarray:
        return embed_query(self._embeddings, query, dimension=self._dense.dimension, model_id=self._model_id)

    # -- lookup ----------------------------------------------------------------------------------

    def get(self, chunk_id: str) -> Evidence:
        """The chunk with id ``chunk_id`` (``"<source>#<n>"``); unknown ids raise :class:`RetrievalError`."""
        with self._lock:
            return chunk_evidence(self._table.chunk(chunk_id), None)

    def neighbours(self, chunk_id: str, window: int = 1) -> list[Evidence]:
        """The chunk with up to ``window`` chunks before and after it in the same source, in order."""
        if not isinstance(window, int) or window < 0:
            raise ConfigurationError(f"window must be a non-negative integer, got {window!r}")
        with self._lock:
            return [chunk_evidence(chunk, None) for chunk in self._table.neighbours(chunk_id, window)]

    # -- persistence -----------------------------------------------------------------------------

    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Save to ``directory`` atomically (see :mod:`agentic_rag.tools.store`); returns the directory."""
        with self._lock:
            if self._dense.faiss_index is None:
                self._dense.ensure(probe_dimension(self._embeddings))
            snapshot = store.Snapshot(
                model_id=self._model_id,
                dimension=int(self._dense.dimension or 0),
                chunk_size=self.chunk_size,
                chunk_overlap=self.chunk_overlap,
                index=self._dense.faiss_index,
                chunks=sorted(self._table.items()),
                files=self._files,
                texts=self._texts,
                roots=self._roots,
                prefixes=self._prefixes,
                max_tokens=self._chunker.max_tokens,
            )
            return store.save_snapshot(directory, snapshot)
