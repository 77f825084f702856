"""Writing files so that a crash never leaves half of one."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from pathlib import Path
from typing import Any

__all__ = ["fsync_dir", "fsync_path", "write_json_atomic", "write_text_atomic"]


def fsync_path(path: str | os.PathLike[str]) -> None:
    """Flush the file (or directory) at ``path`` to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(directory: str | os.PathLike[str]) -> None:
    """Flush ``directory``'s entries (a rename in it) to disk, where the platform allows it."""
    with contextlib.suppress(OSError):  # directories cannot be opened on some platforms
        fsync_path(directory)


def write_json_atomic(path: str | os.PathLike[str], data: Any, *, indent: int | None = 1, durable: bool = False) -> None:
    """Write ``data`` as JSON to ``path`` through a temporary file in the same directory.

    The temporary file has a name of its own (process id and a random part, so concurrent writers
    never share one); it is written, flushed and fsynced, then moved over ``path`` with
    :func:`os.replace`: a reader sees the old file or the new one, never half of one. With
    ``durable`` the directory is fsynced as well, so the replace itself survives a power cut. On
    failure the temporary file is removed and the error raised.
    """
    write_text_atomic(path, json.dumps(data, indent=indent, ensure_ascii=False) + "\n", durable=durable)


def write_text_atomic(path: str | os.PathLike[str], text: str, *, durable: bool = False) -> None:
    """Write ``text`` (UTF-8) to ``path`` the way :func:`write_json_atomic` writes JSON."""
    path = Path(path)
    temporary = path.with_name(f"{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        # os.open with 0o666 keeps the permissions the umask gives, as a plain open() would.
        with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    if durable:
        fsync_dir(path.parent)
