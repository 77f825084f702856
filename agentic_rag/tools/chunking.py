"""Split texts into overlapping chunks that know their exact character span in the source text."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from langchain_text_splitters import RecursiveCharacterTextSplitter

from agentic_rag.errors import ConfigurationError

__all__ = ["DEFAULT_CHUNK_SIZE", "DEFAULT_CHUNK_OVERLAP", "Chunk", "Chunker", "chunk_id"]

logger = logging.getLogger(__name__)

DEFAULT_CHUNK_SIZE = 800
DEFAULT_CHUNK_OVERLAP = 100


def chunk_id(source: str, number: int) -> str:
    """The stable id of chunk ``number`` of ``source``."""
    return f"{source}#{number}"


@dataclass(frozen=True, slots=True)
class Chunk:
    """A piece of a source text; ``source_text[start:end] == text``. ``metadata`` is its document's."""

    id: str
    source: str
    number: int
    title: str | None
    start: int
    end: int
    text: str
    metadata: dict[str, Any] = field(default_factory=dict, compare=False)


class Chunker:
    """Recursive character splitting (paragraphs, lines, words) with overlap and exact spans."""

    def __init__(self, chunk_size: int = DEFAULT_CHUNK_SIZE, chunk_overlap: int = DEFAULT_CHUNK_OVERLAP) -> None:
        if chunk_size < 1:
            raise ConfigurationError(f"chunk_size must be positive, got {chunk_size}")
        if not 0 <= chunk_overlap < chunk_size:
            raise ConfigurationError(
                f"chunk_overlap must be in [0, chunk_size), got {chunk_overlap} with chunk_size {chunk_size}"
            )
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self._splitter = RecursiveCharacterTextSplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap)

    def split(self, source: str, text: str, title: str | None = None,
              metadata: dict[str, Any] | None = None) -> list[Chunk]:
        """Chunks of ``text`` numbered from 0, in order of position, each with the document's ``metadata``."""
        chunks: list[Chunk] = []
        metadata = dict(metadata or {})
        if len(text) <= self.chunk_size and text.strip() == text and text:
            return [Chunk(chunk_id(source, 0), source, 0, title, 0, len(text), text, metadata)]
        prev_start, prev_end = -1, 0
        for piece in self._splitter.split_text(text):
            start = self._locate(text, piece, prev_start, prev_end)
            end = start + len(piece)
            n = len(chunks)
            chunks.append(Chunk(chunk_id(source, n), source, n, title, start, end, piece, metadata))
            prev_start, prev_end = start, end
        return chunks

    def _locate(self, text: str, piece: str, prev_start: int, prev_end: int) -> int:
        # The splitter emits contiguous substrings in order; a chunk starts after the previous
        # one's start and overlaps it by at most ``chunk_overlap`` characters. Searching from
        # that point picks the right occurrence even when a passage repeats.
        lower = max(prev_start + 1, prev_end - self.chunk_overlap, 0)
        start = text.find(piece, lower)
        if start < 0:  # pragma: no cover - defensive; the splitter only emits substrings
            start = text.find(piece)
            logger.warning("chunk located outside its expected window (at %d, expected >= %d)", start, lower)
        if start < 0:  # pragma: no cover
            raise ValueError("text splitter produced a chunk that is not a substring of its source")
        return start
