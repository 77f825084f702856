"""Refuse request bodies over a size limit (413) before anything parses them."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from agentic_rag.serve.api_errors import error_body

__all__ = ["BodySizeLimit"]


class BodySizeLimit:
    """ASGI middleware: a body larger than ``max_bytes`` is answered with 413 and never reaches the app.

    A declared ``Content-Length`` over the limit is refused at once; otherwise the body is read up to
    the limit (chunked uploads included) and handed on whole.
    """

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                await self._refuse(scope, receive, send, 400, "the Content-Length header is not a number", "invalid_header")
                return
            if size > self.max_bytes:
                await self._refuse_too_large(scope, receive, send)
                return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                await self._refuse_too_large(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        delivered = False

        async def replay() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()  # after the body: wait for the client to disconnect

        await self.app(scope, replay, send)

    async def _refuse_too_large(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        message = f"the request body is larger than {self.max_bytes} bytes"
        await self._refuse(scope, receive, send, 413, message, "request_too_large")

    @staticmethod
    async def _refuse(scope: dict[str, Any], receive: Any, send: Any, status: int, message: str, code: str) -> None:
        response = JSONResponse(error_body(status, message, code=code), status_code=status, headers={"Connection": "close"})
        await response(scope, receive, send)
