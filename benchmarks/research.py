"""Research benchmark: key facts stated and claims supported, short vs detailed answers vs research reports.

Runs each question of ``examples/research_questions.json`` (comparisons, procedures, summaries and
aggregations over the demo corpus; 4-8 key facts each) with the local model, in any of four modes:
``traditional`` (one retrieval, a ``detailed`` answer), ``short`` (the agentic graph's few words, as
the QA benchmarks score), ``detailed`` (the agentic graph's chat default) and ``research`` (a report
from ``Agent.research``). Scored by :mod:`agentic_rag.eval.research`.

    .venv/bin/agentic-rag index examples/demo_corpus --index .agentic-rag/demo-index
    .venv/bin/python benchmarks/research.py --index .agentic-rag/demo-index

Writes benchmarks/results/research.json and research.md (command, commit, figures, every answer).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from agentic_rag import Agent  # noqa: E402
from agentic_rag.agent.bootstrap import open_knowledge_base  # noqa: E402
from agentic_rag.eval.research import score_research_answer  # noqa: E402
from agentic_rag.graphs import RAGConfig  # noqa: E402

MODES = ("traditional", "short", "detailed", "research")
DEFAULT_MODES = ("traditional", "detailed", "research")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", default=".agentic-rag/demo-index")
    parser.add_argument("--model", default="local")
    parser.add_argument("--questions", default=str(ROOT / "examples" / "research_questions.json"))
    parser.add_argument("--modes", default=",".join(DEFAULT_MODES), help=f"comma-separated, of: {', '.join(MODES)}")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = parser.parse_args()
    modes = args.modes.split(",")
    if unknown := set(modes) - set(MODES):
        parser.error(f"unknown modes: {', '.join(sorted(unknown))}")
    questions = json.loads(Path(args.questions).read_text(encoding="utf-8"))
    kb = open_knowledge_base(Path(args.index))
    detailed = Agent(args.model, knowledge_base=kb, config=RAGConfig(style="detailed"))
    agents = {
        "detailed": detailed,
        "short": Agent(detailed.model, knowledge_base=kb, config=RAGConfig(style="short")),
        "traditional": Agent(detailed.model, knowledge_base=kb, graph="traditional", config=RAGConfig(style="detailed")),
    }
    rows = []
    for question in questions:
        for mode in modes:
            ask = detailed.research if mode == "research" else agents[mode].ask
            answer = ask(question["question"])
            score = score_research_answer(answer, question["facts"])
            rows.append({"id": question["id"], "kind": question["kind"], "mode": mode, **score.model_dump(),
                         "recall": score.recall, "answer": answer.text})
            print(f"{question['id']} {mode:<11} {score.stated}/{score.facts} facts, {score.words} words, "
                  f"{score.supported_claims}/{score.cited_claims} cited claims supported, {score.llm_calls} calls, "
                  f"{score.seconds} s", flush=True)
    write(rows, args, modes)


def write(rows: list[dict], args: argparse.Namespace, modes: list[str]) -> None:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    command = "python benchmarks/research.py " + " ".join(sys.argv[1:])
    summary = {}
    for mode in modes:
        mine = [r for r in rows if r["mode"] == mode]
        facts, stated = sum(r["facts"] for r in mine), sum(r["stated"] for r in mine)
        cited, supported = sum(r["cited_claims"] for r in mine), sum(r["supported_claims"] for r in mine)
        summary[mode] = {
            "key_facts_stated": round(stated / facts, 3) if facts else 0.0,
            "cited_claims_supported": round(supported / cited, 3) if cited else 0.0,
            "citations_per_claim": round(sum(r["markers"] for r in mine) / cited, 2) if cited else 0.0,
            "markers_to_nothing": sum(r["markers_to_nothing"] for r in mine),
            "mean_tokens": round(sum(r["tokens"] for r in mine) / len(mine)),
            "mean_words": round(sum(r["words"] for r in mine) / len(mine), 1),
            "mean_llm_calls": round(sum(r["llm_calls"] for r in mine) / len(mine), 2),
            "mean_seconds": round(sum(r["seconds"] for r in mine) / len(mine), 1),
        }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    record = {"command": command, "commit": commit, "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}",
              "model": args.model, "summary": summary, "rows": rows}
    (out / "research.json").write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    lines = ["# Research benchmark", "", f"`{command}` at {commit}, model {args.model}.", "",
             "| mode | key facts stated | cited claims supported | citations per claim | markers to nothing | words "
             "| LLM calls | tokens | seconds |", "|---|---|---|---|---|---|---|---|---|"]
    for mode, s in summary.items():
        lines.append(f"| {mode} | {s['key_facts_stated']:.0%} | {s['cited_claims_supported']:.0%} | {s['citations_per_claim']} "
                     f"| {s['markers_to_nothing']} | {s['mean_words']} | {s['mean_llm_calls']} | {s['mean_tokens']} "
                     f"| {s['mean_seconds']} |")
    kinds = sorted({r["kind"] for r in rows})
    lines += ["", "Key facts stated, by kind of question:", "", "| mode | " + " | ".join(kinds) + " |",
              "|---|" + "---|" * len(kinds)]
    for mode in modes:
        cells = []
        for kind in kinds:
            mine = [r for r in rows if r["mode"] == mode and r["kind"] == kind]
            facts = sum(r["facts"] for r in mine)
            cells.append(f"{sum(r['stated'] for r in mine) / facts:.0%}" if facts else "n/a")
        lines.append(f"| {mode} | " + " | ".join(cells) + " |")
    lines += ["", "## Answers", ""]
    for r in rows:
        lines += [f"### {r['id']} ({r['kind']}), {r['mode']}: {r['stated']}/{r['facts']} facts", "", r["answer"], ""]
    (out / "research.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
