"""The chunks of a knowledge base by vector id, by chunk id and by source, and chunks as evidence.

Vector ids are the integers the dense and keyword indexes return; chunk ids (``"<source>#<n>"``)
are what callers see. Sources keep their chunks in document order, for neighbour lookups.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import numpy as np

from agentic_rag.errors import RetrievalError
from agentic_rag.evidence import Evidence
from agentic_rag.tools.chunking import Chunk

__all__ = ["ChunkTable", "chunk_evidence"]


def chunk_evidence(chunk: Chunk, score: float | None) -> Evidence:
    """``chunk`` as evidence, with its character span and an optional search score."""
    return Evidence(
        id=chunk.id,
        source=chunk.source,
        text=chunk.text,
        span=(chunk.start, chunk.end),
        score=score,
        title=chunk.title,
        tool=None,
        metadata=dict(chunk.metadata),
    )


class ChunkTable:
    """Chunks with their vector ids; not thread-safe on its own (the knowledge base holds the lock)."""

    def __init__(self) -> None:
        self._chunks: dict[int, Chunk] = {}
        self._vid_of: dict[str, int] = {}
        self._by_source: dict[str, list[str]] = {}
        self._next_vid = 0

    def __len__(self) -> int:
        return len(self._chunks)

    def __contains__(self, chunk_id: object) -> bool:
        return chunk_id in self._vid_of

    def __getitem__(self, vid: int) -> Chunk:
        return self._chunks[vid]

    @property
    def sources(self) -> Iterable[str]:
        """The sources that have chunks (in no particular order)."""
        return self._by_source.keys()

    def items(self) -> Iterator[tuple[int, Chunk]]:
        """``(vector id, chunk)`` pairs."""
        return iter(self._chunks.items())

    def new_ids(self, count: int) -> np.ndarray:
        """``count`` vector ids not used before, for chunks about to be added with :meth:`add`."""
        return np.arange(self._next_vid, self._next_vid + count, dtype=np.int64)

    def add(self, vid: int, chunk: Chunk) -> None:
        """Add ``chunk`` under vector id ``vid``, after the chunks of its source added before."""
        self._chunks[vid] = chunk
        self._vid_of[chunk.id] = vid
        self._by_source.setdefault(chunk.source, []).append(chunk.id)
        self._next_vid = max(self._next_vid, vid + 1)

    def drop(self, chunk_ids: Iterable[str]) -> list[int]:
        """Remove the chunks with these ids (and their sources); returns the vector ids they had."""
        vids = [self._vid_of.pop(cid) for cid in chunk_ids if cid in self._vid_of]
        for vid in vids:
            chunk = self._chunks.pop(vid)
            self._by_source.pop(chunk.source, None)
        return vids

    def vids_where(self, keep: Callable[[str], bool] | None, keep_chunk: Callable[[Chunk], bool] | None = None) -> np.ndarray:
        """The sorted vector ids of the chunks whose source ``keep`` accepts and that ``keep_chunk`` accepts."""
        vids = [self._vid_of[cid] for source, ids in self._by_source.items() if keep is None or keep(source) for cid in ids]
        if keep_chunk is not None:
            vids = [vid for vid in vids if keep_chunk(self._chunks[vid])]
        return np.asarray(sorted(vids), dtype=np.int64)

    def chunk(self, chunk_id: str) -> Chunk:
        """The chunk with id ``chunk_id``; unknown ids raise :class:`RetrievalError`."""
        vid = self._vid_of.get(chunk_id)
        if vid is None:
            raise RetrievalError(
                f"unknown chunk id {chunk_id!r}: it is not in this knowledge base "
                "(ids look like '<source>#<chunk number>', as returned by search)"
            )
        return self._chunks[vid]

    def neighbours(self, chunk_id: str, window: int) -> list[Chunk]:
        """The chunk with up to ``window`` chunks before and after it in the same source, in order."""
        chunk = self.chunk(chunk_id)
        ids = self._by_source[chunk.source]
        in_place = chunk.number < len(ids) and ids[chunk.number] == chunk_id
        position = chunk.number if in_place else ids.index(chunk_id)
        selected = ids[max(0, position - window) : position + window + 1]
        return [self._chunks[self._vid_of[cid]] for cid in selected]
