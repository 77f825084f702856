"""The text of a chat message's content."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["message_text", "invalid_unicode"]

_SURROGATE = re.compile("[\ud800-\udfff]")


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
