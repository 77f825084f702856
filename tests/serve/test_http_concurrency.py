"""Many clients at once: every answer reaches its own asker; a full queue answers 429."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

pytest.importorskip("fastapi", reason="the serve extra is not installed")
openai = pytest.importorskip("openai")
import httpx  # noqa: E402

from agentic_rag.serve.app import create_app  # noqa: E402
from agentic_rag.serve.settings import ServeSettings  # noqa: E402
from tests.serve.http_world import (  # noqa: E402
    SERVICES,
    ReadingModel,
    agent_factory,
    knowledge_base,
    lead,
    owner,
    running,
)


def test_twenty_concurrent_requests_each_get_their_own_answer():
    lock, active, peak = threading.Lock(), [0], [0]
    overlapped = threading.Event()

    def overlap(question: str) -> None:  # the first model calls wait until another run is in one too
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
            if active[0] >= 2:
                overlapped.set()
        overlapped.wait(timeout=10)
        with lock:
            active[0] -= 1

    model = ReadingModel(on_question=overlap)
    app = create_app(agent_factory(model, knowledge_base()), ServeSettings(max_concurrent=4, max_queued=32))
    start = threading.Barrier(20)

    def ask(n: int) -> tuple[int, str, str]:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key=f"client-{n}", max_retries=0)
        leads = n % 2 == 1
        question = f"Who {'leads' if leads else 'owns'} orbit{n:02d}?"
        model = "agentic-rag" if n % 4 < 2 else "agentic-rag-traditional"
        conversation = {"conversation_id": f"conv-{n}"} if n % 3 == 0 else {}
        start.wait()
        if n % 5 in (0, 1):  # some streamed
            chunks = client.chat.completions.create(model=model, messages=[{"role": "user", "content": question}],
                                                    stream=True, extra_body=conversation)
            text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        else:
            reply = client.chat.completions.create(model=model, messages=[{"role": "user", "content": question}],
                                                   extra_body=conversation)
            text = reply.choices[0].message.content
        return n, question, text

    with running(app) as url, ThreadPoolExecutor(20) as pool:
        results = list(pool.map(ask, range(20)))
    assert len(results) == 20 and SERVICES >= 20
    for n, question, text in results:
        expected = lead(n) if "leads" in question else owner(n)
        assert text == f"{expected} [1]", (question, text)
    assert 2 <= peak[0] <= 4  # runs did overlap, and never more than max_concurrent at once


def test_a_full_queue_answers_429_and_the_admitted_runs_finish():
    entered, release = threading.Event(), threading.Event()

    def hold(question: str) -> None:
        if "orbit20" in question:
            entered.set()
            release.wait(timeout=30)

    app = create_app(agent_factory(ReadingModel(on_question=hold), knowledge_base()),
                     ServeSettings(max_concurrent=1, max_queued=1))

    def ask(service: str) -> httpx.Response:
        body = {"model": "agentic-rag-traditional", "messages": [{"role": "user", "content": f"Who owns {service}?"}]}
        return httpx.post(f"{url}/v1/chat/completions", json=body, timeout=60)

    with running(app) as url, ThreadPoolExecutor(2) as pool:
        running_run = pool.submit(ask, "orbit20")
        assert entered.wait(timeout=20)
        waiting_run = pool.submit(ask, "orbit21")
        deadline = time.monotonic() + 20
        while httpx.get(f"{url}/healthz").json()["waiting"] < 1:
            assert time.monotonic() < deadline, "the second request never queued"
            time.sleep(0.02)
        refused = ask("orbit22")
        assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
        error = refused.json()["error"]
        assert error["type"] == "rate_limit_error" and error["code"] == "queue_full"
        streamed = httpx.post(f"{url}/v1/research", json={"question": "Who owns orbit22?"})
        assert streamed.status_code == 429
        release.set()
        assert running_run.result(timeout=30).json()["choices"][0]["message"]["content"] == "Falcon20 [1]"
        assert waiting_run.result(timeout=30).json()["choices"][0]["message"]["content"] == "Falcon21 [1]"
        assert ask("orbit22").status_code == 200
        assert httpx.get(f"{url}/healthz").json() == {"status": "ok", "running": 0, "waiting": 0}


def _held_app(settings: ServeSettings, held: str = "orbit20"):
    """An app whose model blocks on questions about ``held`` until released; the questions it saw."""
    entered, release, seen = threading.Event(), threading.Event(), []

    def hold(question: str) -> None:
        seen.append(question)
        if held in question:
            entered.set()
            release.wait(timeout=30)

    app = create_app(agent_factory(ReadingModel(on_question=hold), knowledge_base()), settings)
    return app, entered, release, seen


def _wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + 20
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def test_a_queued_run_whose_client_left_never_runs():
    app, entered, release, seen = _held_app(ServeSettings(max_concurrent=1, max_queued=4))
    runs, start = [], app.state.slots.start
    app.state.slots.start = lambda *a, **kw: runs.append(start(*a, **kw)) or runs[-1]

    def ask(service: str, **options) -> httpx.Response:
        body = {"model": "agentic-rag-traditional", "messages": [{"role": "user", "content": f"Who owns {service}?"}]}
        return httpx.post(f"{url}/v1/chat/completions", json=body | options.pop("body", {}), **options)

    with running(app) as url, ThreadPoolExecutor(1) as pool:
        first = pool.submit(ask, "orbit20", timeout=60)
        assert entered.wait(timeout=20)
        body = {"model": "agentic-rag", "stream": True, "messages": [{"role": "user", "content": "Who owns orbit21?"}]}
        with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=10) as streamed:
            assert streamed.status_code == 200  # then the client hangs up while the run waits
        with pytest.raises(httpx.ReadTimeout):
            ask("orbit22", timeout=0.5)  # a client that gives up on a non-streamed answer
        _wait_until(lambda: len(runs) == 3 and runs[1].cancelled and runs[2].cancelled, "the runs were not cancelled")
        release.set()
        assert first.result(timeout=30).json()["choices"][0]["message"]["content"] == "Falcon20 [1]"
        _wait_until(lambda: httpx.get(f"{url}/healthz").json()["waiting"] == 0, "the cancelled runs stayed queued")
        assert httpx.get(f"{url}/healthz").json() == {"status": "ok", "running": 0, "waiting": 0}
    assert not [q for q in seen if "orbit21" in q or "orbit22" in q]  # the model never saw them


def test_a_second_turn_of_a_busy_conversation_is_409_and_other_conversations_go_on():
    app, entered, release, _ = _held_app(ServeSettings(max_concurrent=2, max_queued=4))

    def ask(service: str, conversation: str) -> httpx.Response:
        body = {"model": "agentic-rag", "conversation_id": conversation,
                "messages": [{"role": "user", "content": f"Who owns {service}?"}]}
        return httpx.post(f"{url}/v1/chat/completions", json=body, timeout=20)

    with running(app) as url, ThreadPoolExecutor(1) as pool:
        first = pool.submit(ask, "orbit20", "busy")
        assert entered.wait(timeout=20)
        refused = ask("orbit03", "busy")
        assert refused.status_code == 409 and refused.headers["x-should-retry"] == "false"
        assert refused.json()["error"] == {"message": "a turn of this conversation is already running; wait for its answer",
                                           "type": "invalid_request_error", "param": "conversation_id",
                                           "code": "conversation_busy"}
        research = httpx.post(f"{url}/v1/research", json={"question": "Who owns orbit03?", "conversation_id": "busy"})
        assert research.status_code == 409
        assert ask("orbit03", "other").json()["choices"][0]["message"]["content"] == "Falcon03 [1]"
        assert httpx.get(f"{url}/healthz").json()["waiting"] == 0  # the refused turns took no slot
        release.set()
        assert first.result(timeout=30).json()["choices"][0]["message"]["content"] == "Falcon20 [1]"
        assert ask("orbit03", "busy").json()["choices"][0]["message"]["content"] == "Falcon03 [1]"


@pytest.mark.parametrize("route", ["/v1/chat/completions", "/v1/research"])
def test_a_silent_stream_sends_keep_alive_comments(route):
    app, entered, release, _ = _held_app(ServeSettings(max_concurrent=1, keep_alive_seconds=0.1))
    body = {"question": "Who owns orbit20?"} if route == "/v1/research" else \
        {"model": "agentic-rag", "stream": True, "messages": [{"role": "user", "content": "Who owns orbit20?"}]}
    with running(app) as url:
        threading.Timer(15, release.set).start()  # only if the comments never come
        lines: list[str] = []
        with httpx.stream("POST", f"{url}{route}", json=body, timeout=20) as response:
            for line in response.iter_lines():
                lines.append(line)
                if lines.count(": keep-alive") == 2:
                    release.set()  # the run answers once two comments have kept the stream open
    assert entered.is_set() and lines.count(": keep-alive") >= 2
    data = [line for line in lines if line.startswith("data: ")]
    assert any("Falcon20" in line for line in data)
    if route == "/v1/chat/completions":
        assert data[-1] == "data: [DONE]"
    else:
        assert [line for line in lines if line.startswith("event: ")][-1] == "event: answer"


def test_the_openai_client_reads_a_stream_with_keep_alive_comments():
    app, _, release, _ = _held_app(ServeSettings(keep_alive_seconds=0.1))
    with running(app) as url:
        threading.Timer(0.5, release.set).start()
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="k", max_retries=0)
        chunks = client.chat.completions.create(model="agentic-rag", stream=True,
                                                messages=[{"role": "user", "content": "Who owns orbit20?"}])
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Falcon20 [1]"
