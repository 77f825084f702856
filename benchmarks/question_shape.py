"""How often the adaptive path's wording check calls a question single-hop, no LLM.

:func:`agentic_rag.graphs.question_shape.looks_single_hop` decides whether the judge's first cited
answer may stand. It was tuned on the "tuning" sets below and never on the "held out" ones, which
are the questions the single-hop and HotpotQA benchmarks ask:

- single-hop: every step of each MuSiQue decomposition, with the earlier steps' answers written in
  (tuning: the records outside the benchmark sample), and the last hops of the 30 benchmark
  questions (``--format musique-last-hop --limit 30 --seed 0``, held out);
- multi-hop: MuSiQue questions outside that sample and HotpotQA train questions (tuning), the 50
  HotpotQA dev questions of ``--limit 50 --seed 0`` (held out), and the demo questions we wrote.

    .venv/bin/python benchmarks/question_shape.py

Writes benchmarks/results/question_shape.json and question_shape.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from agentic_rag.eval.datasets import fill_earlier_answers, read_dataset
from agentic_rag.eval.report import environment_info
from agentic_rag.eval.runner import sample_examples
from agentic_rag.graphs.question_shape import multi_hop_signs

DATA = ROOT.parent / "shared" / "data"
MUSIQUE = DATA / "musique" / "train_100.jsonl"
HOTPOT_TRAIN = DATA / "hotpotqa" / "train_100.json"
HOTPOT_DEV = DATA / "hotpotqa" / "dev_ircot.json"
DEMO = ROOT / "examples" / "demo_questions.json"


def musique_steps(records: list[dict[str, Any]]) -> list[str]:
    """Each decomposition step as a question, with the answers of the steps it refers to written in."""
    questions = []
    for record in records:
        steps = record.get("question_decomposition") or []
        answers = [step.get("answer", "") for step in steps]
        for n, step in enumerate(steps):
            text = fill_earlier_answers(step.get("question", ""), answers[:n])
            if ">>" not in text:  # "X >> relation" steps are knowledge-base lookups, not questions
                questions.append(text)
    return questions


def question_sets() -> list[tuple[str, str, str, list[str]]]:
    """(name, split, expected, questions) for every set measured."""
    logging.getLogger("agentic_rag.eval.datasets").setLevel(logging.ERROR)
    records = [json.loads(line) for line in MUSIQUE.read_text(encoding="utf-8").splitlines() if line.strip()]
    held_out_hops = sample_examples(read_dataset(MUSIQUE, "musique-last-hop").examples, 30, 0)
    held_out_ids = {e.id.split("/")[0] for e in held_out_hops}
    tuning = [r for r in records if r.get("id") not in held_out_ids]
    hotpot_train = [e.question for e in read_dataset(HOTPOT_TRAIN, "hotpotqa").examples]
    hotpot_dev = [e.question for e in sample_examples(read_dataset(HOTPOT_DEV, "hotpotqa").examples, 50, 0)]
    demo = json.loads(DEMO.read_text(encoding="utf-8"))
    return [
        ("MuSiQue decomposition steps", "tuning", "single", musique_steps(tuning)),
        ("MuSiQue last hops, benchmark sample", "held out", "single", [e.question for e in held_out_hops]),
        ("demo questions of one hop", "ours", "single", [d["question"] for d in demo if d["hops"] == 1]),
        ("MuSiQue questions", "tuning", "multi", [r["question"] for r in tuning]),
        ("HotpotQA train", "tuning", "multi", hotpot_train),
        ("HotpotQA dev, benchmark sample", "held out", "multi", hotpot_dev),
        ("demo questions of 2-3 hops", "ours", "multi", [d["question"] for d in demo if d["hops"] > 1]),
    ]


def measure() -> dict[str, Any]:
    rows = []
    for name, split, expected, questions in question_sets():
        signs = [multi_hop_signs(q) for q in questions]
        single = sum(not s for s in signs)
        rows.append({
            "set": name, "split": split, "expected": expected, "questions": len(questions),
            "looks_single_hop": single,
            "correct": single if expected == "single" else len(questions) - single,
            "signs": dict(Counter(sign for s in signs for sign in s).most_common()),
        })
    return {**environment_info(), "sets": rows}


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "# The adaptive path's wording check",
        "",
        f"Commit: {results['commit'] or 'unknown'}; {results['date']}  ",
        f"Command: `{results['command']}`",
        "",
        "| set | split | hops | questions | called single-hop | right |",
        "|---|---|---|---:|---:|---:|",
    ]
    for row in results["sets"]:
        right = 100 * row["correct"] / row["questions"] if row["questions"] else 0.0
        lines.append(
            f"| {row['set']} | {row['split']} | {row['expected']} | {row['questions']} | "
            f"{row['looks_single_hop']} | {right:.0f}% |"
        )
    lines += ["", "Signs found (a question may show several):", ""]
    for row in results["sets"]:
        signs = ", ".join(f"{k} {v}" for k, v in row["signs"].items()) or "none"
        lines.append(f"- {row['set']}: {signs}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(argv)
    results = measure()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "question_shape.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    (args.out / "question_shape.md").write_text(markdown(results), encoding="utf-8")
    print(markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
