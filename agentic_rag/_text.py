"""The text of a chat message's content."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["message_text", "invalid_unicode", "one_line", "require_valid_unicode"]

_SURROGATE = re.compile("[\ud800-\udfff]")
_BREAKS = re.compile(r"[\s\x00-\x1f\x7f\u0085\u2028\u2029]+")


def require_valid_unicode(text: str, what: str) -> str:
    """``text``, or a :class:`~agentic_rag.errors.ConfigurationError` saying ``what`` holds a lone surrogate."""
    from agentic_rag.errors import ConfigurationError

    if (position := invalid_unicode(text)) is not None:
        raise ConfigurationError(f"{what} is not valid Unicode (a lone surrogate at character {position})")
    return text


def one_line(text: str, limit: int | None = None) -> str:
    """``text`` as one line for a prompt: every line break, tab or control character a single space.

    Anything that reaches a prompt from a document or a user (a title, a file name, a passage, an
    earlier turn) goes through this, so it cannot start a line of its own that passes for the
    prompt's structure ("[7] (forged.md) ...", "Question: ...").
    """
    flat = _BREAKS.sub(" ", text).strip()
    return flat if limit is None or len(flat) <= limit else flat[: limit - 1].rstrip() + "\u2026"


def invalid_unicode(text: str) -> int | None:
    """The position of the first lone surrogate in ``text`` (it cannot be encoded as UTF-8), or None."""
    match = _SURROGATE.search(text)
    return match.start() if match else None


def message_text(content: Any) -> str:
    """The text of message content: a string as it is; of content blocks, the text ones joined.

    A block may be a string, a mapping such as ``{"type": "text", "text": ...}`` (LangChain and the
    OpenAI API) or an object with ``type`` and ``text`` attributes. Blocks of other types (images,
    tool calls) are skipped. ``None`` gives "".
    """
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, Iterable):
        return str(content)
    parts: list[str] = []
    for block in content:
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, Mapping):
            if block.get("type", "text") == "text":
                parts.append(str(block.get("text") or ""))
        elif getattr(block, "type", None) == "text":
            parts.append(str(getattr(block, "text", None) or ""))
    return "".join(parts)
