"""Which chunks a search may return: sources by name, path prefix or glob, and metadata by equality.

A name matches its own source and every source under it: ``"docs"`` matches ``"docs/a.md"`` and
``"data.jsonl"`` matches its records ``"data.jsonl#3"``, but ``"doc"`` matches neither. A glob
(``*``, ``?`` or ``[...]``, as in :mod:`fnmatch`, where ``*`` also crosses ``/``) matches a source
when it matches the whole source or a part of it that ends at a ``/`` or ``#``, so ``"*.jsonl"``
matches ``"data.jsonl#3"`` too.

Every other key of ``filters`` names a metadata field (``{"team": "signal-harbor"}``): a chunk
passes when its value equals the one given (or one of a list given), compared as text (as the
loaders keep it: YAML's reading of front matter, so ``yes`` is ``true``), so the CLI's ``--filter
priority=2`` finds ``priority: 2`` in front matter; a list value in the metadata (tags) passes when
any of its items does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from fnmatch import fnmatchcase
from typing import Any

from agentic_rag.errors import ConfigurationError

__all__ = ["matches", "filter_patterns", "metadata_conditions", "metadata_matches", "metadata_text", "check_fields_known",
           "source_predicate"]

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

    ``None`` means no restriction. Filters that are not a mapping and source values that are not
    strings raise :class:`ConfigurationError`.
    """
    if filters is None:
        return None
    _check_mapping(filters)
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


def _check_mapping(filters: Any) -> None:
    if not isinstance(filters, Mapping):
        raise ConfigurationError(f"search filters must be a mapping, got {type(filters).__name__}")
    for key in filters:
        if not isinstance(key, str) or not key.strip():
            raise ConfigurationError(f"a search filter's key is a metadata field name; got {key!r:.80}")


def metadata_text(value: Any) -> str | None:
    """A metadata value as the text filters compare: ``true``/``false``, numbers and strings as
    written, dates in ISO 8601; ``None`` for what has no text form (mappings, ``None``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    isoformat = getattr(value, "isoformat", None)
    return isoformat() if callable(isoformat) else None


def metadata_conditions(filters: Mapping[str, Any] | None) -> dict[str, list[str]]:
    """The metadata part of ``filters``: each field with the texts a chunk's value may equal.

    A value is a string, number or boolean, or a list of them (any of); anything else raises
    :class:`ConfigurationError`.
    """
    if filters is None:
        return {}
    _check_mapping(filters)
    conditions: dict[str, list[str]] = {}
    for key, value in filters.items():
        if key == "source":
            continue
        values = list(value) if isinstance(value, (list, tuple, set, frozenset)) else [value]
        texts = [metadata_text(v) for v in values]
        if not texts or any(t is None or isinstance(v, Mapping) for t, v in zip(texts, values)):
            raise ConfigurationError(
                f"the metadata filter {key!r} takes a string, number or boolean, or a list of them; got {value!r:.80}"
            )
        conditions[key] = [t for t in texts if t is not None]
    return conditions


def metadata_matches(metadata: Mapping[str, Any], conditions: Mapping[str, list[str]]) -> bool:
    """Whether ``metadata`` passes every condition (a list value passes when any item does)."""
    for key, wanted in conditions.items():
        value = metadata.get(key)
        items = value if isinstance(value, (list, tuple)) else [value]
        if not any(metadata_text(item) in wanted for item in items if item is not None):
            return False
    return True


def check_fields_known(
    conditions: Mapping[str, list[str]], known: Iterable[str], *, all_fields: bool = True, holders: str = "no indexed document",
) -> None:
    """A filter on a field no document has is a typo more often than a wish for nothing: say so.

    ``known`` is every field the documents have (listed in the message) or, without ``all_fields``,
    those of the filter's fields that some document has; ``holders`` says which documents were looked at.
    """
    fields = set(known)
    missing = [key for key in conditions if key not in fields]
    if missing:
        listed = f" (fields: {', '.join(sorted(fields)) or 'none'})" if all_fields else ""
        raise ConfigurationError(
            f"unknown search filter {missing[0]!r}: {holders} has that metadata field{listed}; "
            "'source' filters by name, folder or glob"
        )
