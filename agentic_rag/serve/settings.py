"""Limits and options of the HTTP server."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from agentic_rag.agent.settings import load_settings

__all__ = ["ServeSettings", "keys_from_environment"]


class ServeSettings(BaseModel):
    """What the server accepts and how much work it takes on at once.

    With no ``api_keys`` every caller is let in; with some, a request needs one of them as a bearer token.
    ``allowed_hosts`` guards against DNS rebinding: a page of another site cannot reach a server on
    localhost through a name of its own.
    """

    api_keys: tuple[str, ...] = ()
    max_concurrent: int = Field(default=4, ge=1, description="Runs executing at once.")
    max_queued: int = Field(default=32, ge=0, description="Runs waiting for a free slot; beyond that, 429.")
    max_body_bytes: int = Field(default=1_000_000, ge=1024, description="Largest request body; beyond it, 413.")
    max_question_chars: int = Field(default=4000, ge=1, description="Longest question; beyond it, 422.")
    threads_db: str | Path | None = Field(
        default=None, description="SQLite file or postgresql:// URL of the threads; None keeps them in memory.",
    )
    allowed_hosts: tuple[str, ...] | None = Field(
        default=("localhost", "127.0.0.1", "[::1]"),
        description="Host header values accepted (others: 400); by default the loopback names; '*' or None allows any.")
    keep_alive_seconds: float = Field(default=15.0, gt=0, description="A silent event stream gets a comment this often.")


def keys_from_environment() -> tuple[str, ...]:
    """The keys in ``AGENTIC_RAG_API_KEY`` (one, or several separated by commas)."""
    return load_settings().api_keys()
