"""Server-sent events: framing, keep-alive comments, and the response that carries them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi.responses import StreamingResponse

__all__ = ["sse", "sse_response", "with_keep_alive", "DONE", "KEEP_ALIVE"]

DONE = "data: [DONE]\n\n"
KEEP_ALIVE = ": keep-alive\n\n"


def sse(data: dict[str, Any] | str, event: str | None = None) -> str:
    """One event: an optional name and one line of data (JSON for a dict)."""
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return (f"event: {event}\n" if event else "") + f"data: {text}\n\n"


async def with_keep_alive(events: AsyncIterator[str], seconds: float) -> AsyncIterator[str]:
    """``events``, with a :data:`KEEP_ALIVE` comment whenever they are silent for ``seconds``.

    Proxies and clients that drop an idle connection keep it while a run waits or thinks.
    """
    pending: asyncio.Future[str] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(events))
            done, _ = await asyncio.wait({pending}, timeout=seconds)
            if not done:
                yield KEEP_ALIVE
                continue
            try:
                item = pending.result()
            except StopAsyncIteration:
                return
            pending = None
            yield item
    finally:
        if pending is not None and not pending.done():
            pending.cancel()  # ``events`` ends where it waits
            pending.add_done_callback(_retrieve)
        elif (aclose := getattr(events, "aclose", None)) is not None:
            await aclose()


def _retrieve(task: asyncio.Future[Any]) -> None:
    """Take a dropped task's outcome, so asyncio does not report it as never retrieved."""
    if not task.cancelled():
        task.exception()


class _EventStreamResponse(StreamingResponse):
    def __init__(self, *args: Any, on_close: Callable[[], None] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.on_close = on_close

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            if self.on_close is not None:
                self.on_close()


def sse_response(events: AsyncIterator[str], headers: dict[str, str] | None = None, *,
                 keep_alive: float | None = None, on_close: Callable[[], None] | None = None) -> StreamingResponse:
    """A ``text/event-stream`` response that proxies do not buffer.

    With ``keep_alive`` a comment goes out after that many silent seconds; ``on_close`` is called when
    the response ends, finished or cut off by the client.
    """
    return _EventStreamResponse(
        with_keep_alive(events, keep_alive) if keep_alive else events,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no", **(headers or {})},
        on_close=on_close,
    )
