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

    def overlap(question: str) -> None:  # each model call takes a moment, so runs overlap
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.02)
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
