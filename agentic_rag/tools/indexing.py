"""What an indexing call has to do: sources to chunk and embed, sources to drop, and its report.

Plans are made from scanned files (or given texts) and the records of what is indexed already,
before anything is embedded; the knowledge base applies them, so unchanged content is never
embedded again.
"""

from __future__ import annotations

import hashlib
from typing import Any
from collections.abc import Iterable
from dataclasses import dataclass, field

from agentic_rag.errors import ConfigurationError
from agentic_rag.tools.chunking import Chunk, Chunker
from agentic_rag.tools.embedding_batches import Progress
from agentic_rag.tools.loaders import Scan, content_hash, parse_file, read_file
from agentic_rag.tools.store import SourceRecord

__all__ = ["IndexReport", "PendingSource", "IndexPlan", "TextRecord", "plan_files", "plan_texts", "text_hash", "text_record"]

TextRecord = tuple[str, str] | tuple[str, str, str | None]


@dataclass
class IndexReport:
    """What an indexing call did. Names are file sources (or ``add_texts`` sources)."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    chunks: int = 0  # chunks in the knowledge base afterwards
    embedded: int = 0  # chunks embedded by this call

    def summary(self) -> str:
        """One line, e.g. ``"2 added, 1 updated, 0 removed, 5 unchanged, 1 skipped; 40 chunks"``."""
        return (
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.removed)} removed, "
            f"{len(self.unchanged)} unchanged, {len(self.skipped)} skipped; {self.chunks} chunks"
        )


@dataclass
class PendingSource:
    """A source to (re-)index: its key, its new record and the chunks to embed."""

    key: str
    record: SourceRecord
    chunks: list[Chunk]
    update: bool  # replaces an indexed version


@dataclass
class IndexPlan:
    """Sources to index and source keys to drop; ``report`` already lists what was skipped or unchanged."""

    report: IndexReport
    pending: list[PendingSource] = field(default_factory=list)
    drop: list[str] = field(default_factory=list)


def text_record(record: Any) -> tuple[str, str, str | None]:
    """``(source, text, title)`` of an ``add_texts`` record; a malformed one raises :class:`ConfigurationError`."""
    if not isinstance(record, (tuple, list)) or len(record) not in (2, 3):
        raise ConfigurationError(f"add_texts expects (source, text[, title]) tuples, got {record!r:.80}")
    source, text = record[0], record[1]
    title = record[2] if len(record) == 3 else None
    if not isinstance(source, str) or not source or not isinstance(text, str):
        raise ConfigurationError(f"add_texts needs a non-empty source and a text string, got {source!r:.80}")
    return source, text, title


def text_hash(title: str | None, text: str) -> str:
    return hashlib.sha256(f"{title or ''}\x00{text}".encode()).hexdigest()


def plan_files(
    scan: Scan, files: dict[str, SourceRecord], texts: dict[str, SourceRecord], chunker: Chunker,
    reading: Progress | None = None,
) -> IndexPlan:
    """The plan for the files of ``scan``, given the indexed ``files`` and ``add_texts`` sources.

    Unchanged files are only reported (their record takes the root they were found under now);
    files indexed from a root scanned here that were not found again are dropped.
    ``reading(done, total)`` is called as files are read and parsed.
    """
    report = IndexReport(skipped=list(scan.skipped))
    pending: list[PendingSource] = []
    drop: list[str] = []
    seen: set[str] = set()
    for number, source_file in enumerate(scan.files):
        if reading is not None:
            reading(number, len(scan.files))
        key = source_file.key
        seen.add(key)
        old = files.get(key)
        if old is not None and old.root is not None and old.root != source_file.root:
            report.skipped.append((key, f"source name already indexed from {old.root}"))
            continue
        if key in texts:
            report.skipped.append((key, "source name already used by add_texts"))
            continue
        try:
            data = read_file(source_file.path)
        except OSError as exc:
            report.skipped.append((key, f"cannot read: {exc.strerror or exc}"))
            if old is not None:
                drop.append(key)
            continue
        digest = content_hash(data)
        if old is not None and old.hash == digest:
            old.root = source_file.root
            report.unchanged.append(key)
            continue
        documents, skipped = parse_file(source_file, data)
        report.skipped.extend(skipped)
        if not documents:
            if old is not None:
                drop.append(key)
            continue
        chunks = [c for d in documents for c in chunker.split(d.source, d.text, d.title, d.metadata, d.sections)]
        record = SourceRecord(digest, [c.id for c in chunks], source_file.root)
        pending.append(PendingSource(key, record, chunks, old is not None))
    if reading is not None:
        reading(len(scan.files), len(scan.files))
    drop.extend(key for key, record in sorted(files.items()) if record.root in scan.roots and key not in seen)
    return IndexPlan(report, pending, drop)


def plan_texts(
    records: Iterable[TextRecord], files: dict[str, SourceRecord], texts: dict[str, SourceRecord], chunker: Chunker
) -> IndexPlan:
    """The plan for ``(source, text[, title])`` records; malformed records raise :class:`ConfigurationError`."""
    report = IndexReport()
    pending: list[PendingSource] = []
    drop: list[str] = []
    batch: dict[str, str] = {}
    for record in records:
        source, text, title = text_record(record)
        digest = text_hash(title, text)
        if source in batch:
            if batch[source] != digest:
                report.skipped.append((source, "source repeated with different text in one call"))
            continue
        batch[source] = digest
        if source in files:
            report.skipped.append((source, "source name already used by an indexed file"))
            continue
        old = texts.get(source)
        if not text.strip():
            report.skipped.append((source, "empty text"))
            if old is not None:
                drop.append(source)
            continue
        if old is not None and old.hash == digest:
            report.unchanged.append(source)
            continue
        chunks = chunker.split(source, text, title)
        pending.append(PendingSource(source, SourceRecord(digest, [c.id for c in chunks]), chunks, old is not None))
    return IndexPlan(report, pending, drop)
