"""The HTTP API through the official openai client and raw HTTP: answers, streams, events, errors."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("fastapi", reason="the serve extra is not installed")
openai = pytest.importorskip("openai")
import httpx  # noqa: E402

from agentic_rag.events import FinalAnswer, parse_event  # noqa: E402
from agentic_rag.serve.app import create_app  # noqa: E402
from agentic_rag.serve.settings import ServeSettings  # noqa: E402
from tests.serve.http_world import ReadingModel, agent_factory, knowledge_base, running  # noqa: E402

KEY = "key-alpha"
SETTINGS = ServeSettings(api_keys=("key-alpha", "key-beta"), max_question_chars=200, max_body_bytes=20_000)


@pytest.fixture(scope="module")
def server():
    app = create_app(agent_factory(ReadingModel(), knowledge_base()), SETTINGS)
    with running(app) as url:
        yield url


@pytest.fixture
def client(server):
    return openai.OpenAI(base_url=f"{server}/v1", api_key=KEY, max_retries=0)


def auth(key: str = KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def sse_events(response: httpx.Response) -> list[tuple[str | None, str]]:
    """(event name, data) of each server-sent event."""
    events, name = [], None
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line[len("event: "):]
        elif line.startswith("data: "):
            events.append((name, line[len("data: "):]))
            name = None
    return events


def test_the_models_are_the_graphs(client):
    models = {m.id: m.model_extra["graph"] for m in client.models.list()}
    assert models == {"agentic-rag": "agentic", "agentic-rag-traditional": "traditional", "agentic-rag-research": "research"}
    assert client.models.retrieve("agentic-rag-traditional").id == "agentic-rag-traditional"


@pytest.mark.parametrize("model", ["agentic-rag", "agentic-rag-traditional"])
def test_an_answer_carries_its_citations_and_usage(client, model):
    reply = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Who owns orbit07?"}])
    message = reply.choices[0].message
    assert message.content == "Falcon07 [1]"
    assert reply.choices[0].finish_reason == "stop" and reply.model == model
    [citation] = message.model_extra["citations"]
    assert citation["marker"] == 1 and citation["evidence_id"] == "services/orbit07.md#0"
    assert citation["source"] == "services/orbit07.md" and citation["supported"] is True
    assert citation["quote"] == "The orbit07 service is owned by the Falcon07 team."
    assert reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    assert reply.model_extra["exit_reason"] == "answered" and reply.model_extra["conversation_id"] is None


@pytest.mark.parametrize("model", ["agentic-rag", "agentic-rag-traditional"])
def test_a_streamed_answer_in_openai_chunks(client, model):
    chunks = list(client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Who leads orbit05?"}], stream=True,
        stream_options={"include_usage": True},
    ))
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Avery05 [1]"
    last = [c for c in chunks if c.choices][-1]
    assert last.choices[0].finish_reason == "stop"
    [citation] = last.choices[0].delta.model_extra["citations"]
    assert citation["quote"] == "The Falcon05 team is led by Avery05."
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0


def test_the_stream_ends_with_done_and_tokens_arrive_before_the_end(server):
    body = {"model": "agentic-rag-traditional", "stream": True,
            "messages": [{"role": "user", "content": "Who owns orbit11?"}]}
    with httpx.stream("POST", f"{server}/v1/chat/completions", json=body, headers=auth()) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        data = [d for _, d in sse_events(response)]
    assert data[-1] == "[DONE]"
    deltas = [json.loads(d)["choices"][0]["delta"].get("content") for d in data[1:-1]]
    assert deltas[:2] == ["Falcon11", " [1]"]  # the model's tokens, then the markers


def test_earlier_messages_are_the_history_of_a_follow_up(client):
    reply = client.chat.completions.create(model="agentic-rag", messages=[
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Who owns orbit04?"},
        {"role": "assistant", "content": "Falcon04 [1]"},
        {"role": "user", "content": "And who leads it?"},
    ])
    assert reply.choices[0].message.content == "Avery04 [1]"
    assert reply.model_extra["question"] == "who leads orbit04?"


def test_the_native_stream_names_each_step(server):
    body = {"question": "Who owns orbit02?", "conversation_id": "native-1"}
    with httpx.stream("POST", f"{server}/v1/research", json=body, headers=auth()) as response:
        assert response.status_code == 200 and response.headers["x-conversation-id"] == "native-1"
        events = sse_events(response)
    names = [name for name, _ in events]
    assert names[:5] == ["plan", "tool_started", "tool_finished", "evidence", "verdict"] and names[-1] == "answer"
    for name, data in events:
        assert parse_event(data).type == name
    final = parse_event(events[-1][1])
    assert isinstance(final, FinalAnswer) and final.answer.text == "Falcon02 [1]"
    assert final.answer.citations[0].quote == "The orbit02 service is owned by the Falcon02 team."


def test_health_and_the_chat_page_need_no_key(server):
    assert httpx.get(f"{server}/healthz").json()["status"] == "ok"
    page = httpx.get(f"{server}/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "/static/chat.js" in page.text and "://" not in page.text  # nothing from elsewhere
    for asset in ("chat.js", "chat.css"):
        response = httpx.get(f"{server}/static/{asset}")
        assert response.status_code == 200 and "://" not in response.text


def _error(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    return error


def test_a_key_is_required_and_checked(server, client):
    body = {"model": "agentic-rag", "messages": [{"role": "user", "content": "Who owns orbit01?"}]}
    error = _error(httpx.post(f"{server}/v1/chat/completions", json=body), 401)
    assert error["code"] == "missing_api_key"
    error = _error(httpx.post(f"{server}/v1/chat/completions", json=body, headers=auth("key-gamma")), 401)
    assert error["code"] == "invalid_api_key" and error["type"] == "authentication_error"
    _error(httpx.get(f"{server}/v1/models", headers={"Authorization": "Basic a2V5"}), 401)
    wrong = openai.OpenAI(base_url=f"{server}/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        wrong.models.list()
    second = openai.OpenAI(base_url=f"{server}/v1", api_key="key-beta", max_retries=0)
    assert len(second.models.list().data) == 3
    for headers in ({}, auth("key-gamma")):  # the event stream is guarded like the rest of /v1
        assert _error(httpx.post(f"{server}/v1/research", json={"question": "Who owns orbit01?"}, headers=headers), 401)


def test_unknown_models_and_routes_are_404(server, client):
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Who owns orbit01?"}])
    assert caught.value.body["code"] == "model_not_found" and caught.value.body["param"] == "model"
    assert _error(httpx.get(f"{server}/v2/nothing", headers=auth()), 404)["code"] == "not_found"
    assert _error(httpx.get(f"{server}/v1/models/nope", headers=auth()), 404)["code"] == "model_not_found"
    assert _error(httpx.get(f"{server}/v1/chat/completions", headers=auth()), 405)["code"] == "method_not_allowed"


def test_too_large_bodies_and_questions(server):
    huge = {"model": "agentic-rag", "messages": [{"role": "user", "content": "x" * 30_000}]}
    assert _error(httpx.post(f"{server}/v1/chat/completions", json=huge, headers=auth()), 413)["code"] == "request_too_large"

    def chunked():  # no Content-Length: the limit still holds
        for _ in range(30):
            yield b" " * 1000

    refused = httpx.post(f"{server}/v1/research", content=chunked(), headers=auth() | {"Content-Type": "application/json"})
    _error(refused, 413)
    long = {"model": "agentic-rag", "messages": [{"role": "user", "content": "Who owns orbit01? " * 20}]}
    error = _error(httpx.post(f"{server}/v1/chat/completions", json=long, headers=auth()), 422)
    assert error["code"] == "question_too_long"
    error = _error(httpx.post(f"{server}/v1/research", json={"question": "y" * 201}, headers=auth()), 422)
    assert error["code"] == "question_too_long"


@pytest.mark.parametrize(
    ("body", "status", "code", "param"),
    [
        (b"{not json", 400, "invalid_json", None),
        ({"model": "agentic-rag"}, 422, "invalid_value", "messages"),
        ({"model": "agentic-rag", "messages": []}, 422, "invalid_value", "messages"),
        ({"model": "agentic-rag", "messages": [{"role": "robot", "content": "hi"}]}, 422, "invalid_value", "messages.0.role"),
        ({"model": "agentic-rag", "messages": [{"role": "user", "content": "Who?"}, {"role": "assistant", "content": "A"}]},
         400, "invalid_messages", "messages"),
        ({"model": "agentic-rag", "messages": [{"role": "user", "content": "   "}]}, 400, "empty_question", "messages"),
        ({"model": "agentic-rag", "conversation_id": "a/b", "messages": [{"role": "user", "content": "Who?"}]},
         400, "invalid_conversation_id", "conversation_id"),
    ],
)
def test_bad_chat_requests(server, body, status, code, param):
    kwargs = {"content": body, "headers": auth() | {"Content-Type": "application/json"}} if isinstance(body, bytes) \
        else {"json": body, "headers": auth()}
    error = _error(httpx.post(f"{server}/v1/chat/completions", **kwargs), status)
    assert (error["code"], error["param"]) == (code, param)


def test_bad_research_requests(server):
    assert _error(httpx.post(f"{server}/v1/research", json={"question": "Who?", "colour": "red"}, headers=auth()), 422)["param"] == "colour"
    assert _error(httpx.post(f"{server}/v1/research", json={"question": "Who?", "model": "x"}, headers=auth()), 404)
    different = httpx.post(f"{server}/v1/research", json={"question": "Who?", "conversation_id": "a"},
                           headers=auth() | {"X-Conversation-Id": "b"})
    assert _error(different, 400)["code"] == "invalid_conversation_id"


def test_a_failing_run_is_a_500_and_the_server_goes_on(server, client):
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model="agentic-rag", messages=[{"role": "user", "content": "Please explode orbit01"}])
    assert caught.value.body["code"] == "run_failed" and caught.value.body["type"] == "server_error"

    body = {"model": "agentic-rag", "stream": True, "messages": [{"role": "user", "content": "Please explode orbit01"}]}
    with httpx.stream("POST", f"{server}/v1/chat/completions", json=body, headers=auth()) as response:
        data = [d for _, d in sse_events(response)]
    assert data[-1] == "[DONE]" and json.loads(data[-2])["error"]["code"] == "run_failed"
    with pytest.raises(openai.APIError):
        list(client.chat.completions.create(**body))

    with httpx.stream("POST", f"{server}/v1/research", json={"question": "explode orbit01"}, headers=auth()) as response:
        events = sse_events(response)
    assert events[-1][0] == "error" and json.loads(events[-1][1])["error"]["code"] == "run_failed"

    reply = client.chat.completions.create(model="agentic-rag", messages=[{"role": "user", "content": "Who owns orbit09?"}])
    assert reply.choices[0].message.content == "Falcon09 [1]"


def test_a_failed_run_is_not_retried_by_the_openai_client():
    asked = []
    app = create_app(agent_factory(ReadingModel(on_question=asked.append), knowledge_base()), ServeSettings())
    with running(app) as url:
        retrying = openai.OpenAI(base_url=f"{url}/v1", api_key="k", max_retries=2)
        with pytest.raises(openai.InternalServerError) as caught:
            retrying.chat.completions.create(model="agentic-rag", messages=[{"role": "user", "content": "Please explode orbit01"}])
    assert caught.value.response.headers["x-should-retry"] == "false"
    assert sum("explode" in question for question in asked) == 1


def test_a_500_names_only_the_exception_type():
    def make_agent(graph, checkpointer):
        agent = agent_factory(ReadingModel(), knowledge_base())(graph, checkpointer)
        agent.ask = agent.stream = lambda *a, **kw: (_ for _ in ()).throw(OSError("/srv/secret/index.db is locked"))
        return agent

    with running(create_app(make_agent, ServeSettings())) as url:
        body = {"model": "agentic-rag", "messages": [{"role": "user", "content": "Who owns orbit01?"}]}
        error = _error(httpx.post(f"{url}/v1/chat/completions", json=body), 500)
        assert error["message"] == "the run failed: OSError" and error["code"] == "run_failed"
        with httpx.stream("POST", f"{url}/v1/research", json={"question": "Who owns orbit01?"}) as response:
            events = sse_events(response)
    assert events[-1][0] == "error" and "secret" not in events[-1][1]


def test_the_history_is_held_to_the_question_limit(server):
    def ask(history: list[dict]) -> httpx.Response:
        messages = [*history, {"role": "user", "content": "And who leads it?"}]
        return httpx.post(f"{server}/v1/chat/completions", json={"model": "agentic-rag", "messages": messages}, headers=auth())

    def turn(question: str, answer: str) -> list[dict]:
        return [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]

    error = _error(ask(turn("Who owns orbit04?", "F" * 201)), 422)  # the limit is 200 characters
    assert (error["code"], error["param"]) == ("history_too_long", "messages")
    error = _error(ask(turn("Who owns orbit04?", "Falcon04 " * 20) * 5), 422)  # 5 x 197 > 4 x 200
    assert error["code"] == "history_too_long" and "in all" in error["message"]
    assert ask(turn("Who owns orbit04?", "Falcon04 [1]") * 3).status_code == 200


def test_the_chat_page_allows_only_its_own_scripts(server):
    assert httpx.get(f"{server}/").headers["content-security-policy"] == "default-src 'self'"


def test_the_app_itself_accepts_only_loopback_host_names_by_default():
    from fastapi.testclient import TestClient

    app = create_app(agent_factory(ReadingModel(), knowledge_base()), ServeSettings())
    with TestClient(app, base_url="http://127.0.0.1") as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/healthz", headers={"Host": "localhost:8000"}).status_code == 200
        assert client.get("/healthz", headers={"Host": "evil.example"}).status_code == 400  # DNS rebinding
        assert client.post("/v1/research", json={"question": "Who owns orbit01?"},
                           headers={"Host": "evil.example"}).status_code == 400
