"""The server's parts on their own: streamed text, message history, caller identity, turn claims, run slots."""

from __future__ import annotations

import asyncio
import threading

import pytest

pytest.importorskip("fastapi", reason="the serve extra is not installed")

from agentic_rag.graphs.citations import check_citations  # noqa: E402
from agentic_rag.graphs.nodes import append_markers  # noqa: E402
from agentic_rag.serve.api_errors import APIError  # noqa: E402
from agentic_rag.serve.auth import BearerAuth  # noqa: E402
from agentic_rag.serve.openai_protocol import (  # noqa: E402
    ChatMessage,
    ContentStream,
    question_and_history,
)
from agentic_rag.serve.run_slots import RunSlots, ServerBusy  # noqa: E402
from agentic_rag.serve.threads import TurnClaims, thread_id  # noqa: E402
from tests.serve.http_world import knowledge_base  # noqa: E402


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


def test_inline_markers_are_not_streamed_and_the_final_text_continues_the_stream():
    written = "The owner is Falcon07 [3]."
    passages = knowledge_base().search("orbit07 owner", k=3)
    final, _, _ = check_citations(append_markers(written, [3]), passages)  # as the answer node does
    assert final == "The owner is Falcon07 . [1]"
    stream = ContentStream()
    sent = [stream.token(t) for t in ["The owner is ", "Falcon07 [", "3", "]", "."]]
    assert "".join(sent) == "The owner is Falcon07 ."
    assert stream.final(final) == " [1]"
    assert stream.sent == final


def test_inline_markers_kept_in_the_final_text_do_not_repeat_the_answer():
    stream = ContentStream()
    for token in ["Falcon07 [2] leads", " it [1]."]:
        stream.token(token)
    assert stream.final("Falcon07 [1] leads it [2].") == " [1][2]"
    assert stream.sent == "Falcon07  leads it . [1][2]"


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


def test_a_thread_is_claimed_by_one_turn_at_a_time():
    claims = TurnClaims()
    assert claims.claim("t1") and claims.claim("t2") and not claims.claim("t1")
    claims.release("t1")
    assert claims.claim("t1") and len(claims) == 2


class _Blocker:
    """A run that holds the only worker until released, and a record of the runs that started."""

    def __init__(self) -> None:
        self.started, self.release, self.ran = threading.Event(), threading.Event(), []

    def blocking(self):
        self.started.set()
        self.release.wait(timeout=10)
        yield "first"

    def queued(self):
        self.ran.append("queued")
        yield "second"


async def _one_running_one_queued():
    """One slot: a blocking run holds it and a second run waits; ``ended`` records the second's end."""
    slots, runs, ended = RunSlots(max_concurrent=1, max_queued=2), _Blocker(), []
    first = slots.start(runs.blocking)
    second = slots.start(runs.queued, on_end=lambda: ended.append("second"))
    assert await asyncio.to_thread(runs.started.wait, 10)
    return slots, runs, ended, first, second


def test_shutdown_drops_queued_runs_and_ends_their_requests():
    async def scenario() -> None:
        slots, runs, ended, first, second = await _one_running_one_queued()
        slots.shutdown()
        with pytest.raises(ServerBusy, match="shutting down"):
            await asyncio.wait_for(anext(second), 5)  # at once, not after the running run
        assert slots.admitted == 1 and ended == ["second"]
        runs.release.set()
        assert [item async for item in first] == ["first"]
        assert runs.ran == [] and slots.admitted == 0 and slots.running == 0

    asyncio.run(scenario())


def test_a_cancelled_queued_run_is_skipped():
    async def scenario() -> None:
        slots, runs, ended, first, second = await _one_running_one_queued()
        second.cancel()  # its client went away while it waited
        runs.release.set()
        assert [item async for item in first] == ["first"]
        assert await asyncio.wait_for(_drain(second), 5) == []
        assert runs.ran == [] and ended == ["second"] and slots.admitted == 0
        slots.shutdown()

    asyncio.run(scenario())


async def _drain(run) -> list:
    return [item async for item in run]
