"""Retrieval benchmark: recall@k of the gold paragraphs for dense, BM25 and hybrid search, no LLM.

Every question of each dataset file is searched, with the question itself as the query, over the
pooled corpus of its file (all paragraphs of all its questions, see agentic_rag.eval.corpus).
recall@k is the share of a question's gold paragraphs among the sources of the top k chunks,
averaged over questions (95% bootstrap intervals); "all@k" is the share of questions with every
gold paragraph in the top k. Corpora are built with the default embeddings (all-MiniLM-L6-v2) or
reused from the cache; the build time recorded when each was built is reported.

    .venv/bin/python benchmarks/retrieval.py                 # the four files under ../shared/data
    .venv/bin/python benchmarks/retrieval.py FILE --format musique --rebuild

Writes benchmarks/results/retrieval.json and retrieval.md (machine, command, commit, figures).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from agentic_rag.eval.corpus import DEFAULT_CACHE_DIR, load_or_build_corpus
from agentic_rag.eval.datasets import read_dataset
from agentic_rag.eval.metrics import bootstrap_ci, source_of_evidence_id
from agentic_rag.eval.report import environment_info
from agentic_rag.tools.embeddings import default_embeddings, embedding_model_id

log = logging.getLogger("benchmarks.retrieval")

DATA = ROOT.parent / "shared" / "data"
DEFAULT_FILES = [
    (DATA / "hotpotqa" / "dev_ircot.json", "hotpotqa"),
    (DATA / "hotpotqa" / "train_100.json", "hotpotqa"),
    (DATA / "musique" / "train_100.jsonl", "musique"),
    (DATA / "2wikimultihopqa" / "dev_14.json", "2wiki"),
]
MODES = ("dense", "keyword", "hybrid")
MODE_NAMES = {"dense": "dense", "keyword": "BM25", "hybrid": "hybrid"}
KS = (2, 5, 10)


def _recall_at(ranked_sources: list[str], gold: set[str], k: int) -> float:
    return len(gold & set(ranked_sources[:k])) / len(gold)


def evaluate_file(path: Path, fmt: str | None, embeddings: Any, cache_dir: Path, rebuild: bool) -> dict[str, Any]:
    """Recall@k per mode for every question of one file, and the corpus facts."""
    dataset = read_dataset(path, fmt)
    corpus = load_or_build_corpus(dataset, embeddings, cache_dir=cache_dir, rebuild=rebuild)
    kb = corpus.kb
    started = time.perf_counter()
    kb.search("warm up the keyword index", k=1, mode="keyword")  # BM25 is built on first use
    bm25_seconds = time.perf_counter() - started
    per_mode: dict[str, dict[str, Any]] = {}
    for mode in MODES:
        recalls: dict[int, list[float]] = {k: [] for k in KS}
        complete: dict[int, list[float]] = {k: [] for k in KS}
        latencies: list[float] = []
        for example in dataset.examples:
            gold = set(corpus.gold_sources(example))
            started = time.perf_counter()
            hits = kb.search(example.question, k=max(KS), mode=mode)
            latencies.append(time.perf_counter() - started)
            ranked = [source_of_evidence_id(h.id) for h in hits]
            for k in KS:
                value = _recall_at(ranked, gold, k)
                recalls[k].append(value)
                complete[k].append(float(value == 1.0))
        per_mode[mode] = {
            **{f"recall@{k}": bootstrap_ci(recalls[k]) for k in KS},
            **{f"all@{k}": bootstrap_ci(complete[k]) for k in KS},
            "query_ms_p50": round(1000 * statistics.median(latencies), 2),
        }
    return {
        "file": os.path.relpath(path, ROOT),
        "format": dataset.format.value,
        "questions": len(dataset),
        "skipped_records": len(dataset.skipped),
        "gold_per_question": round(statistics.mean(len(e.supporting) for e in dataset.examples), 2),
        "documents": len(corpus.documents),
        "chunks": len(kb),
        "corpus_build_seconds": round(corpus.build_seconds, 1),
        "corpus_reused_from_cache": corpus.reused,
        "bm25_build_seconds": round(bm25_seconds, 2),
        "modes": per_mode,
    }


def _pct(stat: dict[str, Any]) -> str:
    return f"{100 * stat['mean']:.1f} [{100 * stat['low']:.1f}, {100 * stat['high']:.1f}]"


def _name(file: str) -> str:
    path = Path(file)
    return f"{path.parent.name}/{path.name}"


def markdown(results: dict[str, Any]) -> str:
    env = results["environment"]
    lines = [
        "# Retrieval benchmark: recall@k of gold paragraphs on the pooled corpora",
        "",
        f"Command: `{env['command']}`  ",
        f"Commit: {env['commit'] or 'unknown'}; {env['date']}  ",
        (
            f"Machine: {env['machine']['cpu']}, {env['machine']['cpus']} CPUs, {env['machine']['memory_gb']} GB, "
            f"load average {env['machine'].get('load_average')}, {env['machine']['platform']}; Python {env['python']}  "
        ),
        (
            f"Embeddings: {results['embedding_model']}; query = the question; no LLM. "
            "recall@k: mean share of gold paragraphs in the top k (95% bootstrap interval), all@k: share of questions "
            "with every gold paragraph in the top k."
        ),
        "",
        "| file | questions | documents | mode | recall@2 | recall@5 | recall@10 | all@2 | all@5 | all@10 | query ms (p50) |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results["files"]:
        for mode in MODES:
            m = r["modes"][mode]
            lines.append(
                f"| {_name(r['file'])} | {r['questions']} | {r['documents']} | {MODE_NAMES[mode]} | "
                + " | ".join(_pct(m[f"recall@{k}"]) for k in KS) + " | "
                + " | ".join(f"{100 * m[f'all@{k}']['mean']:.1f}" for k in KS)
                + f" | {m['query_ms_p50']} |"
            )
    lines += ["", ("Pooled-corpus build (embedding + FAISS; BM25 is built on first search). A build time is the one measured "
              "when the corpus was built (kept in its corpus.json); on a shared machine it includes whatever else ran then."), "",
              "| file | documents | chunks | build seconds | documents/s | BM25 build seconds | reused from cache |", "|---|---:|---:|---:|---:|---:|---|"]
    for r in results["files"]:
        rate = r["documents"] / r["corpus_build_seconds"] if r["corpus_build_seconds"] else float("nan")
        lines.append(f"| {_name(r['file'])} | {r['documents']} | {r['chunks']} | {r['corpus_build_seconds']} "
                     f"| {rate:.0f} | {r['bm25_build_seconds']} | {'yes (build time as recorded then)' if r['corpus_reused_from_cache'] else 'no'} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path, help="dataset files (default: the four under ../shared/data)")
    parser.add_argument("--format", default=None, help="layout of the files given (default: detected)")
    parser.add_argument("--cache-dir", type=Path, default=ROOT / DEFAULT_CACHE_DIR)
    parser.add_argument("--rebuild", action="store_true", help="build the pooled corpora again (fresh build times)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    files = [(f, args.format) for f in args.files] or DEFAULT_FILES
    embeddings = default_embeddings()
    results: dict[str, Any] = {
        "environment": environment_info([Path(sys.executable).name, *sys.argv]),
        "embedding_model": embedding_model_id(embeddings),
        "files": [],
    }
    for path, fmt in files:
        log.info("evaluating %s", path)
        results["files"].append(evaluate_file(Path(path).resolve(), fmt, embeddings, args.cache_dir, args.rebuild))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "retrieval.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    (args.out / "retrieval.md").write_text(markdown(results), encoding="utf-8")
    sys.stdout.write(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
