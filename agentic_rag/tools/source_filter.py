"""Which sources a search may return: names, path prefixes and globs, given as ``sources`` or ``filters``.

A name matches its own source and every source under it: ``"docs"`` matches ``"docs/a.md"`` and
``"data.jsonl"`` matches its records ``"data.jsonl#3"``, but ``"doc"`` matches neither. A glob
(``*``, ``?`` or ``[...]``, as in :mod:`fnmatch`, where ``*`` also crosses ``/``) matches a source
when it matches the whole source or a part of it that ends at a ``/`` or ``#``, so ``"*.jsonl"``
matches ``"data.jsonl#3"`` too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from fnmatch import fnmatchcase
from typing import Any

from agentic_rag.errors import ConfigurationError

__all__ = ["FILTER_KEYS", "matches", "filter_patterns", "source_predicate"]

FILTER_KEYS = ("source",)
_GLOB = re.compile(r"[*?\[]")


def matches(source: str, wanted: str) -> bool:
    """Exact name, or a path prefix ending at a ``/`` or ``#`` boundary (``docs`` matches ``docs/a.md``)."""
    if source == wanted:
        return True
    if not wanted or not source.startswith(wanted):
        return False
    return wanted[-1] in "/#" or source[len(wanted)] in "/#"


def _glob_matches(source: str, pattern: str) -> bool:
    if fnmatchcase(source, pattern):
        return True
    return any(fnmatchcase(source[:i], pattern) for i, char in enumerate(source) if char in "/#")


def _pattern_matches(source: str, pattern: str) -> bool:
    return _glob_matches(source, pattern) if _GLOB.search(pattern) else matches(source, pattern)


def filter_patterns(filters: Mapping[str, Any] | None) -> list[str] | None:
    """The source patterns of search ``filters`` (``{"source": pattern or list of patterns}``).

    ``None`` means no restriction. Unknown keys and values that are not strings raise
    :class:`ConfigurationError`.
    """
    if filters is None:
        return None
    if not isinstance(filters, Mapping):
        raise ConfigurationError(f"search filters must be a mapping, got {type(filters).__name__}")
    for key in filters:
        if key not in FILTER_KEYS:
            raise ConfigurationError(
                f"unknown search filter {key!r}; supported: {', '.join(repr(k) for k in FILTER_KEYS)}"
            )
    if "source" not in filters:
        return None
    value = filters["source"]
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable) and not isinstance(value, Mapping):
        patterns = list(value)
        if all(isinstance(p, str) for p in patterns):
            return patterns
    raise ConfigurationError(f"the 'source' filter takes a name, prefix or glob, or a list of them; got {value!r:.80}")


def source_predicate(
    sources: str | Iterable[str] | None, patterns: list[str] | None = None
) -> Callable[[str], bool] | None:
    """A test for source names: one of ``sources`` (names or prefixes) and one of ``patterns`` must match.

    ``None`` for either means no restriction by it; ``None`` is returned when there is none at all.
    """
    tests: list[Callable[[str], bool]] = []
    if sources is not None:
        wanted = [sources] if isinstance(sources, str) else list(sources)
        tests.append(lambda source: any(matches(source, w) for w in wanted))
    if patterns is not None:
        tests.append(lambda source: any(_pattern_matches(source, p) for p in patterns))
    if not tests:
        return None
    return lambda source: all(test(source) for test in tests)
