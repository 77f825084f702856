"""SHA-256 of files, read in blocks (shared by the index store, the model store and the eval cache)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

__all__ = ["file_sha256"]

_BLOCK = 1 << 20


def file_sha256(path: Path, on_progress: Callable[[int, int], None] | None = None) -> str:
    """Hex SHA-256 of ``path``; ``on_progress(done_bytes, total_bytes)`` is called after each block."""
    digest = hashlib.sha256()
    total = path.stat().st_size
    done = 0
    with path.open("rb") as handle:
        while block := handle.read(_BLOCK):
            digest.update(block)
            done += len(block)
            if on_progress:
                on_progress(done, total)
    return digest.hexdigest()
