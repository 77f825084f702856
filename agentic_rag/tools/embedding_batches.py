"""Texts to L2-normalised float32 vectors through a LangChain embeddings object, in batches.

Provider failures and malformed output become library errors here, so the indexes only ever see
well-formed matrices of the dimension they hold.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import faiss
import numpy as np
from langchain_core.embeddings import Embeddings

from agentic_rag.errors import EmbeddingMismatchError, KnowledgeBaseError, RetrievalError
from agentic_rag.tools.chunking import Chunk

__all__ = ["Progress", "embedding_text", "embed_texts", "embed_query", "probe_dimension"]

Progress = Callable[[int, int], None]


def embedding_text(chunk: Chunk) -> str:
    """The text embedded and BM25-indexed for ``chunk``: its title (unless the text starts with it), then the text.

    The stored text stays as it is; the title only helps short passages keep the entity they are about.
    """
    if chunk.title and not chunk.text.startswith(chunk.title):
        return f"{chunk.title}\n{chunk.text}"
    return chunk.text


def embed_texts(
    embeddings: Embeddings,
    texts: Sequence[str],
    *,
    batch_size: int,
    dimension: int | None,
    model_id: str,
    progress: Progress | None = None,
) -> np.ndarray:
    """One row per text, each distinct text embedded once, ``batch_size`` texts per provider call.

    ``dimension`` is the one already held (``None`` before the first vectors); ``model_id`` names it in
    errors. ``progress(done, total)`` counts distinct texts.
    """
    unique = list(dict.fromkeys(texts))
    total = len(unique)
    if progress is not None:
        progress(0, total)
    if not unique:
        return np.zeros((0, dimension or 0), dtype=np.float32)
    parts: list[np.ndarray] = []
    for start in range(0, total, batch_size):
        batch = unique[start : start + batch_size]
        try:
            raw = embeddings.embed_documents(batch)
        except Exception as exc:  # noqa: BLE001 - any provider error is an indexing failure
            raise KnowledgeBaseError(f"embedding failed ({type(exc).__name__}: {exc})") from exc
        parts.append(_as_matrix(raw, len(batch), dimension, model_id))
        if progress is not None:
            progress(min(start + len(batch), total), total)
    matrix = np.vstack(parts)
    if len(unique) == len(texts):
        return matrix
    row = {text: i for i, text in enumerate(unique)}
    return matrix[[row[t] for t in texts]]


def embed_query(embeddings: Embeddings, query: str, *, dimension: int | None, model_id: str) -> np.ndarray:
    """A ``1 x dimension`` matrix for ``query``; any failure is a :class:`RetrievalError`."""
    try:
        raw = embeddings.embed_query(query)
    except Exception as exc:  # noqa: BLE001 - any provider error is a retrieval failure
        raise RetrievalError(f"embedding the query failed ({type(exc).__name__}: {exc})") from exc
    try:
        return _as_matrix([raw], 1, dimension, model_id)
    except KnowledgeBaseError as exc:
        raise RetrievalError(str(exc)) from exc


def probe_dimension(embeddings: Embeddings) -> int:
    """The dimension ``embeddings`` produces, found by embedding a short text."""
    try:
        return len(embeddings.embed_query("dimension probe"))
    except Exception as exc:  # noqa: BLE001
        raise KnowledgeBaseError(f"embedding failed ({type(exc).__name__}: {exc})") from exc


def _as_matrix(raw: Any, expected_rows: int, dimension: int | None, model_id: str) -> np.ndarray:
    try:
        matrix = np.asarray(raw, dtype=np.float32)
    except ValueError as exc:
        raise KnowledgeBaseError("the embedding model returned vectors of different lengths") from exc
    if matrix.ndim != 2 or matrix.shape[0] != expected_rows:
        rows = matrix.shape[0] if matrix.ndim else 0
        raise KnowledgeBaseError(f"the embedding model returned {rows} vectors for {expected_rows} texts")
    if dimension is not None and matrix.shape[1] != dimension:
        raise EmbeddingMismatchError(
            f"the embeddings produce dimension {matrix.shape[1]}, but this knowledge base holds dimension "
            f"{dimension} vectors from '{model_id}'"
        )
    if not np.isfinite(matrix).all():
        raise KnowledgeBaseError("the embedding model returned non-finite values")
    matrix = np.ascontiguousarray(matrix)
    faiss.normalize_L2(matrix)
    return matrix
