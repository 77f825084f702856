"""Bearer-token checks and the caller identity that keeps clients' threads apart."""

from __future__ import annotations

import hashlib
import hmac

from agentic_rag.serve.api_errors import APIError

__all__ = ["Caller", "BearerAuth"]


class Caller(str):
    """Who is asking: a short hash of the bearer token (of the empty string when none was sent).

    Thread ids are prefixed with it, so the same conversation id under another key is another
    thread. The token itself is never stored.
    """


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


class BearerAuth:
    """Checks ``Authorization: Bearer <key>`` against the configured keys, in constant time.

    With no keys configured every request passes; a token sent anyway still names the caller.
    """

    def __init__(self, keys: tuple[str, ...] | list[str]) -> None:
        self._digests = [_digest(k) for k in keys if k]

    @property
    def required(self) -> bool:
        return bool(self._digests)

    def caller(self, authorization: str | None) -> Caller:
        """The caller of a request with this ``Authorization`` header, or a 401 :class:`APIError`."""
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip() if scheme.lower() == "bearer" else ""
        digest = _digest(token)
        if self._digests:
            if not token:
                raise APIError(401, "missing API key: send the header 'Authorization: Bearer <key>'",
                               code="missing_api_key", headers={"WWW-Authenticate": "Bearer"})
            # compare against every key, so the time taken does not tell which one nearly matched
            matched = [hmac.compare_digest(digest, known) for known in self._digests]
            if not any(matched):
                raise APIError(401, "invalid API key", code="invalid_api_key", headers={"WWW-Authenticate": "Bearer"})
        return Caller(digest.hex()[:24])
