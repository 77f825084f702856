"""Persistence of a knowledge base to a directory, without pickle, replaced atomically.

Layout of a saved knowledge base (``N`` is the generation, a counter bumped by every save)::

    manifest.json          format version, embedding model id and dimension, chunking settings,
                           roots indexed, per-file content hash and chunk ids, the current
                           generation's file names with their SHA-256 and size
    index-N.faiss          the FAISS IndexIDMap2(IndexFlatIP), via faiss.write_index
    chunks-N.jsonl         one JSON object per chunk: vid, id, source, n, title, start, end, text
                           and, where its document has any, metadata

A save writes the new generation's files under new names, fsyncs them, writes the manifest to a
temporary file, fsyncs it and moves it over ``manifest.json`` with :func:`os.replace` as the last
step; only then are other generations' files deleted. A crash at any point before the replace
leaves the previous generation loadable. Writers are exclusive: :func:`index_lock` (an OS lock on
``.lock`` in the directory) is held for a whole update, from loading the index to saving it, so two
indexers on one directory never lose each other's work; a reader that finds the generation it read
about already replaced reads the manifest again.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shlex
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import faiss
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentic_rag._files import fsync_path, write_json_atomic
from agentic_rag._hashing import file_sha256
from agentic_rag.errors import EmbeddingMismatchError, KnowledgeBaseError
from agentic_rag.tools.chunking import Chunk

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MANIFEST_NAME",
    "SourceRecord",
    "Snapshot",
    "save_snapshot",
    "read_manifest",
    "is_store_dir",
    "check_embeddings",
    "load_snapshot",
    "index_lock",
    "LOCK_NAME",
]

logger = logging.getLogger(__name__)

FORMAT = "agentic-rag/knowledge-base"
FORMAT_VERSION = 2
"""2: documents parsed into sections, chunks within one section and titled with its breadcrumb,
at most ``max_tokens`` of the embedding model's tokens. Version 1 (fixed windows) is refused."""
MANIFEST_NAME = "manifest.json"
_GENERATION_FILE = re.compile(r"^(index|chunks)-(\d+)\.(faiss|jsonl)$")
LOCK_NAME = ".lock"
_thread_locks: dict[Path, threading.RLock] = {}  # one a directory: exclusive between threads
_depth: dict[Path, int] = {}  # how deep the holding thread is in; the OS lock is taken at depth 0
_registry_guard = threading.Lock()


@contextlib.contextmanager
def index_lock(directory: str | os.PathLike[str], *, wait: bool = False, timeout: float | None = None) -> Iterator[None]:
    """Hold the writer's lock of ``directory`` (created if missing) for the ``with`` block.

    Another process or thread holding it is a :class:`KnowledgeBaseError` ("another indexer is
    running"), or with ``wait`` a wait for it (up to ``timeout`` seconds). Re-entrant in the thread
    that holds it, so a save inside an update holds the lock it already has. The lock between
    processes is an OS lock (``fcntl.flock``) on ``.lock`` in the directory; where there is no
    ``fcntl`` (Windows) only threads are kept apart.
    """
    directory = Path(directory).resolve()
    with _registry_guard:
        thread_lock = _thread_locks.setdefault(directory, threading.RLock())
    if not thread_lock.acquire(blocking=wait, timeout=-1 if timeout is None or not wait else timeout):
        raise _busy(directory, wait, timeout)
    try:
        depth = _depth.get(directory, 0)
        handle = _os_lock(directory, wait, timeout) if depth == 0 else None
        _depth[directory] = depth + 1
        try:
            yield
        finally:
            _depth[directory] = depth
            if handle is not None:
                handle.close()  # closing the file releases the OS lock
    finally:
        thread_lock.release()


def _busy(directory: Path, wait: bool, timeout: float | None) -> KnowledgeBaseError:
    if wait:
        return KnowledgeBaseError(f"another indexer kept {directory} locked for {timeout:g} s")
    return KnowledgeBaseError(f"another indexer is running on {directory}; wait for it, or pass --wait")


def _os_lock(directory: Path, wait: bool, timeout: float | None) -> Any:
    """The open lock file of ``directory``, locked exclusively (None where the OS has no ``flock``)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return None
    try:
        directory.mkdir(parents=True, exist_ok=True)
        handle = open(directory / LOCK_NAME, "a+b")  # noqa: SIM115 - held until the lock is released
    except OSError as exc:
        raise KnowledgeBaseError(f"cannot lock the knowledge base at {directory}: {exc}") from exc
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
        except BlockingIOError:
            if not wait or (deadline is not None and time.monotonic() > deadline):
                handle.close()
                raise _busy(directory, wait, timeout) from None
            time.sleep(0.05)


@dataclass
class SourceRecord:
    """What was indexed for one file (or one ``add_texts`` source): content hash and chunk ids."""

    hash: str
    chunks: list[str] = field(default_factory=list)
    root: str | None = None


@dataclass
class Snapshot:
    """Everything a knowledge base persists. ``chunks`` pairs each chunk with its FAISS id."""

    model_id: str
    dimension: int
    chunk_size: int
    chunk_overlap: int
    index: Any  # faiss.IndexIDMap2
    chunks: list[tuple[int, Chunk]]
    files: dict[str, SourceRecord] = field(default_factory=dict)
    texts: dict[str, SourceRecord] = field(default_factory=dict)
    roots: list[str] = field(default_factory=list)
    max_tokens: int | None = None
    prefixes: dict[str, str] = field(default_factory=dict)  # root -> prefix of its files' source names


# -- writing -------------------------------------------------------------------------------------


def _write_index(index: Any, path: Path) -> None:
    faiss.write_index(index, str(path))
    fsync_path(path)


def _write_chunks(chunks: list[tuple[int, Chunk]], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for vid, chunk in chunks:
            record = {
                "vid": vid,
                "id": chunk.id,
                "source": chunk.source,
                "n": chunk.number,
                "title": chunk.title,
                "start": chunk.start,
                "end": chunk.end,
                "text": chunk.text,
            }
            if chunk.metadata:
                record["metadata"] = chunk.metadata
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _write_manifest(directory: Path, manifest: dict[str, Any]) -> None:
    write_json_atomic(directory / MANIFEST_NAME, manifest, durable=True)


def _next_generation(directory: Path) -> int:
    generation = 0
    with contextlib.suppress(OSError, ValueError, TypeError, AttributeError):
        generation = int(json.loads((directory / MANIFEST_NAME).read_text("utf-8")).get("generation", 0))
    for entry in directory.iterdir():
        match = _GENERATION_FILE.match(entry.name)
        if match:
            generation = max(generation, int(match.group(2)))
    return generation + 1


def _remove_other_generations(directory: Path, keep: set[str]) -> None:
    for entry in directory.iterdir():
        if _GENERATION_FILE.match(entry.name) and entry.name not in keep:
            try:
                entry.unlink()
            except OSError as exc:  # pragma: no cover - the new generation is saved already
                logger.warning("could not delete old index file %s: %s", entry, exc)


def _records_json(records: dict[str, SourceRecord], with_root: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, record in sorted(records.items()):
        entry: dict[str, Any] = {"hash": record.hash, "chunks": list(record.chunks)}
        if with_root:
            entry["root"] = record.root
        out[key] = entry
    return out


def save_snapshot(directory: str | os.PathLike[str], snapshot: Snapshot) -> Path:
    """Write ``snapshot`` to ``directory`` as a new generation and switch the manifest to it."""
    directory = Path(directory)
    with index_lock(directory, wait=True):
        return _save_locked(directory, snapshot)


def _save_locked(directory: Path, snapshot: Snapshot) -> Path:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        generation = _next_generation(directory)
    except OSError as exc:
        raise KnowledgeBaseError(f"cannot save knowledge base to {directory}: {exc}") from exc
    index_name = f"index-{generation:06d}.faiss"
    chunks_name = f"chunks-{generation:06d}.jsonl"
    new_files = [directory / index_name, directory / chunks_name]
    try:
        _write_index(snapshot.index, directory / index_name)
        _write_chunks(snapshot.chunks, directory / chunks_name)
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "generation": generation,
            "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "embedding": {"model_id": snapshot.model_id, "dimension": snapshot.dimension},
            "chunking": {"chunk_size": snapshot.chunk_size, "chunk_overlap": snapshot.chunk_overlap,
                         "max_tokens": snapshot.max_tokens, "sections": True},
            "count": len(snapshot.chunks),
            "roots": list(snapshot.roots),
            "root_prefixes": dict(snapshot.prefixes),
            "generation_files": {
                kind: {"name": path.name, "sha256": file_sha256(path), "bytes": path.stat().st_size}
                for kind, path in zip(("index", "chunks"), new_files)
            },
            "files": _records_json(snapshot.files, with_root=True),
            "texts": _records_json(snapshot.texts, with_root=False),
        }
        _write_manifest(directory, manifest)
    except BaseException as exc:
        for path in new_files:
            path.unlink(missing_ok=True)
        if isinstance(exc, (OSError, RuntimeError, TypeError, ValueError)):
            raise KnowledgeBaseError(f"cannot save knowledge base to {directory}: {exc}") from exc
        raise
    _remove_other_generations(directory, {index_name, chunks_name})
    logger.info("saved %d chunks to %s (generation %d)", len(snapshot.chunks), directory, generation)
    return directory


def is_store_dir(directory: Path) -> bool:
    """Whether ``directory`` holds a saved knowledge base (so indexing should not descend into it)."""
    try:
        with (directory / MANIFEST_NAME).open("rb") as handle:
            return FORMAT.encode() in handle.read(256)
    except OSError:
        return False


# -- reading -------------------------------------------------------------------------------------


class _Strict(BaseModel):
    """Types as written, no coercion: ``"abc"`` is not a chunk size and ``"/tmp"`` is not a list of roots."""

    model_config = ConfigDict(strict=True, extra="ignore")


class _Embedding(_Strict):
    model_id: str
    dimension: int = Field(gt=0)


class _Chunking(_Strict):
    chunk_size: int = Field(gt=0)
    chunk_overlap: int = Field(ge=0)
    max_tokens: int | None = Field(default=None, ge=8)
    sections: bool = False


class _GenerationFile(_Strict):
    name: str
    sha256: str | None = None
    bytes: int | None = Field(default=None, ge=0)


class _GenerationFiles(_Strict):
    index: _GenerationFile
    chunks: _GenerationFile


class _Record(_Strict):
    hash: str
    chunks: list[str]
    root: str | None = None


class ManifestRecord(_Strict):
    """The fields of ``manifest.json`` a load relies on, with their types."""

    format: str
    format_version: int
    generation: int = Field(default=0, ge=0)
    embedding: _Embedding
    chunking: _Chunking
    count: int | None = Field(default=None, ge=0)
    roots: list[str] = Field(default_factory=list)
    root_prefixes: dict[str, str] = Field(default_factory=dict)
    generation_files: _GenerationFiles
    files: dict[str, _Record] = Field(default_factory=dict)
    texts: dict[str, _Record] = Field(default_factory=dict)


class ChunkRecord(_Strict):
    """One line of ``chunks-N.jsonl``."""

    vid: int
    id: str
    source: str
    n: int = Field(ge=0)
    title: str | None = None
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    text: str
    metadata: dict[str, str | list[str]] = Field(default_factory=dict)


def _first_problem(exc: ValidationError) -> str:
    """The first field a validation error names and what is wrong with it, e.g. ``chunking.chunk_size: ...``."""
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "the record"
    return f"field {where}: {error['msg']}"


def _corrupt(directory: Path, detail: str) -> KnowledgeBaseError:
    return KnowledgeBaseError(f"corrupt knowledge base at {directory}: {detail}")


def read_manifest(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of the knowledge base in ``directory``, checked for format and version."""
    directory = Path(directory)
    if not directory.is_dir():
        raise KnowledgeBaseError(f"no knowledge base at {directory}: the directory does not exist")
    path = directory / MANIFEST_NAME
    if not path.is_file():
        raise KnowledgeBaseError(f"no knowledge base at {directory}: {MANIFEST_NAME} not found")
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise KnowledgeBaseError(f"cannot read {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise _corrupt(directory, f"{MANIFEST_NAME} is not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _corrupt(directory, f"{MANIFEST_NAME} is not an agentic-rag knowledge base manifest")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise _corrupt(directory, f"invalid format_version {version!r}")
    if version < FORMAT_VERSION:
        roots = manifest.get("roots")
        folders = " ".join(shlex.quote(str(r)) for r in roots) if isinstance(roots, list) and roots and all(
            isinstance(r, str) for r in roots) else "FOLDERS"
        raise KnowledgeBaseError(
            f"the knowledge base at {directory} was built by an earlier agentic-rag with chunks that ignore "
            f"sections; rebuild it: agentic-rag index {folders} --index {shlex.quote(str(directory))} --rebuild"
        )
    if version > FORMAT_VERSION:
        raise KnowledgeBaseError(
            f"knowledge base at {directory} has format version {version}, newer than this agentic-rag "
            f"supports ({FORMAT_VERSION}); upgrade agentic-rag to load it"
        )
    try:
        ManifestRecord.model_validate(manifest)
    except ValidationError as exc:
        raise _corrupt(directory, f"{MANIFEST_NAME} {_first_problem(exc)}") from None
    return manifest


def check_embeddings(
    manifest: dict[str, Any], directory: str | os.PathLike[str], model_id: str, dimension: Callable[[], int]
) -> None:
    """Raise :class:`EmbeddingMismatchError` unless ``model_id`` and ``dimension()`` match the manifest.

    ``dimension`` is called only when the model ids agree (it may need to embed a probe text).
    """
    built_id = manifest["embedding"]["model_id"]
    built_dim = int(manifest["embedding"]["dimension"])
    if model_id != built_id:
        raise EmbeddingMismatchError(
            f"the knowledge base at {directory} was built with embedding model '{built_id}' "
            f"(dimension {built_dim}), not '{model_id}'; load it with '{built_id}' or rebuild the index"
        )
    actual = dimension()
    if actual != built_dim:
        raise EmbeddingMismatchError(
            f"the knowledge base at {directory} was built with embedding model '{built_id}' of dimension "
            f"{built_dim}, but the embeddings given produce dimension {actual}; rebuild the index"
        )


def _checked_file(directory: Path, manifest: dict[str, Any], kind: str) -> Path:
    entry = manifest["generation_files"][kind]
    name = str(entry["name"])
    if not _GENERATION_FILE.match(name):
        raise _corrupt(directory, f"unexpected {kind} file name {name!r} in {MANIFEST_NAME}")
    path = directory / name
    if not path.is_file():
        raise _corrupt(directory, f"{name} is missing")
    expected = entry.get("sha256")
    if expected and file_sha256(path) != expected:
        raise _corrupt(directory, f"{name} does not match its checksum")
    return path


def _read_chunks(directory: Path, path: Path) -> list[tuple[int, Chunk]]:
    chunks: list[tuple[int, Chunk]] = []
    with path.open("r", encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                r = ChunkRecord.model_validate_json(line)
            except ValidationError as exc:
                raise _corrupt(directory, f"{path.name} line {number} is not a valid chunk ({_first_problem(exc)})") from None
            chunk = Chunk(id=r.id, source=r.source, number=r.n, title=r.title, start=r.start, end=r.end, text=r.text,
                          metadata=r.metadata)
            chunks.append((r.vid, chunk))
    return chunks


def _records(raw: dict[str, Any]) -> dict[str, SourceRecord]:
    return {
        str(key): SourceRecord(hash=str(v["hash"]), chunks=[str(c) for c in v["chunks"]], root=v.get("root"))
        for key, v in raw.items()
    }


def load_snapshot(directory: str | os.PathLike[str], manifest: dict[str, Any] | None = None) -> Snapshot:
    """Read the current generation of the knowledge base in ``directory``.

    A writer may switch the manifest to a new generation (and delete the old one's files) while
    this reads; a missing generation file whose manifest has since changed is read afresh, once.
    """
    directory = Path(directory)
    manifest = manifest if manifest is not None else read_manifest(directory)
    try:
        return _load_generation(directory, manifest)
    except KnowledgeBaseError:
        latest = read_manifest(directory)
        if latest.get("generation") == manifest.get("generation"):
            raise
        return _load_generation(directory, latest)


def _load_generation(directory: Path, manifest: dict[str, Any]) -> Snapshot:
    index_path = _checked_file(directory, manifest, "index")
    chunks_path = _checked_file(directory, manifest, "chunks")
    try:
        index = faiss.read_index(str(index_path))
    except RuntimeError as exc:
        raise _corrupt(directory, f"{index_path.name} is not a readable FAISS index") from exc
    try:
        chunks = _read_chunks(directory, chunks_path)
    except (OSError, UnicodeDecodeError) as exc:
        raise _corrupt(directory, f"cannot read {chunks_path.name}: {exc}") from exc
    dimension = int(manifest["embedding"]["dimension"])
    if index.d != dimension:
        raise _corrupt(directory, f"index dimension {index.d} differs from the manifest's {dimension}")
    if index.ntotal != len(chunks):
        raise _corrupt(directory, f"index holds {index.ntotal} vectors for {len(chunks)} chunks")
    if manifest.get("count", len(chunks)) != len(chunks):
        raise _corrupt(directory, f"{MANIFEST_NAME} counts {manifest['count']} chunks, {chunks_path.name} holds {len(chunks)}")
    id_map = getattr(index, "id_map", None)
    if id_map is None or set(faiss.vector_to_array(id_map).tolist()) != {vid for vid, _ in chunks}:
        raise _corrupt(directory, f"the vector ids in {index_path.name} do not match {chunks_path.name}")
    try:
        files = _records(manifest.get("files", {}))
        texts = _records(manifest.get("texts", {}))
    except (KeyError, TypeError, AttributeError) as exc:
        raise _corrupt(directory, f"invalid source records in {MANIFEST_NAME} ({exc})") from exc
    return Snapshot(
        model_id=str(manifest["embedding"]["model_id"]),
        dimension=dimension,
        chunk_size=int(manifest["chunking"]["chunk_size"]),
        chunk_overlap=int(manifest["chunking"]["chunk_overlap"]),
        index=index,
        chunks=chunks,
        files=files,
        texts=texts,
        roots=[str(r) for r in manifest.get("roots", [])],
        max_tokens=manifest["chunking"].get("max_tokens"),
        prefixes={str(k): str(v) for k, v in manifest.get("root_prefixes", {}).items()},
    )
