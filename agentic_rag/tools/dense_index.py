"""Exact cosine search: FAISS ``IndexIDMap2`` over ``IndexFlatIP`` on L2-normalised float32 vectors.

Vectors are keyed by integer ids chosen by the caller, so removing some never renumbers the rest.
The index is created on the first :meth:`DenseIndex.ensure`, when the dimension is known.
"""

from __future__ import annotations

from typing import Any

import faiss
import numpy as np

__all__ = ["DenseIndex"]


class DenseIndex:
    """Vectors by id; not thread-safe on its own (the knowledge base holds the lock)."""

    def __init__(self, index: Any = None, dimension: int | None = None) -> None:
        self._index = index
        self._dimension = dimension

    @property
    def dimension(self) -> int | None:
        """The vector dimension, once known."""
        return self._dimension

    @property
    def faiss_index(self) -> Any:
        """The FAISS index (``None`` until :meth:`ensure`), as persisted by the store."""
        return self._index

    def ensure(self, dimension: int) -> None:
        """Create the empty index for ``dimension`` unless there is one already."""
        if self._index is None:
            self._dimension = dimension
            self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))

    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        """Add normalised ``vectors`` (one row per id) under int64 ``ids``."""
        self.ensure(vectors.shape[1])
        self._index.add_with_ids(vectors, ids)

    def remove(self, ids: list[int]) -> None:
        """Drop the vectors with these ids (unknown ids are ignored)."""
        if ids and self._index is not None:
            self._index.remove_ids(faiss.IDSelectorBatch(np.asarray(ids, dtype=np.int64)))

    def search(self, vector: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The ``k`` most similar ``(id, cosine)`` pairs, best first, among ``allowed`` ids if given."""
        k = min(k, int(self._index.ntotal) if allowed is None else int(allowed.size))
        params = None if allowed is None else faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed))
        scores, ids = self._index.search(vector, k, params=params)
        return [(int(i), float(s)) for s, i in zip(scores[0], ids[0]) if i >= 0]
