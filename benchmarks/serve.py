"""HTTP server benchmark: throughput and latency of `agentic-rag serve` with an instant fake model.

The server runs in its own process (uvicorn, the app of ``agentic_rag.serve``) over a small
knowledge base (24 service documents, hashing embeddings) and the reading fake model of the tests,
so what is measured is the server and the graph, not a language model. This process plays
``--clients`` concurrent clients (asyncio + httpx) firing ``--requests`` requests in all, each
asking about one of the services and checking that the answer is that service's own. Scenarios:

1. ``POST /v1/chat/completions`` on the agentic graph, not streamed;
2. the same, streamed (latency to the first content delta and to ``[DONE]``);
3. ``POST /v1/research`` (the native event stream) on the agentic graph.

For comparison, the same questions run through ``Agent.ask`` in one process with no server, one at
a time: the per-run cost of the graph alone.

    .venv/bin/python benchmarks/serve.py
    .venv/bin/python benchmarks/serve.py --requests 400 --clients 20 --max-concurrent 4

Writes benchmarks/results/serve.json and serve.md (machine, command, commit, figures).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from agentic_rag.eval.report import environment_info  # noqa: E402

log = logging.getLogger("benchmarks.serve")
_SHOWN_PACKAGES = ("langgraph", "fastapi", "uvicorn", "starlette", "httpx")


def _serve(port: int, max_concurrent: int, max_queued: int) -> None:
    """The server process: the fake world behind uvicorn on ``port``."""
    import uvicorn

    from agentic_rag.serve.app import create_app
    from agentic_rag.serve.settings import ServeSettings
    from agentic_rag.testing.service_world import ReadingModel, agent_factory, knowledge_base

    app = create_app(agent_factory(ReadingModel(), knowledge_base()),
                     ServeSettings(max_concurrent=max_concurrent, max_queued=max_queued))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _percentiles(seconds: list[float]) -> dict[str, float]:
    ms = np.asarray(seconds) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 2), "p95_ms": round(float(np.percentile(ms, 95)), 2),
            "p99_ms": round(float(np.percentile(ms, 99)), 2), "mean_ms": round(float(ms.mean()), 2), "n": len(seconds)}


def _question(n: int) -> tuple[str, str]:
    """A question about service ``n`` and the text of its right answer."""
    from agentic_rag.testing.service_world import SERVICES, lead, owner

    service = n % SERVICES
    if n % 2:
        return f"Who leads orbit{service:02d}?", f"{lead(service)} [1]"
    return f"Who owns orbit{service:02d}?", f"{owner(service)} [1]"


async def _one(client: Any, scenario: str, n: int) -> tuple[float, float | None, bool]:
    """Seconds to the whole answer, seconds to the first content (streams), and whether it was right."""
    question, expected = _question(n)
    started = time.perf_counter()
    first = None
    if scenario == "chat":
        body = {"model": "agentic-rag", "messages": [{"role": "user", "content": question}]}
        response = await client.post("/v1/chat/completions", json=body)
        text = response.json()["choices"][0]["message"]["content"] if response.status_code == 200 else None
        return time.perf_counter() - started, None, text == expected
    if scenario == "chat_stream":
        body = {"model": "agentic-rag", "stream": True, "messages": [{"role": "user", "content": question}]}
        parts: list[str] = []
        async with client.stream("POST", "/v1/chat/completions", json=body) as response:
            async for line in response.aiter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                choices = json.loads(line[6:]).get("choices") or [{}]
                content = choices[0].get("delta", {}).get("content")
                if content:
                    first = first if first is not None else time.perf_counter() - started
                    parts.append(content)
        return time.perf_counter() - started, first, "".join(parts) == expected
    answer = None
    async with client.stream("POST", "/v1/research", json={"question": question}) as response:
        async for line in response.aiter_lines():
            if line.startswith("event: ") and first is None:
                first = time.perf_counter() - started
            if line.startswith("data: ") and '"type":"answer"' in line:
                answer = json.loads(line[6:])["answer"]["text"]
    return time.perf_counter() - started, first, answer == expected


async def _scenario(base_url: str, scenario: str, requests: int, clients: int, warmup: int) -> dict[str, Any]:
    import httpx

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, timeout=120, limits=limits) as client:
        await asyncio.gather(*(_one(client, scenario, n) for n in range(warmup)))
        counter = iter(range(requests))
        results: list[tuple[float, float | None, bool]] = []

        async def worker() -> None:
            for n in counter:
                results.append(await _one(client, scenario, n))

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        wall = time.perf_counter() - started
    firsts = [f for _, f, _ in results if f is not None]
    return {
        "requests": len(results),
        "clients": clients,
        "correct": sum(ok for _, _, ok in results),
        "seconds": round(wall, 2),
        "requests_per_second": round(len(results) / wall, 1),
        "latency": _percentiles([s for s, _, _ in results]),
        **({"first_content": _percentiles(firsts)} if firsts else {}),
    }


def _in_process(runs: int) -> dict[str, Any]:
    """``Agent.ask`` and ``Agent.stream`` with no server, one at a time: what one run of the graph costs here."""
    from agentic_rag.testing.service_world import ReadingModel, agent_factory, knowledge_base

    agent = agent_factory(ReadingModel(), knowledge_base())("agentic", None)
    ways = {"ask": lambda q: agent.ask(q), "stream": lambda q: list(agent.stream(q))}
    out: dict[str, Any] = {"runs": runs}
    for name, run in ways.items():
        for n in range(10):
            run(_question(n)[0])
        seconds = []
        for n in range(runs):
            started = time.perf_counter()
            run(_question(n)[0])
            seconds.append(time.perf_counter() - started)
        out[name] = _percentiles(seconds)
    return out


def markdown(results: dict[str, Any]) -> str:
    env, s = results["environment"], results["settings"]
    lines = [
        "# Server benchmark (instant fake model)",
        "",
        f"Command: `{env['command']}`  ",
        f"Commit: {env['commit'] or 'unknown'}; {env['date']}  ",
        (
            f"Machine: {env['machine']['cpu']}, {env['machine']['cpus']} CPUs, {env['machine']['memory_gb']} GB, "
            f"load average at start {env['machine'].get('load_average')}, {env['machine']['platform']}; "
            f"Python {env['python']}; " + ", ".join(f"{k} {v}" for k, v in results["packages"].items())
        ),
        "",
        (
            f"One uvicorn server process (max {s['max_concurrent']} runs at once, {s['max_queued']} queued) over 24 "
            f"service documents with the reading fake model of the tests; {s['clients']} concurrent clients in a "
            f"second process (asyncio + httpx, keep-alive), {s['requests']} requests per scenario after "
            f"{s['warmup']} warm-up requests. Each answer is checked against its own question. Latency is to the "
            "end of the response; first content is the first content delta (stream) or the first event (research)."
        ),
        "",
        "| scenario | requests | correct | req/s | p50 ms | p95 ms | p99 ms | first content p50 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    names = {"chat": "`/v1/chat/completions`", "chat_stream": "`/v1/chat/completions` stream",
             "research": "`/v1/research` (events)"}
    for key, label in names.items():
        r = results["scenarios"][key]
        first = r.get("first_content", {}).get("p50_ms", "")
        lines.append(f"| {label} | {r['requests']} | {r['correct']} | {r['requests_per_second']} | {r['latency']['p50_ms']} "
                     f"| {r['latency']['p95_ms']} | {r['latency']['p99_ms']} | {first} |")
    ask, stream = results["in_process"]["ask"], results["in_process"]["stream"]
    lines += [
        "",
        (
            f"The same agentic runs in one process, one at a time, no server ({results['in_process']['runs']} runs each): "
            f"`Agent.ask` p50 {ask['p50_ms']} ms, p95 {ask['p95_ms']} ms (about {1000 / ask['mean_ms']:.0f} runs/s); "
            f"`Agent.stream` (every event, answer tokens included) p50 {stream['p50_ms']} ms, p95 {stream['p95_ms']} ms "
            f"(about {1000 / stream['mean_ms']:.0f} runs/s). The server's throughput is of the same order: the runs "
            "hold Python's GIL, so its process does about one core's worth of graph work whatever the number of run "
            f"slots, and latency under load is mostly waiting, {s['clients']} clients sharing {s['max_concurrent']} slots."
        ),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per scenario")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--max-concurrent", type=int, default=4, help="the server's run slots")
    parser.add_argument("--max-queued", type=int, default=32)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--serve-port", type=int, help=argparse.SUPPRESS)  # the server process itself
    args = parser.parse_args(argv)
    if args.serve_port:
        _serve(args.serve_port, args.max_concurrent, args.max_queued)
        return 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    for noisy in ("httpx", "agentic_rag"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    results: dict[str, Any] = {"environment": environment_info([Path(sys.executable).name, *sys.argv])}
    from importlib import metadata

    results["packages"] = {name: metadata.version(name) for name in _SHOWN_PACKAGES}
    results["settings"] = {"requests": args.requests, "clients": args.clients, "warmup": args.warmup,
                           "max_concurrent": args.max_concurrent, "max_queued": args.max_queued}
    port = _free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve-port", str(port),
                               "--max-concurrent", str(args.max_concurrent), "--max-queued", str(args.max_queued)])
    try:
        import httpx

        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.1)
        results["scenarios"] = {}
        for scenario in ("chat", "chat_stream", "research"):
            log.info("scenario %s: %d requests from %d clients", scenario, args.requests, args.clients)
            results["scenarios"][scenario] = asyncio.run(
                _scenario(f"http://127.0.0.1:{port}", scenario, args.requests, args.clients, args.warmup)
            )
            log.info("%s", results["scenarios"][scenario])
    finally:
        server.terminate()
        server.wait(timeout=30)
    log.info("in-process baseline")
    results["in_process"] = _in_process(200)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "serve.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    (args.out / "serve.md").write_text(markdown(results), encoding="utf-8")
    sys.stdout.write(markdown(results))
    return 0 if all(r["correct"] == r["requests"] for r in results["scenarios"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
