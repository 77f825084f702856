"""Conversation ids: checked, namespaced by caller, and one turn at a time per thread."""

from __future__ import annotations

import re
import threading

from agentic_rag.serve.api_errors import APIError
from agentic_rag.serve.auth import Caller

__all__ = ["PostgresTurnClaims", "TurnClaims", "thread_id", "check_conversation_id", "turn_claims_for"]

_CONVERSATION_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")


def check_conversation_id(conversation_id: str) -> str:
    """The id itself, or a 400 when it is not 1-128 letters, digits, ``_ . : -``."""
    if not _CONVERSATION_ID.fullmatch(conversation_id):
        raise APIError(400, "conversation_id must be 1-128 letters, digits, '_', '.', ':' or '-'",
                       code="invalid_conversation_id", param="conversation_id")
    return conversation_id


def thread_id(caller: Caller, conversation_id: str) -> str:
    """The checkpointer's thread id of a caller's conversation: another caller's same id is another thread."""
    return f"{caller}:{check_conversation_id(conversation_id)}"


class TurnClaims:
    """The threads with a turn admitted and not yet over: one turn at a time per conversation.

    A request claims its thread before it asks for a run slot; a second request on a claimed thread is
    refused at once (409) instead of holding a slot while it waits.
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._busy: set[str] = set()

    def claim(self, thread: str) -> bool:
        """Claim ``thread``; False if one of its turns is already admitted."""
        with self._guard:
            if thread in self._busy:
                return False
            self._busy.add(thread)
            return True

    def release(self, thread: str) -> None:
        with self._guard:
            self._busy.discard(thread)

    def __len__(self) -> int:
        return len(self._busy)


class PostgresTurnClaims:
    """One turn at a time per conversation across every server process that shares a Postgres.

    A claim is a session-level advisory lock on the thread id, held on a connection of its own for
    the turn; the next process to try gets 409. A process that dies lets go of its locks with its
    connections, so a crash never leaves a conversation stuck.
    """

    def __init__(self, url: str, *, connect_timeout: float = 10.0) -> None:
        import psycopg

        self._connect = lambda: psycopg.connect(url, autocommit=True, connect_timeout=max(1, int(connect_timeout)))
        self._guard = threading.Lock()
        self._held: dict[str, object] = {}

    def claim(self, thread: str) -> bool:
        """Claim ``thread`` here and in the database; False if any process has a turn of it under way."""
        with self._guard:
            if thread in self._held:
                return False
            self._held[thread] = None  # this process's claim, while the database is asked
        conn = None
        try:
            conn = self._connect()
            taken = conn.execute("select pg_try_advisory_lock(hashtextextended(%s, 0))", (thread,)).fetchone()[0]
        except BaseException:
            if conn is not None:
                conn.close()
            with self._guard:
                self._held.pop(thread, None)
            raise
        with self._guard:
            if not taken:
                self._held.pop(thread, None)
                conn.close()
                return False
            self._held[thread] = conn
            return True

    def release(self, thread: str) -> None:
        with self._guard:
            conn = self._held.pop(thread, None)
        if conn is not None:
            conn.close()  # closing the session releases its advisory lock

    def __len__(self) -> int:
        return len(self._held)


def turn_claims_for(threads_db: object) -> TurnClaims | PostgresTurnClaims:
    """Claims shared through Postgres when the threads live there, else this process's own."""
    from agentic_rag.tools.postgres_store import is_postgres_url

    return PostgresTurnClaims(str(threads_db)) if is_postgres_url(str(threads_db)) else TurnClaims()

