"""Replay the short answer call over the passages an evaluation run recorded, with reader variants.

The agentic loop's searches and judges are slow (the judges' prompts are most of a question's
cost); the answer call is one cached prompt. To compare ways of reading, this script takes the
passages each question's answer read in a finished ``agentic-rag eval`` run (its ``agentic.jsonl``
or ``traditional.jsonl``), asks the answer once per variant and scores the replies with the
harness's EM and F1. Only the answer changes; the searches are the run's.

    python benchmarks/reader.py RUN_DIR/agentic.jsonl ../shared/data/hotpotqa/train_100.json \
        --variants passages,facts_first --out benchmarks/results/reader.json

Use it on train files: it is a tuning tool, and the figures it gives are for one prompt each.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agentic_rag.eval.datasets import read_dataset  # noqa: E402
from agentic_rag.eval.metrics import exact_match, f1_score, strip_markers  # noqa: E402
from agentic_rag.graphs.readers import READERS, read_short  # noqa: E402


def _answer_passages(row: dict[str, Any]) -> list[str]:
    for step in reversed(row.get("trace") or []):
        if step.get("kind") == "answer":
            return list(step["detail"].get("passages") or [])
    return []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=Path, help="a graph's rows of a finished eval run (agentic.jsonl)")
    parser.add_argument("dataset", type=Path, help="the run's dataset file (to rebuild its pooled corpus)")
    parser.add_argument("--variants", default=",".join(READERS), help=f"comma-separated: {', '.join(READERS)}")
    parser.add_argument("--model", default="local")
    parser.add_argument("--limit", type=int, default=0, help="questions to replay (0: all)")
    parser.add_argument("--only", default="", help="comma-separated question ids to replay")
    parser.add_argument("--out", type=Path, default=None, help="write every reply and the means as JSON here")
    args = parser.parse_args()

    from agentic_rag.agent.models import resolve_chat_model
    from agentic_rag.eval.corpus import load_or_build_corpus
    from agentic_rag.graphs.config import RAGConfig
    from agentic_rag.tools.embeddings import default_embeddings

    rows = [json.loads(line) for line in args.rows.read_text("utf-8").splitlines() if line.strip()]
    rows = [r for r in rows if not r.get("error")]
    if args.only:
        wanted = set(args.only.split(","))
        rows = [r for r in rows if r["id"] in wanted]
    if args.limit:
        rows = rows[: args.limit]
    dataset = read_dataset(args.dataset)
    embeddings = default_embeddings()
    kb = load_or_build_corpus(dataset, embeddings).kb
    model = resolve_chat_model(args.model)
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    config = RAGConfig()
    results: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    for number, row in enumerate(rows, start=1):
        passages = [kb.get(i) for i in _answer_passages(row) if i in kb]
        golds = row["gold"]["answers"]
        for variant in variants:
            started = time.perf_counter()
            reply = read_short(model, READERS[variant], row["question"], passages, passage_chars=config.passage_chars)
            text = strip_markers(reply.text or "")
            results[variant].append({
                "id": row["id"], "question": row["question"], "gold": golds, "answer": reply.text,
                "note": reply.note, "em": exact_match(text, golds), "f1": f1_score(text, golds),
                "prompt_tokens": reply.usage.prompt_tokens, "cached": reply.usage.cached_prompt_tokens,
                "completion_tokens": reply.usage.completion_tokens, "seconds": round(time.perf_counter() - started, 2),
            })
        line = "  ".join(f"{v} {results[v][-1]['f1']:.2f} {results[v][-1]['answer']!r:.40}" for v in variants)
        print(f"{number:3d} {row['id'][:10]} gold={golds[0]!r:.30}  {line}", flush=True)
    means = {
        v: {key: round(sum(r[key] for r in rs) / max(len(rs), 1), 4) for key in
            ("em", "f1", "prompt_tokens", "cached", "completion_tokens", "seconds")} | {"n": len(rs)}
        for v, rs in results.items()
    }
    for v, m in means.items():
        print(f"{v:>16}: n {m['n']}  EM {100 * m['em']:.1f}  F1 {100 * m['f1']:.1f}  prompt {m['prompt_tokens']:.0f} "
              f"(cached {m['cached']:.0f})  completion {m['completion_tokens']:.0f}  {m['seconds']:.1f} s")
    if args.out:
        args.out.write_text(json.dumps({"rows": str(args.rows), "means": means, "replies": results}, indent=1), "utf-8")


if __name__ == "__main__":
    main()
