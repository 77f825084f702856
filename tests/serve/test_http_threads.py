"""Conversations kept server-side: follow-ups, isolation between keys, failures, and SQLite persistence."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("fastapi", reason="the serve extra is not installed")
openai = pytest.importorskip("openai")
import httpx  # noqa: E402

from agentic_rag.serve.app import create_app  # noqa: E402
from agentic_rag.serve.settings import ServeSettings  # noqa: E402
from tests.serve.http_world import ReadingModel, agent_factory, knowledge_base, running  # noqa: E402

NO_ANSWER = "I cannot answer this from the sources."


@pytest.fixture(scope="module")
def server():
    app = create_app(agent_factory(ReadingModel(), knowledge_base()), ServeSettings(api_keys=("key-a", "key-b")))
    with running(app) as url:
        yield url


def client(server: str, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server}/v1", api_key=key, max_retries=0)


def say(openai_client: openai.OpenAI, text: str, conversation: str, model: str = "agentic-rag"):
    return openai_client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": text}], extra_body={"conversation_id": conversation}
    )


def test_a_conversation_keeps_its_history_on_the_server(server):
    a = client(server, "key-a")
    first = say(a, "Who owns orbit03?", "c-history")
    assert first.choices[0].message.content == "Falcon03 [1]" and first.model_extra["conversation_id"] == "c-history"
    follow_up = say(a, "And who leads it?", "c-history")  # only the new message is sent
    assert follow_up.choices[0].message.content == "Avery03 [1]"
    assert follow_up.model_extra["question"] == "who leads orbit03?"
    # the header names the same conversation; the thread may switch graphs
    again = a.chat.completions.create(
        model="agentic-rag-traditional", messages=[{"role": "user", "content": "And who owns it?"}],
        extra_headers={"X-Conversation-Id": "c-history"},
    )
    assert again.choices[0].message.content == "Falcon03 [1]"


def test_the_same_conversation_id_under_another_key_is_another_thread(server):
    a, b = client(server, "key-a"), client(server, "key-b")
    assert say(a, "Who owns orbit06?", "shared-name").choices[0].message.content == "Falcon06 [1]"
    other = say(b, "And who leads it?", "shared-name")
    assert other.model_extra["question"] == "And who leads it?"  # no history: nothing to rewrite with
    assert other.choices[0].message.content == NO_ANSWER
    assert say(b, "Who owns orbit08?", "shared-name").choices[0].message.content == "Falcon08 [1]"
    # each key still sees only its own turns
    assert say(a, "And who leads it?", "shared-name").choices[0].message.content == "Avery06 [1]"
    assert say(b, "And who leads it?", "shared-name").choices[0].message.content == "Avery08 [1]"


def test_an_unknown_conversation_id_starts_a_thread(server):
    reply = say(client(server, "key-a"), "Who leads orbit12?", "never-seen-before")
    assert reply.choices[0].message.content == "Avery12 [1]"
    steps = _steps(server, "key-a", "never-seen-before-2", "Who owns orbit12?")
    assert "rewrite" not in [s["kind"] for s in steps]  # a new thread has no history to rewrite with


def _steps(server: str, key: str, conversation: str, question: str) -> list[dict]:
    body = {"question": question, "conversation_id": conversation}
    with httpx.stream("POST", f"{server}/v1/research", json=body, headers={"Authorization": f"Bearer {key}"}) as response:
        lines = [line for line in response.iter_lines() if line.startswith("data: ")]
    return json.loads(lines[-1][len("data: "):])["answer"]["steps"]


def test_a_failed_turn_is_dropped_and_the_conversation_goes_on(server):
    a = client(server, "key-a")
    say(a, "Who owns orbit14?", "c-failure")
    with pytest.raises(openai.InternalServerError):
        say(a, "Now explode", "c-failure")
    follow_up = say(a, "And who leads it?", "c-failure")
    assert follow_up.choices[0].message.content == "Avery14 [1]"


def test_threads_in_sqlite_outlive_the_server(tmp_path):
    settings = ServeSettings(threads_db=tmp_path / "threads.sqlite")
    kb, model = knowledge_base(), ReadingModel()
    with running(create_app(agent_factory(model, kb), settings)) as url:
        assert say(client(url, "k"), "Who owns orbit15?", "kept").choices[0].message.content == "Falcon15 [1]"
    with running(create_app(agent_factory(model, kb), settings)) as url:
        assert say(client(url, "k"), "And who leads it?", "kept").choices[0].message.content == "Avery15 [1]"
        # without keys configured, the token still names the caller: another token, another thread
        assert say(client(url, "other"), "And who leads it?", "kept").choices[0].message.content == NO_ANSWER


def test_a_finished_turn_leaves_no_research_run_behind():
    from langgraph.checkpoint.memory import InMemorySaver

    from agentic_rag.agent.conversation import state_serializer

    saver = InMemorySaver(serde=state_serializer())
    app = create_app(agent_factory(ReadingModel(), knowledge_base()), ServeSettings(), checkpointer=saver)
    with running(app) as url:
        a = client(url, "k")
        assert say(a, "Who owns orbit05?", "tidy").choices[0].message.content == "Falcon05 [1]"
        streamed = a.chat.completions.create(model="agentic-rag-traditional", stream=True,
                                             messages=[{"role": "user", "content": "And who leads it?"}],
                                             extra_body={"conversation_id": "tidy"})
        assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices) == "Avery05 [1]"
        assert _steps(url, "k", "tidy", "And who owns it?")[0]["kind"] == "rewrite"  # the history is still there
    threads = {key for key in saver.storage if saver.storage[key]}
    assert len(threads) == 1 and not any("/turn-" in key for key in threads), threads
