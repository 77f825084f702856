"""Reciprocal rank fusion of ranked lists."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

from agentic_rag.errors import ConfigurationError

__all__ = ["RRF_K", "reciprocal_rank_fusion"]

RRF_K = 60
T = TypeVar("T", bound=Hashable)


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[T]], k: int = RRF_K, weights: Sequence[float] | None = None
) -> list[tuple[T, float]]:
    """Fuse ranked id lists: ``score(d) = sum_i w_i / (k + rank_i(d))`` with ranks from 1.

    Returns ``(id, score)`` pairs, best first. Ties are broken deterministically by the best
    rank an id reached, then by the earliest list it reached it in, then by first appearance.
    An id repeated within one list counts at its first (best) rank only.
    """
    if k < 0:
        raise ConfigurationError(f"RRF k must be non-negative, got {k}")
    if weights is not None and len(weights) != len(rankings):
        raise ConfigurationError(f"got {len(weights)} weights for {len(rankings)} rankings")
    scores: dict[T, float] = {}
    best: dict[T, tuple[int, int, int]] = {}
    order = 0
    for list_index, ranking in enumerate(rankings):
        weight = 1.0 if weights is None else float(weights[list_index])
        seen: set[T] = set()
        for rank, item in enumerate(ranking, start=1):
            if item in seen:
                continue
            seen.add(item)
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
            if item not in best:
                best[item] = (rank, list_index, order)
                order += 1
            elif (rank, list_index) < best[item][:2]:
                best[item] = (rank, list_index, best[item][2])
    # Rounding makes sums of the same terms in another order compare equal.
    return sorted(scores.items(), key=lambda pair: (-round(pair[1], 12), best[pair[0]]))
