"""Documents as clean text with sections: what the parsers produce and the chunker splits.

A parser writes a document block by block (paragraphs, list items, table rows, fenced code) into a
:class:`TextBuilder`, opening a section at each heading. Headings are not written into the text:
they travel as each section's ``path`` (the breadcrumb), so a quote can never be a heading and a
chunk can never start in the middle of the section it is about.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Section", "StructuredText", "TextBuilder", "fence", "flat", "breadcrumb"]


@dataclass(frozen=True, slots=True)
class Section:
    """A run of a document's text under one heading path; ``text[start:end]`` is its body."""

    path: tuple[str, ...]
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class StructuredText:
    """A document's readable text, its sections in order (non-overlapping) and its first heading."""

    text: str
    sections: tuple[Section, ...]
    title: str | None = None


def flat(text: str) -> str:
    """``text`` on one line: hard-wrapped lines joined, runs of whitespace one space."""
    return " ".join(text.split())


def fence(code: str, language: str = "") -> str:
    """A fenced code block whose fence is longer than any backtick run inside the code."""
    code = code.strip("\n")
    longest = run = 0
    for char in code:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{language}\n{code}\n{ticks}"


def breadcrumb(title: str | None, path: tuple[str, ...]) -> str | None:
    """``"Title > Section > Subsection"``; a first heading equal to the title is not repeated."""
    parts = [title] if title else []
    for part in path:
        if not parts or part.casefold() != parts[-1].casefold():
            parts.append(part)
    return " > ".join(parts) or None


class TextBuilder:
    """Accumulates blocks of text and the sections that hold them."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._length = 0
        self._path: list[tuple[int, str]] = []
        self._sections: list[Section] = []
        self._open: int | None = None
        self.title: str | None = None

    def heading(self, level: int, title: str) -> None:
        """Start a section at heading ``level`` (1 = top); deeper or equal open headings close."""
        title = flat(title)
        if not title:
            return
        self._close()
        while self._path and self._path[-1][0] >= level:
            self._path.pop()
        self._path.append((level, title))
        if self.title is None:
            self.title = title

    def block(self, text: str, *, tight: bool = False) -> None:
        """Append a block; ``tight`` joins it to the previous one with a line break, not a blank line."""
        text = text.strip("\n")
        if not text.strip():
            return
        if self._parts:
            self._append("\n" if tight and self._open is not None else "\n\n")
        if self._open is None:
            self._open = self._length
        self._append(text)

    def build(self) -> StructuredText:
        self._close()
        return StructuredText("".join(self._parts), tuple(self._sections), self.title)

    def _append(self, text: str) -> None:
        self._parts.append(text)
        self._length += len(text)

    def _close(self) -> None:
        if self._open is not None:
            self._sections.append(Section(tuple(t for _, t in self._path), self._open, self._length))
            self._open = None
