"""Conversation ids: checked, namespaced by caller, and one turn at a time per thread."""

from __future__ import annotations

import re
import threading

from agentic_rag.serve.api_errors import APIError
from agentic_rag.serve.auth import Caller

__all__ = ["TurnClaims", "thread_id", "check_conversation_id"]

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
