"""Split texts into chunks that know their exact character span in the source text.

A document with sections is split section by section: no chunk crosses a heading, and each chunk's
title is its breadcrumb ("Guide > Install > From source"), which is embedded, keyword-indexed and
shown to the model with it. Given the embedding model's token counter, no chunk (with its
breadcrumb) is longer than what that model reads, so dense search sees all of it.
"""

from __future__ import annotations

import logging
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_text_splitters import RecursiveCharacterTextSplitter

from agentic_rag.errors import ConfigurationError
from agentic_rag.knowledge.structure import Section, breadcrumb

__all__ = ["DEFAULT_CHUNK_SIZE", "DEFAULT_CHUNK_OVERLAP", "Chunk", "Chunker", "TokenCounter", "chunk_id", "chunker_for"]

TokenCounter = Callable[[str], int]
"""Tokens of a text as the embedding model counts them, without its special tokens."""
_SPECIAL_TOKENS = 2  # what a BERT-style model adds around every text ([CLS] ... [SEP])

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
    """Recursive character splitting (paragraphs, lines, words) with overlap and exact spans.

    ``chunk_size`` and ``chunk_overlap`` are characters. With ``count_tokens`` and ``max_tokens``
    a chunk is also at most ``max_tokens`` tokens, its breadcrumb included.
    """

    def __init__(self, chunk_size: int = DEFAULT_CHUNK_SIZE, chunk_overlap: int = DEFAULT_CHUNK_OVERLAP, *,
                 max_tokens: int | None = None, count_tokens: TokenCounter | None = None) -> None:
        if chunk_size < 1:
            raise ConfigurationError(f"chunk_size must be positive, got {chunk_size}")
        if not 0 <= chunk_overlap < chunk_size:
            raise ConfigurationError(
                f"chunk_overlap must be in [0, chunk_size), got {chunk_overlap} with chunk_size {chunk_size}"
            )
        if max_tokens is not None and max_tokens < 8:
            raise ConfigurationError(f"max_tokens must be at least 8, got {max_tokens}")
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self.max_tokens = max_tokens
        self._count = count_tokens if max_tokens is not None else None
        self._splitter = RecursiveCharacterTextSplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap)

    def split(self, source: str, text: str, title: str | None = None,
              metadata: dict[str, Any] | None = None, sections: Sequence[Section] = ()) -> list[Chunk]:
        """Chunks of ``text`` numbered from 0, in order of position, each with the document's ``metadata``.

        With ``sections``, each section is split on its own and its chunks are titled with its breadcrumb.
        """
        metadata = dict(metadata or {})
        parts = [(s.start, s.end, breadcrumb(title, s.path)) for s in sections] or [(0, len(text), title)]
        chunks: list[Chunk] = []
        for start, end, name in parts:
            pieces = self._pieces(text[start:end], name)
            if chunks and len(pieces) == 1 and end - start <= self.chunk_size // 4:
                # A tiny section (a one-line "Ownership") joins the chunk before it when both fit in one.
                last = chunks[-1]
                joined = text[last.start:end]
                if len(joined) <= self.chunk_size and (self._count is None or self._count(joined) <= self._budget(last.title)):
                    chunks[-1] = Chunk(last.id, source, last.number, last.title, last.start, end, joined, metadata)
                    continue
            for piece_start, piece in pieces:
                n = len(chunks)
                begin = start + piece_start
                chunks.append(Chunk(chunk_id(source, n), source, n, name, begin, begin + len(piece), piece, metadata))
        return chunks

    def _pieces(self, text: str, name: str | None) -> list[tuple[int, str]]:
        if not text.strip():
            return []
        splitter = self._splitter
        if self._count is not None:
            budget = self._budget(name)
            count, size = self._count, self.chunk_size

            def length(piece: str) -> int:  # characters, or tokens scaled to characters when they bind first
                return max(len(piece), math.ceil(count(piece) * size / budget))

            splitter = RecursiveCharacterTextSplitter(chunk_size=size, chunk_overlap=self.chunk_overlap,
                                                      length_function=length)
        elif len(text) <= self.chunk_size and text.strip() == text:
            return [(0, text)]
        pieces: list[tuple[int, str]] = []
        prev_start, prev_end = -1, 0
        for piece in splitter.split_text(text):
            start = self._locate(text, piece, prev_start, prev_end)
            pieces.append((start, piece))
            prev_start, prev_end = start, start + len(piece)
        return pieces

    def _budget(self, name: str | None) -> int:
        """Tokens left for a chunk's text: the model reads its special tokens, the breadcrumb and a line break too."""
        if self._count is None or self.max_tokens is None:
            return sys.maxsize
        return max(self.max_tokens // 2, self.max_tokens - _SPECIAL_TOKENS - (self._count(name) + 1 if name else 0))

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


def chunker_for(embeddings: Any, chunk_size: int = DEFAULT_CHUNK_SIZE, chunk_overlap: int = DEFAULT_CHUNK_OVERLAP,
                max_tokens: int | None = None) -> Chunker:
    """A chunker whose chunks the model behind ``embeddings`` reads whole: at most ``max_tokens`` of its
    tokens (by default its maximum sequence length) where its tokenizer is known, else characters alone."""
    from agentic_rag.tools.embeddings import embedding_token_limit

    limit = embedding_token_limit(embeddings)
    if limit is None:
        return Chunker(chunk_size, chunk_overlap)
    return Chunker(chunk_size, chunk_overlap, max_tokens=max_tokens or limit[1], count_tokens=limit[0])
