"""Search modes: dense (cosine), keyword (BM25) or hybrid, which fuses both rankings with RRF.

Hybrid search asks each side for a wider pool than ``k`` so that a chunk ranked moderately by both
can still come out on top after fusion.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from agentic_rag.errors import ConfigurationError
from agentic_rag.tools.fusion import RRF_K, reciprocal_rank_fusion

__all__ = ["SearchMode", "MODES", "check_search", "ranked_hits"]

SearchMode = Literal["hybrid", "dense", "keyword"]
MODES: tuple[SearchMode, ...] = ("hybrid", "dense", "keyword")
MIN_CANDIDATES = 30

Hits = list[tuple[int, float]]


def check_search(query: object, k: object, mode: object) -> None:
    """Raise :class:`ConfigurationError` unless the query, ``k`` and ``mode`` are usable."""
    if not isinstance(query, str) or not query.strip():
        raise ConfigurationError("search query must be a non-empty string")
    if not isinstance(k, int) or k < 1:
        raise ConfigurationError(f"k must be a positive integer, got {k!r}")
    if mode not in MODES:
        raise ConfigurationError(f"unknown search mode {mode!r}; use one of {', '.join(MODES)}")


def ranked_hits(mode: SearchMode, k: int, dense: Callable[[int], Hits], keyword: Callable[[int], Hits]) -> Hits:
    """The ``k`` best ``(id, score)`` pairs for ``mode``; ``dense(n)`` and ``keyword(n)`` give top-``n`` lists."""
    if mode == "dense":
        return dense(k)
    if mode == "keyword":
        return keyword(k)
    pool = max(4 * k, MIN_CANDIDATES)
    fused = reciprocal_rank_fusion([[v for v, _ in dense(pool)], [v for v, _ in keyword(pool)]], k=RRF_K)
    return fused[:k]
