"""Research benchmark: key facts stated and claims supported, short vs detailed answers vs research reports.

Runs each question of ``examples/research_questions.json`` (comparisons, procedures, summaries over
the demo corpus; 7 key facts each) three ways with the local model: the agentic graph's ``short``
answer (what the benchmarks score), its ``detailed`` answer (the chat default) and a research
report (``Agent.research``). Scored by :mod:`agentic_rag.eval.research`.

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

MODES = ("short", "detailed", "research")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", default=".agentic-rag/demo-index")
    parser.add_argument("--model", default="local")
    parser.add_argument("--questions", default=str(ROOT / "examples" / "research_questions.json"))
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = parser.parse_args()
    questions = json.loads(Path(args.questions).read_text(encoding="utf-8"))
    kb = open_knowledge_base(Path(args.index))
    short = Agent(args.model, knowledge_base=kb, config=RAGConfig(style="short"))
    detailed = Agent(short.model, knowledge_base=kb, config=RAGConfig(style="detailed"))
    rows = []
    for question in questions:
        for mode in args.modes.split(","):
            if mode == "research":
                answer = detailed.research(question["question"])
            else:
                answer = (short if mode == "short" else detailed).ask(question["question"])
            score = score_research_answer(answer, question["facts"])
            rows.append({"id": question["id"], "kind": question["kind"], "mode": mode, **score.model_dump(),
                         "recall": score.recall, "answer": answer.text})
            print(f"{question['id']} {mode:<8} {score.stated}/{score.facts} facts, {score.words} words, "
                  f"{score.supported_claims}/{score.cited_claims} cited claims supported, {score.llm_calls} calls, "
                  f"{score.seconds} s", flush=True)
    write(rows, args)


def write(rows: list[dict], args: argparse.Namespace) -> None:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    command = "python benchmarks/research.py " + " ".join(sys.argv[1:])
    summary = {}
    for mode in args.modes.split(","):
        mine = [r for r in rows if r["mode"] == mode]
        facts, stated = sum(r["facts"] for r in mine), sum(r["stated"] for r in mine)
        cited, supported = sum(r["cited_claims"] for r in mine), sum(r["supported_claims"] for r in mine)
        summary[mode] = {
            "key_facts_stated": round(stated / facts, 3) if facts else 0.0,
            "cited_claims_supported": round(supported / cited, 3) if cited else 0.0,
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
             "| mode | key facts stated | cited claims supported | words | LLM calls | seconds |", "|---|---|---|---|---|---|"]
    for mode, s in summary.items():
        lines.append(f"| {mode} | {s['key_facts_stated']:.0%} | {s['cited_claims_supported']:.0%} | {s['mean_words']} | "
                     f"{s['mean_llm_calls']} | {s['mean_seconds']} |")
    lines += ["", "## Answers", ""]
    for r in rows:
        lines += [f"### {r['id']} ({r['kind']}), {r['mode']}: {r['stated']}/{r['facts']} facts", "", r["answer"], ""]
    (out / "research.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
