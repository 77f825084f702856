"""A model hub on 127.0.0.1 for the download tests: the hub's resolve URLs, HEAD and ranged GET."""

from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class LocalHub:
    """Serves ``files`` (path under the endpoint -> bytes) as the hub does; records every request.

    ``cut_after``: the first GET stops after that many bytes (a dropped connection), later ones are whole.
    """

    def __init__(self, files: dict[str, bytes], cut_after: int | None = None) -> None:
        self.files = files
        self.cut_after = cut_after
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _headers_for(self, body: bytes) -> dict[str, str]:
                sha = hashlib.sha256(body).hexdigest()
                return {"ETag": f'"{sha}"', "X-Linked-Etag": f'"{sha}"', "X-Repo-Commit": "0" * 40,
                        "X-Linked-Size": str(len(body)), "Accept-Ranges": "bytes"}

            def _find(self) -> bytes | None:
                hub.requests.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
                body = hub.files.get(self.path.split("?")[0])
                if body is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.send_header("X-Error-Code", "EntryNotFound")
                    self.end_headers()
                return body

            def do_HEAD(self) -> None:  # noqa: N802 - the http.server API
                body = self._find()
                if body is None:
                    return
                self.send_response(200)
                for name, value in {**self._headers_for(body), "Content-Length": str(len(body))}.items():
                    self.send_header(name, value)
                self.end_headers()

            def do_GET(self) -> None:  # noqa: N802
                body = self._find()
                if body is None:
                    return
                start = 0
                if (ranged := self.headers.get("Range", "")).startswith("bytes="):
                    start = int(ranged.removeprefix("bytes=").split("-")[0])
                part = body[start:]
                self.send_response(206 if start else 200)
                for name, value in self._headers_for(body).items():
                    self.send_header(name, value)
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                self.send_header("Content-Length", str(len(part)))
                self.end_headers()
                if hub.cut_after is not None and len(hub.gets()) == 1:
                    self.wfile.write(part[: hub.cut_after])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(part)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def gets(self) -> list[dict[str, str]]:
        """The headers of every GET of a file (names in lower case), in order."""
        return [headers for method, path, headers in self.requests if method == "GET" and "/resolve/" in path]

    def __enter__(self) -> LocalHub:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
