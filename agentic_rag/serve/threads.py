"""Conversation ids: checked, namespaced by caller, and one turn at a time per thread."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from .api_errors import APIError
from .auth import Caller

__all__ = ["ThreadLocks", "thread_id", "check_conversation_id"]

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


class ThreadLocks:
    """One lock per thread, held for a whole turn, so two requests on one conversation do not interleave.

    A lock lives only while some request holds or waits for it.
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, int]] = {}

    @contextmanager
    def hold(self, thread: str) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.get(thread, (threading.Lock(), 0))
            self._locks[thread] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                lock, users = self._locks[thread]
                if users == 1:
                    del self._locks[thread]
                else:
                    self._locks[thread] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)
