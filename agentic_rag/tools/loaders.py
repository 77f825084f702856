"""Load documents from folders and files: plain text, Markdown, reStructuredText, HTML, PDF, Word, JSON, JSON Lines and CSV.

Markup is parsed by real parsers (:mod:`agentic_rag.knowledge`): a document's ``text`` is its
readable text (no markup, hard wraps joined, code kept as fenced blocks) and ``sections`` are its
runs of text under each heading path, which chunks never cross. A ``.txt`` file laid out as
reStructuredText is read as such. A file its parser fails on is read as plain text, with a warning.

Every loaded :class:`Document` carries its ``source`` (the POSIX path relative to the folder given,
or the file name of a file given directly), its extracted text, a title, the SHA-256 of the
file's raw bytes, which is what incremental indexing compares, and metadata that search filters
match: ``type`` (the file's extension), ``modified`` (its modification time, UTC, ISO 8601), the
fields of a Markdown file's YAML front matter and the other fields of a JSON, JSON Lines or CSV
record; values are kept as text or lists of text. A file that cannot be loaded
(unreadable, empty, binary, undecodable, invalid JSON, unsupported type) is reported in a list
of ``(path, reason)`` pairs and skipped; the rest still loads. Hidden files and folders (names
starting with ``.``) are ignored when a folder is walked.

PDF parsing goes through langchain-community's ``PyPDFParser``; that package is imported here
only, lazily, with its sunset ``DeprecationWarning`` filtered narrowly.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import os
import re
import stat
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from agentic_rag.knowledge.html import parse_html
from agentic_rag.knowledge.markdown import parse_markdown
from agentic_rag.knowledge.rst import looks_like_rst, parse_rst
from agentic_rag.knowledge.structure import Section, StructuredText, TextBuilder
from agentic_rag.tools.source_filter import metadata_text

__all__ = [
    "SUPPORTED_EXTENSIONS",
    "Document",
    "SourceFile",
    "Scan",
    "LoadResult",
    "scan_paths",
    "name_prefix",
    "read_file",
    "content_hash",
    "parse_file",
    "load_paths",
]

logger = logging.getLogger(__name__)

SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(
    {".txt", ".md", ".markdown", ".rst", ".rest", ".html", ".htm", ".pdf", ".json", ".jsonl", ".csv", ".docx"}
)
TEXT_FIELDS: tuple[str, ...] = ("text", "content", "body", "page_content", "passage", "document")
_SNIFF_BYTES = 8192

Skipped = tuple[str, str]


@dataclass(frozen=True)
class SourceFile:
    """A file found on disk. ``key`` is its source name; ``root`` the folder it was found under."""

    path: Path
    key: str
    root: str | None = None


@dataclass(frozen=True)
class Document:
    """Loaded text. ``file`` is the key of the file it came from (equal to ``source`` except for
    JSON records, whose source is ``"<file>#<record index>"``)."""

    source: str
    text: str
    title: str
    content_hash: str
    file: str
    metadata: dict[str, Any] = field(default_factory=dict)
    sections: tuple[Section, ...] = ()

    def __post_init__(self) -> None:
        # Every store must be able to keep what a file holds: a lone surrogate (an escaped "\ud800" in
        # JSON or YAML) or a NUL becomes U+FFFD, one character for one, so spans stay true.
        for name in ("source", "text", "title", "file"):
            object.__setattr__(self, name, storable(getattr(self, name)))
        object.__setattr__(self, "metadata", {storable(k): [storable(v) for v in value] if isinstance(value, list)
                                              else storable(value) if isinstance(value, str) else value
                                              for k, value in self.metadata.items()})


_UNSTORABLE = re.compile("[\ud800-\udfff\x00]")


def storable(text: str) -> str:
    """``text`` with each lone surrogate and NUL replaced by U+FFFD (same length), so UTF-8 stores keep it."""
    return _UNSTORABLE.sub("\ufffd", text)


def _file_name(name: str) -> str:
    """A path's name as text: bytes that are not UTF-8 (``caf\\xe9.txt`` in Latin-1) written as ``\\xe9``."""
    return name if name.isascii() else os.fsencode(name).decode("utf-8", "backslashreplace")


@dataclass
class Scan:
    """What :func:`scan_paths` found: loadable files, skipped paths and the folders walked."""

    files: list[SourceFile] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    roots: list[str] = field(default_factory=list)
    prefixes: dict[str, str] = field(default_factory=dict)  # folder walked -> what its files' names start with


@dataclass
class LoadResult:
    """Documents loaded by :func:`load_paths` and the ``(path, reason)`` pairs skipped."""

    documents: list[Document] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


class _SkipFile(Exception):
    """Internal: the file cannot be loaded, for the reason given."""


def _is_hidden(name: str) -> bool:
    return name.startswith(".")


def _under(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


def scan_paths(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    known_roots: Sequence[str] = (),
    skip_dir: Callable[[Path], bool] | None = None,
    follow_symlinks: bool = False,
    known_prefixes: dict[str, str] | None = None,
) -> Scan:
    """Find the loadable files under ``paths`` (folders are walked recursively, hidden entries ignored).

    A file found in the one folder given is named by its path relative to that folder; with several
    folders, by its path relative to their common parent (``topics/index.txt`` and ``howto/index.txt``
    for ``docs/topics`` and ``docs/howto``), so no two files share a name. A file given directly is
    named by its file name, unless it lies under one of ``known_roots`` (folders indexed before), in
    which case it keeps its name relative to that folder. A folder in ``known_prefixes`` (indexed
    before) keeps the prefix its files were named with then, so indexing it alone later renames
    nothing. Two different files that would share a name are reported: the second is skipped.
    Sub-folders for which ``skip_dir`` returns true are not entered (e.g. a saved index).
    Nothing outside the folders given is read: inside them, a symbolic link whose target lies
    outside every given folder is skipped unless ``follow_symlinks``; devices, FIFOs and sockets are
    never read. Unsupported, missing or refused paths are reported in ``Scan.skipped``.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    scan = Scan()
    roots = [Path(r) for r in known_roots]
    owner: dict[str, str] = {}

    def add(source: SourceFile) -> None:
        ext = source.path.suffix.lower()
        if ext not in SUPPORTED_EXTENSIONS:
            scan.skipped.append((source.key, f"unsupported file type '{ext or source.path.name}'"))
            return
        place = str(source.path)
        if source.key in owner and owner[source.key] != place:
            scan.skipped.append((source.key, f"{place} not indexed: its source name is already used by {owner[source.key]}"))
            return
        if source.key not in owner:
            owner[source.key] = place
            scan.files.append(source)

    paths = [Path(given).expanduser() for given in paths]
    allowed = [p.resolve() for p in paths if p.is_dir()]
    folders = list(dict.fromkeys(allowed))
    base = Path(os.path.commonpath(folders)) if len(folders) > 1 else None  # names relative to it

    def refused(file: Path, key: str) -> bool:
        """Whether ``file``, found in a folder, must not be read (and is reported as skipped)."""
        try:
            mode = os.stat(file).st_mode  # follows the link: the kind of file that would be read
        except OSError as exc:
            scan.skipped.append((key, f"cannot read ({exc.strerror or exc})"))
            return True
        if not stat.S_ISREG(mode):
            scan.skipped.append((key, "not a regular file (a device, FIFO or socket)"))
            return True
        if file.is_symlink() and not follow_symlinks:
            target = file.resolve()
            if not any(_under(target, root) for root in allowed):
                scan.skipped.append((key, f"symbolic link to {target}, outside the folders indexed (--follow-symlinks reads it)"))
                return True
        return False

    for path in paths:
        given = path
        if path.is_dir():
            root = path.resolve()
            if str(root) not in scan.roots:
                scan.roots.append(str(root))
            prefix = (known_prefixes or {}).get(str(root))
            if prefix is None:
                prefix = "" if base is None or root == base else root.relative_to(base).as_posix() + "/"
            scan.prefixes[str(root)] = prefix
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames[:] = sorted(d for d in dirnames if not _is_hidden(d))
                if skip_dir is not None:
                    for d in [d for d in dirnames if skip_dir(Path(dirpath) / d)]:
                        logger.info("not indexing %s: it holds a saved knowledge base", Path(dirpath) / d)
                        dirnames.remove(d)
                for name in sorted(filenames):
                    if _is_hidden(name):
                        continue
                    file = Path(dirpath) / name
                    key = prefix + _file_name(file.relative_to(root).as_posix())
                    if not refused(file, key):
                        add(SourceFile(file, key, str(root)))
        elif path.is_file():
            resolved = path.resolve()
            root = next((r for r in roots if _under(resolved, r)), None)
            if root is not None:
                prefix = (known_prefixes or {}).get(str(root), "")
                add(SourceFile(resolved, prefix + _file_name(resolved.relative_to(root).as_posix()), str(root)))
            else:
                add(SourceFile(resolved, _file_name(path.name), None))
        elif path.exists():
            scan.skipped.append((str(given), "not a regular file (a device, FIFO or socket)"))
        else:
            scan.skipped.append((str(given), "no such file or folder"))
    return scan


def name_prefix(root: str, keys: Iterable[str]) -> str:
    """The prefix the files of folder ``root`` were named with, told from their source names ``keys``.

    For a store that keeps each file's folder but not the prefix (see :func:`scan_paths`): the
    longest tail of the folder's path (``""``, ``"topics/"``, ``"docs/topics/"``, ...) that starts
    every name. A folder all of whose files lie in a sub-folder of its own name is taken for one
    named with that prefix: its files are named anew, once.
    """
    names = list(keys)
    parts = Path(root).parts
    tails = [""] + ["/".join(parts[i:]) + "/" for i in range(len(parts) - 1, 0, -1)]
    return max((t for t in tails if all(n.startswith(t) for n in names)), key=len, default="")


def read_file(path: Path) -> bytes:
    """The raw bytes of ``path`` (one place to read files, so tests can simulate failures)."""
    return path.read_bytes()


def content_hash(data: bytes) -> str:
    """SHA-256 hex digest of raw file bytes."""
    return hashlib.sha256(data).hexdigest()


def _decode(data: bytes) -> str:
    if b"\x00" in data[:_SNIFF_BYTES]:
        raise _SkipFile("binary file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _SkipFile(f"not UTF-8 text (byte {exc.start})") from exc
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _structured(parse: Callable[[str], StructuredText], text: str, name: str) -> StructuredText:
    """``parse(text)``, or ``text`` itself without sections when the parser fails on it (with a warning)."""
    try:
        return parse(text)
    except Exception as exc:  # noqa: BLE001 - a parser's failure (or markup nested past the stack) must not lose the file
        logger.warning("%s: read as plain text, the parser failed (%s: %s)", name, type(exc).__name__, exc)
        return StructuredText(text, ())


def _pdf(data: bytes, name: str) -> tuple[StructuredText, str | None]:
    if not data.startswith(b"%PDF"):
        raise _SkipFile("not a PDF file")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*langchain-community.*", category=DeprecationWarning)
        from langchain_community.document_loaders.parsers.pdf import PyPDFParser
        from langchain_core.documents.base import Blob

    parser = PyPDFParser(mode="page")
    try:
        docs = list(parser.lazy_parse(Blob.from_data(data, path=name)))
    except Exception as exc:  # noqa: BLE001 - pypdf raises many types on damaged or encrypted files
        raise _SkipFile(f"unreadable PDF ({type(exc).__name__}: {exc})") from exc
    if not docs:
        raise _SkipFile("PDF has no pages")
    title = docs[0].metadata.get("title")
    builder = TextBuilder()
    for number, page in enumerate(docs, 1):
        builder.heading(1, f"page {number}")
        builder.block(page.page_content.strip())
    return builder.build(), (str(title).strip() or None) if title else None


def _render_value(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (int, float, bool)):
        return json.dumps(value)
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False)


def _record_text(record: dict[str, Any]) -> str:
    """A record as text: every field but the title as ``key: value``, the main text field last.

    Key names and numbers are kept (``commander: ...``, ``duration_minutes: 42``): questions ask
    about them, and a bare list of values loses what each value means.
    """
    if not any(isinstance(v, str) and v.strip() for k, v in record.items() if k != "title"):
        return ""  # only numbers or structure: nothing to read
    main = next(
        (name for name in TEXT_FIELDS if isinstance(record.get(name), str) and record[name].strip()), None
    )
    lines = [
        f"{key}: {rendered}"
        for key, value in record.items()
        if key not in ("title", main) and (rendered := _render_value(value))
    ]
    if main:
        lines.append(record[main].strip())
    return "\n".join(lines)


def _record_list(value: dict[str, Any]) -> tuple[str, list[Any]] | None:
    """The longest list of objects inside a JSON object (a directory's ``people``, a rota's ``shifts``)."""
    lists = [(k, v) for k, v in value.items() if isinstance(v, list) and v and all(isinstance(i, dict) for i in v)]
    return max(lists, key=lambda kv: len(kv[1])) if lists else None


MAX_JSON_DEPTH = 64
"""Deepest nesting of JSON read: records are flat in practice, and deeper values would exhaust the stack."""


def _check_depth(value: Any) -> None:
    """Raise :class:`_SkipFile` if ``value`` nests deeper than :data:`MAX_JSON_DEPTH` (walked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise _SkipFile(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)


def _json_records(data: bytes, jsonl: bool) -> tuple[list[Any], bool]:
    """Records in the file, and whether the file holds a list of them (rather than one record)."""
    text = _decode(data)
    if jsonl:
        records = []
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise _SkipFile(f"invalid JSON on line {number}: {exc.msg}") from exc
                _check_depth(records[-1])
        return records, True
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _SkipFile(f"invalid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}") from exc
    _check_depth(value)
    if isinstance(value, list):
        return value, True
    if isinstance(value, dict) and (found := _record_list(value)):
        # Each item becomes a record; the object's other scalar fields are kept as its context.
        name, items = found
        context = {
            k: v for k, v in value.items() if k != name and not isinstance(v, (list, dict)) and len(str(v)) <= 80
        }
        return [{**context, **item} if isinstance(item, dict) else item for item in items], True
    return [value], False


def _csv_records(data: bytes) -> list[dict[str, str]]:
    """One record a row, keyed by the header row; the delimiter (``,``, ``;``, tab or ``|``) is sniffed."""
    text = _decode(data)
    try:
        dialect: Any = csv.Sniffer().sniff(text[:_SNIFF_BYTES], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    try:
        reader = csv.DictReader(io.StringIO(text), dialect=dialect)
        if not reader.fieldnames:
            raise _SkipFile("no header row")
        return [{k.strip(): v.strip() for k, v in row.items() if isinstance(k, str) and k.strip() and isinstance(v, str) and v.strip()}
                for row in reader]
    except csv.Error as exc:
        raise _SkipFile(f"invalid CSV: {exc}") from exc


_DOCX_XML_LIMIT = 50 * 1024 * 1024  # uncompressed document.xml; more is refused rather than inflated
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _docx(data: bytes) -> StructuredText:
    """The paragraphs of a Word file (text runs, tabs and breaks); heading-styled paragraphs open sections."""
    import xml.etree.ElementTree as ElementTree
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            info = archive.getinfo("word/document.xml")
            if info.file_size > _DOCX_XML_LIMIT:
                raise _SkipFile(f"document.xml is {info.file_size} bytes uncompressed, over the limit")
            root = ElementTree.fromstring(archive.read(info))
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError) as exc:
        raise _SkipFile(f"not a readable .docx file: {exc}") from exc
    builder = TextBuilder()
    # Outermost paragraphs only, each walked once: nested paragraphs are read as part of their parent.
    stack = [root]
    paragraphs = []
    while stack:
        node = stack.pop()
        if node.tag == f"{_W}p":
            paragraphs.append(node)
        else:
            stack.extend(reversed(list(node)))
    for paragraph in paragraphs:
        parts = []
        for node in paragraph.iter():
            if node.tag == f"{_W}t" and node.text:
                parts.append(node.text)
            elif node.tag in (f"{_W}tab",):
                parts.append("\t")
            elif node.tag in (f"{_W}br", f"{_W}cr"):
                parts.append("\n")
        text = "".join(parts).strip()
        if not text:
            continue
        style = paragraph.find(f"{_W}pPr/{_W}pStyle")
        name = str(style.get(f"{_W}val", "")).lower() if style is not None else ""
        if name.startswith(("title", "heading")):
            digits = "".join(c for c in name if c.isdigit())
            builder.heading(int(digits[:1]) if digits and not name.startswith("title") else 1, text)
        else:
            builder.block(text)
    return builder.build()


def _record_documents(source: SourceFile, data: bytes, digest: str,
                      file_metadata: dict[str, Any]) -> tuple[list[Document], list[Skipped]]:
    if source.path.suffix.lower() == ".csv":
        records, many = _csv_records(data), True
    else:
        records, many = _json_records(data, source.path.suffix.lower() == ".jsonl")
    documents: list[Document] = []
    skipped: list[Skipped] = []
    for index, record in enumerate(records):
        name = f"{source.key}#{index}" if many else source.key
        title: str | None = None
        if isinstance(record, str):
            text = record.strip()
        elif isinstance(record, dict):
            text = _record_text(record)
            raw_title = record.get("title")
            title = raw_title.strip() if isinstance(raw_title, str) and raw_title.strip() else None
            if not text and title:
                text = title
        else:
            text = ""
        if not text:
            skipped.append((name, "record has no text"))
            continue
        fields = _record_metadata(record) if isinstance(record, dict) else {}
        documents.append(Document(name, text, title or source.path.stem, digest, source.key,
                                  {**file_metadata, **fields}))
    if not documents and not skipped:
        skipped.append((source.key, "no records"))
    return documents, skipped


def parse_file(source: SourceFile, data: bytes) -> tuple[list[Document], list[Skipped]]:
    """Turn the bytes of ``source`` into documents; problems come back as ``(path, reason)`` pairs."""
    digest = content_hash(data)
    ext = source.path.suffix.lower()
    metadata = _file_metadata(source.path)
    try:
        if not data.strip():
            raise _SkipFile("empty file")
        if ext in (".json", ".jsonl", ".csv"):
            return _record_documents(source, data, digest, metadata)
        if ext in (".html", ".htm"):
            if b"\x00" in data[:_SNIFF_BYTES]:
                raise _SkipFile("binary file")
            # The parser reads the bytes (it finds the page's declared encoding); the fallback, UTF-8 text.
            structured = _structured(lambda _: parse_html(data), data.decode("utf-8", "replace"), source.key)
            title = structured.title
        elif ext == ".pdf":
            structured, title = _pdf(data, source.key)
        elif ext in (".md", ".markdown"):
            raw = _decode(data)
            front = _front_matter(raw)
            metadata.update(front)
            structured = _structured(parse_markdown, raw[_front_matter_end(raw):], source.key)
            title = front.get("title") if isinstance(front.get("title"), str) else None
            title = title or structured.title
        elif ext in (".rst", ".rest") or (ext == ".txt" and looks_like_rst(raw := _decode(data))):
            structured = _structured(parse_rst, _decode(data), source.key)
            title = structured.title
        elif ext == ".txt":
            structured, title = StructuredText(raw, ()), None
        elif ext == ".docx":
            structured = _docx(data)
            title = structured.title
        else:
            raise _SkipFile(f"unsupported file type '{ext}'")
        text = structured.text
        if not text.strip():
            raise _SkipFile("no text")
    except _SkipFile as exc:
        return [], [(source.key, str(exc))]
    except RecursionError:  # a parser (JSON, HTML) met nesting too deep for the stack
        return [], [(source.key, "nested too deeply to read")]
    return [Document(source.key, text, title or source.path.stem, digest, source.key, metadata, structured.sections)], []


_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_MAX_METADATA_FIELDS = 32
_MAX_METADATA_TEXT = 256


def _file_metadata(path: Path) -> dict[str, Any]:
    """``type`` and ``modified`` of a file (``modified`` left out when the file cannot be stat-ed)."""
    metadata: dict[str, Any] = {"type": path.suffix.lower().lstrip(".")}
    try:
        modified = datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)
    except (OSError, ValueError, OverflowError):
        return metadata
    metadata["modified"] = modified.isoformat(timespec="seconds")
    return metadata


def _metadata_value(value: Any) -> str | list[str] | None:
    """A field as text (or a list of text), bounded; ``None`` for what is not a plain value."""
    if isinstance(value, (list, tuple)):  # plain items only: nested lists (YAML aliases can nest deep) are left out
        texts = [text.strip()[:_MAX_METADATA_TEXT] for item in value[:_MAX_METADATA_FIELDS]
                 if not isinstance(item, (list, tuple, dict)) and (text := metadata_text(item)) is not None]
        return texts if texts or not value else None
    text = metadata_text(value)
    return None if text is None else text.strip()[:_MAX_METADATA_TEXT]


def _fields(raw: dict[Any, Any], skip: Iterable[str] = ()) -> dict[str, Any]:
    skipped = set(skip)
    fields: dict[str, Any] = {}
    for key, value in raw.items():
        if not isinstance(key, str) or not key.strip() or key in skipped or len(fields) >= _MAX_METADATA_FIELDS:
            continue
        kept = _metadata_value(value)
        if kept is not None:
            fields[key.strip()[:64]] = kept
    return fields


def _front_matter_end(text: str) -> int:
    match = _FRONT_MATTER.match(text)
    return match.end() if match else 0


def _front_matter(text: str) -> dict[str, Any]:
    """The fields of YAML front matter (``---`` lines around ``key: value`` at the top); ``{}`` if none or invalid."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}
    try:
        raw = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        return {}
    return _fields(raw) if isinstance(raw, dict) else {}


def _record_metadata(record: dict[str, Any]) -> dict[str, Any]:
    """A record's fields other than its text and title, as metadata."""
    return _fields(record, skip=(*TEXT_FIELDS, "title"))


def load_paths(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> LoadResult:
    """Load every supported file under ``paths``; unloadable files are reported and skipped."""
    scan = scan_paths(paths)
    result = LoadResult(skipped=list(scan.skipped))
    for source in scan.files:
        try:
            data = read_file(source.path)
        except OSError as exc:
            result.skipped.append((source.key, f"cannot read: {exc.strerror or exc}"))
            continue
        documents, skipped = parse_file(source, data)
        result.documents.extend(documents)
        result.skipped.extend(skipped)
    for path, reason in result.skipped:
        logger.warning("skipped %s: %s", path, reason)
    return result
