"""The server's parts on their own: streamed text, message history, caller identity, thread locks."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi", reason="the serve extra is not installed")

from agentic_rag.serve.api_errors import APIError  # noqa: E402
from agentic_rag.serve.auth import BearerAuth  # noqa: E402
from agentic_rag.serve.openai_protocol import (  # noqa: E402
    ChatMessage,
    ContentStream,
    question_and_history,
)
from agentic_rag.serve.threads import ThreadLocks, thread_id  # noqa: E402


def test_streamed_text_then_the_markers():
    stream = ContentStream()
    sent = [stream.token(t) for t in [" ", "Ines ", "Okafor", "  "]]
    assert sent == ["", "Ines", " Okafor", ""]  # whitespace at either end waits for more text
    assert stream.final("Ines Okafor [1][2]") == " [1][2]"
    assert stream.sent == "Ines Okafor [1][2]"


def test_a_restarted_answer_cannot_be_taken_back_so_the_final_text_follows():
    stream = ContentStream()
    stream.token("Harbor")
    assert stream.token("", reset=True) == "" and stream.token("Ines Okafor") == ""
    assert stream.final("Ines Okafor [1]") == "\n\nInes Okafor [1]"


def test_no_tokens_at_all_sends_the_whole_text():
    assert ContentStream().final("I cannot answer this from the sources.") == "I cannot answer this from the sources."


def test_history_pairs_user_and_assistant_messages():
    messages = [ChatMessage(role="system", content="Be brief."),
                ChatMessage(role="user", content=[{"type": "text", "text": "Who owns Relay?"}]),
                ChatMessage(role="assistant", content="Harbor [1]"),
                ChatMessage(role="user", content="And who leads it?")]
    question, turns = question_and_history(messages)
    assert question == "And who leads it?"
    assert turns == [{"message": "Who owns Relay?", "question": "Who owns Relay?", "answer": "Harbor [1]"}]


def test_callers_are_named_by_their_token_never_by_the_token_itself():
    open_server = BearerAuth([])
    anonymous, alice = open_server.caller(None), open_server.caller("Bearer alice")
    assert anonymous != alice and "alice" not in alice
    keyed = BearerAuth(["alice", "bob"])
    assert keyed.caller("Bearer bob") == open_server.caller("bearer bob")
    for header in (None, "Bearer ", "Bearer carol", "Token alice"):
        with pytest.raises(APIError) as caught:
            keyed.caller(header)
        assert caught.value.status == 401
    assert thread_id(alice, "c1") != thread_id(keyed.caller("Bearer bob"), "c1")


def test_thread_locks_are_dropped_when_unused():
    locks = ThreadLocks()
    with locks.hold("t1"), locks.hold("t2"):
        assert len(locks) == 2
    assert len(locks) == 0
