"""The pooled corpus of a dataset file: every paragraph of every question in one knowledge base.

Each distinct paragraph (same title and same text, whitespace aside) is one document whose source
is its title; a title that occurs with different texts gets ``"<title> (2)"``, ``"<title> (3)"``...
for the later texts, in file order. The knowledge base is built once per dataset file content,
format, embedding model and chunking, and reused from ``<cache dir>/<file stem>-<hash>/``::

    index/          the knowledge base (see agentic_rag.tools.store; no pickle)
    corpus.json     what it was built from, counts, and how long the build took (written last)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings

from agentic_rag._files import write_json_atomic
from agentic_rag._hashing import file_sha256
from agentic_rag.errors import KnowledgeBaseError
from agentic_rag.tools.embeddings import embedding_model_id
from agentic_rag.tools.knowledge_base import KnowledgeBase
from agentic_rag.tools.retriever import Retriever

from agentic_rag.eval.datasets import Dataset, Paragraph, QAExample

__all__ = [
    "CORPUS_VERSION",
    "DEFAULT_CACHE_DIR",
    "DEFAULT_CHUNK_OVERLAP",
    "DEFAULT_CHUNK_SIZE",
    "CorpusDocument",
    "PooledCorpus",
    "corpus_directory",
    "file_sha256",
    "load_or_build_corpus",
    "pool_paragraphs",
]

logger = logging.getLogger(__name__)

CORPUS_VERSION = 1
CORPUS_FORMAT = "agentic-rag/eval-corpus"
DEFAULT_CACHE_DIR = Path(".agentic-rag/eval-corpora")
# Large enough that nearly every Wikipedia paragraph of these datasets is a single chunk
# (p99 is about 1,700 characters), so a retrieved chunk is a retrieved paragraph.
DEFAULT_CHUNK_SIZE = 2000
DEFAULT_CHUNK_OVERLAP = 200
_META = "corpus.json"


@dataclass(frozen=True, slots=True)
class CorpusDocument:
    """One distinct paragraph of the pool and the source name it is indexed under."""

    source: str
    title: str
    text: str


def _key(title: str, text: str) -> tuple[str, str]:
    return " ".join(title.split()), " ".join(text.split())


def pool_paragraphs(examples: Iterable[QAExample]) -> list[CorpusDocument]:
    """The distinct paragraphs of ``examples`` in order of first appearance, with unique source names."""
    examples = list(examples)
    titles = {p.title for e in examples for p in e.paragraphs}
    documents: list[CorpusDocument] = []
    seen: set[tuple[str, str]] = set()
    used: set[str] = set()
    for example in examples:
        for paragraph in example.paragraphs:
            key = _key(paragraph.title, paragraph.text)
            if key in seen:
                continue
            seen.add(key)
            source, n = paragraph.title, 1
            while source in used or (n > 1 and source in titles):
                n += 1
                source = f"{paragraph.title} ({n})"
            used.add(source)
            documents.append(CorpusDocument(source, paragraph.title, paragraph.text))
    return documents


@dataclass
class PooledCorpus:
    """A dataset's pooled knowledge base and the map from paragraphs to source names."""

    kb: Retriever
    documents: list[CorpusDocument]
    directory: Path
    build_seconds: float
    reused: bool

    def __post_init__(self) -> None:
        self._sources = {_key(d.title, d.text): d.source for d in self.documents}

    def source_of(self, paragraph: Paragraph) -> str:
        """The source name ``paragraph`` is indexed under (``KeyError`` if it is not in the pool)."""
        return self._sources[_key(paragraph.title, paragraph.text)]

    def gold_sources(self, example: QAExample) -> list[str]:
        """Source names of the gold supporting paragraphs of ``example``."""
        return list(dict.fromkeys(self.source_of(p) for p in example.supporting))


def _documents_hash(documents: list[CorpusDocument]) -> str:
    digest = hashlib.sha256()
    for d in documents:
        digest.update(json.dumps([d.source, d.title, d.text], ensure_ascii=False).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def _postgres_corpus(store: str, embeddings: Embeddings, documents: list[CorpusDocument], directory: Path,
                     chunk_size: int, chunk_overlap: int, progress: Callable[[int, int], None] | None) -> PooledCorpus:
    from agentic_rag.tools.postgres_store import PostgresKnowledgeBase

    started = time.perf_counter()
    kb = PostgresKnowledgeBase(store, embeddings, chunk_size=chunk_size, chunk_overlap=chunk_overlap)
    report = kb.add_texts(((d.source, d.text, d.title) for d in documents), progress=progress)
    for source, reason in report.skipped:
        logger.warning("pooled corpus: skipped %s: %s", source, reason)
    logger.info("pooled corpus in %s: %s", kb.name, report.summary())
    return PooledCorpus(kb, documents, directory, time.perf_counter() - started, not (report.added or report.updated))


def corpus_directory(
    dataset: Dataset, model_id: str, *, cache_dir: str | os.PathLike[str] = DEFAULT_CACHE_DIR,
    chunk_size: int = DEFAULT_CHUNK_SIZE, chunk_overlap: int = DEFAULT_CHUNK_OVERLAP,
) -> Path:
    """Where the pooled corpus of ``dataset`` for this embedding model and chunking is cached."""
    identity = json.dumps(
        [CORPUS_VERSION, file_sha256(dataset.path), dataset.format.value, model_id, chunk_size, chunk_overlap]
    )
    digest = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:12]
    return Path(cache_dir) / f"{dataset.path.stem}-{digest}"


def _read_meta(directory: Path) -> dict[str, Any] | None:
    try:
        meta = json.loads((directory / _META).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) and meta.get("format") == CORPUS_FORMAT else None


def _write_meta(directory: Path, meta: dict[str, Any]) -> None:
    write_json_atomic(directory / _META, meta)


def load_or_build_corpus(
    dataset: Dataset,
    embeddings: Embeddings,
    *,
    cache_dir: str | os.PathLike[str] = DEFAULT_CACHE_DIR,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    chunk_overlap: int = DEFAULT_CHUNK_OVERLAP,
    rebuild: bool = False,
    progress: Callable[[int, int], None] | None = None,
    store: str | None = None,
) -> PooledCorpus:
    """The pooled corpus of ``dataset``: loaded from the cache when it is there and intact, else built and saved.

    With ``store`` (a ``postgresql://`` URL) the corpus is indexed into that Postgres store instead,
    incrementally: paragraphs already there are not embedded again. ``progress(done, total)`` is
    called while chunks are embedded. Raises :class:`~agentic_rag.errors.KnowledgeBaseError` when
    building or saving fails.
    """
    model_id = embedding_model_id(embeddings)
    documents = pool_paragraphs(dataset.examples)
    directory = corpus_directory(
        dataset, model_id, cache_dir=cache_dir, chunk_size=chunk_size, chunk_overlap=chunk_overlap
    )
    if store is not None:
        return _postgres_corpus(store, embeddings, documents, directory, chunk_size, chunk_overlap, progress)
    documents_hash = _documents_hash(documents)
    meta = None if rebuild else _read_meta(directory)
    if meta is not None and meta.get("documents_sha256") == documents_hash:
        try:
            kb = KnowledgeBase.load(directory / "index", embeddings)
        except KnowledgeBaseError as exc:
            logger.warning("cached corpus at %s cannot be loaded (%s); rebuilding", directory, exc)
        else:
            if len(kb) == meta.get("chunks"):
                logger.info("reusing pooled corpus %s (%d documents)", directory, len(documents))
                return PooledCorpus(kb, documents, directory, float(meta.get("build_seconds", 0.0)), True)
            logger.warning("cached corpus at %s holds %d chunks, expected %s; rebuilding", directory, len(kb), meta.get("chunks"))
    logger.info("building pooled corpus of %s: %d documents", dataset.path.name, len(documents))
    started = time.perf_counter()
    kb = KnowledgeBase(embeddings, chunk_size=chunk_size, chunk_overlap=chunk_overlap)
    report = kb.add_texts(((d.source, d.text, d.title) for d in documents), progress=progress)
    for source, reason in report.skipped:
        logger.warning("pooled corpus: skipped %s: %s", source, reason)
    build_seconds = time.perf_counter() - started
    try:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / _META).unlink(missing_ok=True)
    except OSError as exc:
        raise KnowledgeBaseError(f"cannot write the pooled corpus to {directory}: {exc}") from exc
    kb.save(directory / "index")
    try:
        _write_meta(directory, {
            "format": CORPUS_FORMAT,
            "version": CORPUS_VERSION,
            "dataset": dataset.path.name,
            "dataset_sha256": file_sha256(dataset.path),
            "dataset_format": dataset.format.value,
            "embedding_model": model_id,
            "chunk_size": chunk_size,
            "chunk_overlap": chunk_overlap,
            "documents": len(documents),
            "documents_sha256": documents_hash,
            "chunks": len(kb),
            "build_seconds": round(build_seconds, 3),
            "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        })
    except OSError as exc:
        raise KnowledgeBaseError(f"cannot write the pooled corpus to {directory}: {exc}") from exc
    logger.info("built pooled corpus %s: %d documents, %d chunks in %.1f s", directory, len(documents), len(kb), build_seconds)
    return PooledCorpus(kb, documents, directory, build_seconds, False)
