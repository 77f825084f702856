"""Speed benchmark: index build throughput, hybrid query latency, orchestration overhead per step.

1. Build throughput on a pooled corpus, three ways in one run, on the same texts with the same
   embeddings object (all-MiniLM-L6-v2): the raw embedder alone (``embed_documents``), our
   ``KnowledgeBase.add_texts`` (chunking + embedding + FAISS), and langchain-community's
   ``FAISS.from_documents``. Each is timed ``--repeats`` times in rotating order; medians are reported.
2. Hybrid query latency (p50 / p99) at the pooled corpus size with the real embeddings (the time
   includes embedding the query), and at 100k synthetic chunks. The synthetic case uses cheap
   hashing embeddings of the same dimension (384) instead of the real model (embedding 100k chunks
   on a CPU would take most of an hour), so its query time is search only, not query embedding.
3. Orchestration overhead of both graphs with an instant fake chat model and an instant tool:
   wall time per run and per executed node.

    .venv/bin/python benchmarks/speed.py
    .venv/bin/python benchmarks/speed.py --build-limit 500 --synthetic 20000 --runs 50   # quicker

Writes benchmarks/results/speed.json and speed.md (machine, command, commit, figures).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import time
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from langchain_core.embeddings import Embeddings
from langchain_core.tools import StructuredTool

from agentic_rag.eval.corpus import (
    DEFAULT_CACHE_DIR,
    DEFAULT_CHUNK_OVERLAP,
    DEFAULT_CHUNK_SIZE,
    load_or_build_corpus,
    pool_paragraphs,
)
from agentic_rag.eval.datasets import read_dataset
from agentic_rag.eval.report import environment_info
from agentic_rag.evidence import Evidence
from agentic_rag.graphs import Budget, build_agentic_graph, build_traditional_graph
from agentic_rag.tools.embeddings import default_embeddings, embedding_model_id
from agentic_rag.tools.knowledge_base import KnowledgeBase

log = logging.getLogger("benchmarks.speed")

_SHOWN_PACKAGES = ("faiss-cpu", "torch", "sentence-transformers", "langgraph", "langchain-community")
DEFAULT_DATASET = ROOT.parent / "shared" / "data" / "hotpotqa" / "dev_ircot.json"


class HashEmbeddings(Embeddings):
    """Cheap deterministic bag-of-words vectors (CRC32 buckets, L2-normalised) for the synthetic corpus."""

    model_name = "crc32-hash-384"

    def __init__(self, dim: int = 384) -> None:
        self.dim = dim

    def _matrix(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                out[row, zlib.crc32(word.encode()) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1.0, norms)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._matrix(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self._matrix([text])[0].tolist()


def _timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _percentiles(seconds: list[float]) -> dict[str, float]:
    ms = np.asarray(seconds) * 1000
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p99_ms": round(float(np.percentile(ms, 99)), 3),
        "mean_ms": round(float(ms.mean()), 3),
        "n": len(seconds),
    }


# -- 1. build throughput ---------------------------------------------------------------------------


def bench_build(dataset_path: Path, embeddings: Embeddings, limit: int | None, repeats: int) -> dict[str, Any]:
    """Seconds to index the pooled paragraphs: raw embedder vs KnowledgeBase vs FAISS.from_documents."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from langchain_community.vectorstores import FAISS
    from langchain_core.documents import Document

    documents = pool_paragraphs(read_dataset(dataset_path).examples)[:limit]
    texts = [f"{d.title}\n{d.text}" for d in documents]  # exactly what the knowledge base embeds
    records = [(d.source, d.text, d.title) for d in documents]
    langchain_docs = [Document(page_content=t, metadata={"source": d.source}) for t, d in zip(texts, documents)]
    embeddings.embed_documents(texts[:64])  # warm-up

    def knowledge_base() -> None:
        kb = KnowledgeBase(embeddings, chunk_size=DEFAULT_CHUNK_SIZE, chunk_overlap=DEFAULT_CHUNK_OVERLAP)
        kb.add_texts(records)
        chunks.append(len(kb))

    chunks: list[int] = []
    methods: dict[str, Callable[[], Any]] = {
        "raw_embedder": lambda: embeddings.embed_documents(texts),
        "knowledge_base": knowledge_base,
        "langchain_faiss": lambda: FAISS.from_documents(langchain_docs, embeddings),
    }
    times: dict[str, list[float]] = {name: [] for name in methods}
    names = list(methods)
    loads: list[float | None] = []
    for repeat in range(repeats):
        order = names[repeat % len(names):] + names[: repeat % len(names)]
        for name in order:
            seconds = _timed(methods[name])
            times[name].append(seconds)
            loads.append(_load_average())
            log.info("build %s: %.1f s (%.0f docs/s)", name, seconds, len(texts) / seconds)
    median = {name: statistics.median(values) for name, values in times.items()}
    best = {name: min(values) for name, values in times.items()}
    return {
        "dataset": dataset_path.name,
        "documents": len(texts),
        "chunks": chunks[0] if chunks else None,
        "characters": sum(len(t) for t in texts),
        "repeats": repeats,
        "seconds": {name: [round(v, 2) for v in values] for name, values in times.items()},
        "load_average_after_each": loads,
        "median_seconds": {name: round(v, 2) for name, v in median.items()},
        "best_seconds": {name: round(v, 2) for name, v in best.items()},
        # On a shared machine the best of N is the least disturbed measurement; ratios use it.
        "documents_per_second": {name: round(len(texts) / v, 1) for name, v in best.items()},
        "knowledge_base_vs_raw_embedder": round(best["knowledge_base"] / best["raw_embedder"], 3),
        "knowledge_base_vs_langchain_faiss": round(best["knowledge_base"] / best["langchain_faiss"], 3),
    }


# -- 2. query latency ------------------------------------------------------------------------------


def _latency(kb: KnowledgeBase, queries: list[str], k: int, mode: str) -> dict[str, float]:
    for query in queries[:5]:
        kb.search(query, k=k, mode=mode)  # warm-up (BM25 is built on first use)
    return _percentiles([_timed(lambda q=q: kb.search(q, k=k, mode=mode)) for q in queries]) | {
        "load_average_after": _load_average()
    }


def _load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except (OSError, AttributeError):
        return None


def bench_query_pooled(dataset_path: Path, embeddings: Embeddings, cache_dir: Path, k: int) -> dict[str, Any]:
    """Query latency over the pooled corpus with the real embeddings; the questions are the queries."""
    dataset = read_dataset(dataset_path)
    corpus = load_or_build_corpus(dataset, embeddings, cache_dir=cache_dir)
    queries = [e.question for e in dataset.examples]
    return {
        "dataset": dataset_path.name,
        "chunks": len(corpus.kb),
        "embeddings": embedding_model_id(embeddings),
        "k": k,
        "hybrid": _latency(corpus.kb, queries, k, "hybrid"),
        "dense": _latency(corpus.kb, queries, k, "dense"),
        "keyword": _latency(corpus.kb, queries, k, "keyword"),
        "query_embedding_only": _percentiles([_timed(lambda q=q: embeddings.embed_query(q)) for q in queries]),
    }


def bench_query_synthetic(dataset_path: Path, size: int, k: int, seed: int = 0) -> dict[str, Any]:
    """Query latency over ``size`` synthetic chunks (words drawn from the pooled corpus), hashing embeddings."""
    dataset = read_dataset(dataset_path)
    words = [w for d in pool_paragraphs(dataset.examples) for w in d.text.split()]
    vocabulary, counts = np.unique(np.asarray(words), return_counts=True)
    rng = np.random.default_rng(seed)
    lengths = rng.integers(40, 120, size=size)
    drawn = rng.choice(len(vocabulary), size=int(lengths.sum()), p=counts / counts.sum())
    texts, start = [], 0
    for length in lengths.tolist():
        texts.append(" ".join(vocabulary[drawn[start:start + length]].tolist()))
        start += length
    kb = KnowledgeBase(HashEmbeddings(), chunk_size=DEFAULT_CHUNK_SIZE, chunk_overlap=DEFAULT_CHUNK_OVERLAP, batch_size=4096)
    build = _timed(lambda: kb.add_texts((f"synthetic/{i}", text, None) for i, text in enumerate(texts)))
    bm25 = _timed(lambda: kb.search("warm up", k=1, mode="keyword"))
    queries = [e.question for e in dataset.examples]
    return {
        "chunks": len(kb),
        "embeddings": f"{HashEmbeddings.model_name} (cheap fake, dimension 384; query time excludes real query embedding)",
        "k": k,
        "build_seconds_with_fake_embeddings": round(build, 1),
        "bm25_build_seconds": round(bm25, 1),
        "hybrid": _latency(kb, queries, k, "hybrid"),
        "dense": _latency(kb, queries, k, "dense"),
        "keyword": _latency(kb, queries, k, "keyword"),
    }


# -- 3. orchestration overhead ---------------------------------------------------------------------

_TABLE = {
    "relay service owner": [("relay.md#0", "The Relay service is owned by the Harbor team."),
                             ("atlas.md#0", "The Atlas team owns billing.")],
    "harbor team lead": [("harbor.md#0", "The Harbor team is led by Ines Okafor.")],
}


_EXPECTED_LLM_CALLS = {"agentic": 4, "traditional": 1}  # plan, judge, judge, answer / answer


def _instant_search(query: str, k: int = 4) -> list[Evidence]:
    """Search the documents (an instant lookup table)."""
    rows = _TABLE.get(query.lower(), _TABLE["relay service owner"])
    return [Evidence(id=i, source=i.split("#")[0], text=t, span=(0, len(t))) for i, t in rows[:k]]


def _scripts() -> dict[str, list[Any]]:
    plan = {"needs_search": True, "searches": [{"tool": "search_knowledge_base", "query": "Relay service owner"}]}
    # Fields of the judge schema as it was and as it is (extra fields are ignored).
    more = {"facts": "Relay is owned by the Harbor team [1].", "answer": "", "sources": [1], "relevant": [1],
            "sufficient": False, "missing": "the lead", "next_query": "Harbor team lead"}
    enough = {"facts": "Relay is owned by Harbor [1]; Ines Okafor leads Harbor [3].", "answer": "Ines Okafor",
              "sources": [1, 3], "relevant": [1, 3], "sufficient": True, "missing": "", "next_query": ""}
    return {
        "agentic": [plan, more, enough, "Harbor owns Relay [1] and Ines Okafor leads Harbor [2]."],
        "traditional": ["Harbor owns Relay [1]."],
    }


def bench_orchestration(runs: int) -> dict[str, Any]:
    """Wall time per run and per node of both graphs over an instant fake model and an instant tool."""
    from agentic_rag.testing.fakes import ScriptedChatModel

    tool = StructuredTool.from_function(_instant_search, name="search_knowledge_base")
    builders = {"traditional": build_traditional_graph, "agentic": build_agentic_graph}
    budget = Budget(max_rounds=3, max_llm_calls=6)
    out: dict[str, Any] = {}
    for name, script in _scripts().items():
        warmup = 5
        model = ScriptedChatModel(script=script * (runs + warmup + 2))  # + the counting run and the check run
        graph = builders[name](model, [tool])
        state = {"question": "Who leads the team that owns the Relay service?", "budget": budget}
        nodes = sum(1 for _ in graph.stream(state, stream_mode="updates"))
        for _ in range(warmup):
            graph.invoke(state)
        seconds = [_timed(lambda g=graph, s=state: g.invoke(s)) for _ in range(runs)]
        answer = graph.invoke(state)["answer"]  # the last scripted replies: check the flow was the intended one
        rejected = [s for s in answer.steps if s.kind == "judge" and "error" in s.detail]
        if rejected or answer.usage.llm_calls != _EXPECTED_LLM_CALLS[name]:
            log.warning("%s: the fake replies no longer fit the graph (steps %s)", name, [s.kind for s in answer.steps])
        # The cost of one call of the fake model through LangChain's invoke machinery, measured alone.
        probe = ScriptedChatModel(script=["ok"] * 200)
        model_call = statistics.median(_timed(lambda p=probe: p.invoke("hi")) for _ in range(200))
        run = _percentiles(seconds)
        per_node = run["p50_ms"] / nodes
        out[name] = {
            "runs": runs,
            "nodes_per_run": nodes,
            "steps": [s.kind for s in answer.steps],
            "llm_calls_per_run": answer.usage.llm_calls,
            "tool_calls_per_run": answer.usage.tool_calls,
            "run": run,
            "per_node_ms_p50": round(per_node, 3),
            "fake_model_call_ms": round(1000 * model_call, 3),
            "per_node_ms_without_model_calls": round(
                (run["p50_ms"] - answer.usage.llm_calls * 1000 * model_call) / nodes, 3
            ),
        }
        log.info("%s: %.2f ms per run, %.2f ms per node", name, run["p50_ms"], per_node)
    return out


# -- report ----------------------------------------------------------------------------------------


def markdown(results: dict[str, Any]) -> str:
    env = results["environment"]
    b = results["build"]
    lines = [
        "# Speed benchmark",
        "",
        f"Command: `{env['command']}`  ",
        f"Commit: {env['commit'] or 'unknown'}; {env['date']}  ",
        (
            f"Machine: {env['machine']['cpu']}, {env['machine']['cpus']} CPUs, {env['machine']['memory_gb']} GB, "
            f"load average at start {env['machine'].get('load_average')}, {env['machine']['platform']}; "
            f"Python {env['python']}; "
            + ", ".join(f"{k} {v}" for k, v in env["packages"].items() if k in _SHOWN_PACKAGES)
        ),
        "",
        (
            f"## Index build: pooled corpus of {b['dataset']} ({b['documents']} paragraphs, {b['chunks']} chunks, "
            f"{b['characters']:,} characters), {results['embedding_model']}"
        ),
        "",
        (
            f"Same texts, same embeddings object, timed side by side in one run ({b['repeats']} repeats in rotating "
            "order); best of the repeats (the least disturbed on a shared machine), every timing in the JSON."
        ),
        "",
        "| method | best seconds | median seconds | paragraphs/s (best) | vs raw embedder (best) |",
        "|---|---:|---:|---:|---:|",
    ]
    names = {"raw_embedder": "raw embedder (`embed_documents`)", "knowledge_base": "`KnowledgeBase.add_texts` (chunk + embed + FAISS)",
             "langchain_faiss": "langchain-community `FAISS.from_documents`"}
    raw = b["best_seconds"]["raw_embedder"]
    for key, label in names.items():
        lines.append(f"| {label} | {b['best_seconds'][key]} | {b['median_seconds'][key]} | {b['documents_per_second'][key]} "
                     f"| {b['best_seconds'][key] / raw:.3f}x |")
    lines += [
        "",
        (
            f"KnowledgeBase / raw embedder: {b['knowledge_base_vs_raw_embedder']:.3f}; "
            f"KnowledgeBase / FAISS.from_documents: {b['knowledge_base_vs_langchain_faiss']:.3f} "
            "(time ratios; below 1 is faster)."
        ),
        "",
        "## Query latency (k = {k})".format(k=results["query_pooled"]["k"]),
        "",
        "| corpus | chunks | embeddings | hybrid p50 ms | hybrid p99 ms | dense p50 ms | BM25 p50 ms |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for label, q in (("pooled " + results["query_pooled"]["dataset"], results["query_pooled"]),
                     ("synthetic", results["query_synthetic"])):
        lines.append(f"| {label} | {q['chunks']:,} | {q['embeddings']} | {q['hybrid']['p50_ms']} | {q['hybrid']['p99_ms']} "
                     f"| {q['dense']['p50_ms']} | {q['keyword']['p50_ms']} |")
    qe = results["query_pooled"]["query_embedding_only"]
    s = results["query_synthetic"]
    lines += [
        "",
        (
            "At the pooled size the times include embedding the query with the real model "
            f"(that alone: p50 {qe['p50_ms']} ms, p99 {qe['p99_ms']} ms). The synthetic corpus uses cheap hashing "
            "embeddings, so its times are search only; building it took "
            f"{s['build_seconds_with_fake_embeddings']} s with those embeddings, plus {s['bm25_build_seconds']} s "
            "for BM25 on first search. Queries: the dataset's questions."
        ),
        "",
        "## Orchestration overhead (instant fake model, instant tool)",
        "",
        "| graph | nodes per run | LLM calls | run p50 ms | run p99 ms | per node ms | per node ms without fake-model calls |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, o in results["orchestration"].items():
        lines.append(f"| {name} | {o['nodes_per_run']} | {o['llm_calls_per_run']} | {o['run']['p50_ms']} | {o['run']['p99_ms']} "
                     f"| {o['per_node_ms_p50']} | {o['per_node_ms_without_model_calls']} |")
    fake = next(iter(results["orchestration"].values()))["fake_model_call_ms"]
    lines += ["", f"One call of the fake chat model through LangChain's `invoke` costs {fake} ms on its own; "
              "the last column subtracts it. Agentic steps: " + ", ".join(results["orchestration"]["agentic"]["steps"]) + "."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET, help="dataset file whose pooled corpus is used")
    parser.add_argument("--build-limit", type=int, default=None, help="index only the first N pooled paragraphs")
    parser.add_argument("--repeats", type=int, default=2, help="timings of each build method")
    parser.add_argument("--synthetic", type=int, default=100_000, help="synthetic chunks for the large-corpus latency")
    parser.add_argument("--runs", type=int, default=200, help="runs per graph for the orchestration overhead")
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--cache-dir", type=Path, default=ROOT / DEFAULT_CACHE_DIR)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("agentic_rag").setLevel(logging.WARNING)
    embeddings = default_embeddings()
    results: dict[str, Any] = {
        "environment": environment_info([Path(sys.executable).name, *sys.argv]),
        "embedding_model": embedding_model_id(embeddings),
    }
    log.info("orchestration overhead")
    results["orchestration"] = bench_orchestration(args.runs)
    log.info("query latency, pooled corpus")
    results["query_pooled"] = bench_query_pooled(args.dataset.resolve(), embeddings, args.cache_dir, args.k)
    log.info("query latency, %d synthetic chunks", args.synthetic)
    results["query_synthetic"] = bench_query_synthetic(args.dataset.resolve(), args.synthetic, args.k)
    log.info("build throughput")
    results["build"] = bench_build(args.dataset.resolve(), embeddings, args.build_limit, args.repeats)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "speed.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    (args.out / "speed.md").write_text(markdown(results), encoding="utf-8")
    sys.stdout.write(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
