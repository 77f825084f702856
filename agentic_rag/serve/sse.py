"""Server-sent events through sse-starlette: framing, keep-alive comments, and the end of a stream."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from sse_starlette import EventSourceResponse, ServerSentEvent

__all__ = ["sse", "sse_response", "DONE", "KEEP_ALIVE_COMMENT", "ServerSentEvent"]

# Lines end in "\n" (sse-starlette's default is "\r\n"; both are valid, clients and tests read either).
_SEP = "\n"
DONE = ServerSentEvent(data="[DONE]", sep=_SEP)
KEEP_ALIVE_COMMENT = "keep-alive"


def sse(data: dict[str, Any] | str, event: str | None = None) -> ServerSentEvent:
    """One event: an optional name and one line of data (JSON for a dict)."""
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return ServerSentEvent(data=text, event=event, sep=_SEP)


class _EventStreamResponse(EventSourceResponse):
    """An event stream that calls ``on_close`` when it ends, finished or cut off by the client."""

    def __init__(self, *args: Any, on_close: Callable[[], None] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.on_close = on_close

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            if self.on_close is not None:
                self.on_close()


def sse_response(events: AsyncIterator[ServerSentEvent], headers: dict[str, str] | None = None, *,
                 keep_alive: float | None = None, on_close: Callable[[], None] | None = None) -> EventSourceResponse:
    """A ``text/event-stream`` response that proxies do not buffer.

    With ``keep_alive`` a ``: keep-alive`` comment goes out every that many seconds, so proxies and
    clients keep a connection open while a run waits or thinks; ``on_close`` is called when the
    response ends.
    """
    return _EventStreamResponse(
        events,
        headers={"Cache-Control": "no-cache", **(headers or {})},
        ping=keep_alive or 0,
        ping_message_factory=lambda: ServerSentEvent(comment=KEEP_ALIVE_COMMENT, sep=_SEP),
        sep=_SEP,
        on_close=on_close,
    )
