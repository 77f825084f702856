"""Follow-up benchmark: does a chat follow-up keep its question when rewritten, and is its answer right?

Runs each two-turn conversation of ``examples/follow_up_conversations.json`` (references by pronoun,
by description and by ellipsis over the demo corpus) as a chat thread with the local model: the
first question, then the follow-up. Scores the rewrite of the follow-up (it keeps every word the
conversation lists under ``keep``; whether the project's fallback, the follow-up with the previous
answer's names, was used) and the follow-up's answer (one of ``answer`` appears in its text).

    .venv/bin/agentic-rag index examples/demo_corpus --index .agentic-rag/demo-index
    .venv/bin/python benchmarks/follow_ups.py --index .agentic-rag/demo-index

Writes benchmarks/results/follow_ups.json and follow_ups.md (command, commit, figures, every turn)
after each conversation; run again with ``--resume`` to go on where a stopped run ended, and ``--resume --rerun f03,f04`` to
measure some conversations again after a change (each row records its commit).
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

from langgraph.checkpoint.memory import InMemorySaver  # noqa: E402

from agentic_rag import Agent  # noqa: E402
from agentic_rag.agent.bootstrap import open_knowledge_base  # noqa: E402
from agentic_rag.graphs import RAGConfig  # noqa: E402


def score_turn(conversation: dict, rewritten: str, answer_text: str) -> dict:
    """The follow-up's figures: rewrite keeps the ask, fallback used, answer right."""
    follow_up = conversation["follow_up"]
    return {
        "keeps_the_ask": all(word.lower() in rewritten.lower() for word in conversation["keep"]),
        "fallback": rewritten.startswith(follow_up.rstrip()),
        "answer_right": any(name.lower() in answer_text.lower() for name in conversation["answer"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", default=".agentic-rag/demo-index")
    parser.add_argument("--model", default="local")
    parser.add_argument("--style", default="detailed", choices=["short", "detailed"])
    parser.add_argument("--conversations", default=str(ROOT / "examples" / "follow_up_conversations.json"))
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    parser.add_argument("--resume", action="store_true", help="keep the conversations already in the results file")
    parser.add_argument("--rerun", default="", help="with --resume: run these conversations again (ids, comma-separated)")
    args = parser.parse_args()
    commit = _commit()
    conversations = json.loads(Path(args.conversations).read_text(encoding="utf-8"))
    kb = open_knowledge_base(Path(args.index))
    agent = Agent(args.model, knowledge_base=kb, config=RAGConfig(style=args.style), checkpointer=InMemorySaver())
    rows: list[dict] = []
    previous = Path(args.out) / "follow_ups.json"
    if args.resume and previous.is_file():
        record = json.loads(previous.read_text(encoding="utf-8"))
        rerun = {i.strip() for i in args.rerun.split(",") if i.strip()}
        rows = [{"commit": record["commit"], **row} for row in record["rows"] if row["id"] not in rerun]
    done = {row["id"] for row in rows}
    for conversation in conversations:
        if conversation["id"] in done:
            continue
        thread = f"bench-{conversation['id']}"
        first = agent.chat(conversation["first"], thread_id=thread)
        second = agent.chat(conversation["follow_up"], thread_id=thread)
        row = {"id": conversation["id"], "commit": commit, "first": conversation["first"], "first_answer": first.text,
               "follow_up": conversation["follow_up"], "rewritten": second.question, "answer": second.text,
               **score_turn(conversation, second.question, second.text),
               "llm_calls": first.usage.llm_calls + second.usage.llm_calls,
               "seconds": round(first.usage.seconds + second.usage.seconds, 1)}
        rows.append(row)
        rows.sort(key=lambda r: [c["id"] for c in conversations].index(r["id"]))
        print(f"{row['id']} keeps={row['keeps_the_ask']} fallback={row['fallback']} right={row['answer_right']} "
              f"| {row['rewritten']}", flush=True)
        write(rows, args, len(conversations))


def _commit() -> str:
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()


def write(rows: list[dict], args: argparse.Namespace, planned: int) -> None:
    commit = _commit()
    commits = {c: sum(r["commit"] == c for r in rows) for c in dict.fromkeys(r["commit"] for r in rows)}
    command = "python benchmarks/follow_ups.py " + " ".join(sys.argv[1:])
    n = len(rows)
    summary = {
        "conversations": n,
        "rewrite_keeps_the_ask": round(sum(r["keeps_the_ask"] for r in rows) / n, 3),
        "fallback_used": sum(r["fallback"] for r in rows),
        "follow_up_answer_right": round(sum(r["answer_right"] for r in rows) / n, 3),
        "mean_llm_calls_per_conversation": round(sum(r["llm_calls"] for r in rows) / n, 2),
        "mean_seconds_per_conversation": round(sum(r["seconds"] for r in rows) / n, 1),
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    record = {"command": command, "commit": commit, "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}",
              "model": args.model, "style": args.style, "planned": planned, "summary": summary, "rows": rows}
    (out / "follow_ups.json").write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    lines = ["# Follow-up benchmark", "", f"`{command}` at {commit}, model {args.model}, style {args.style}; "
             f"{n} of the {planned} conversations run"
             + (f" (rows by commit: {', '.join(f'{c} {k}' for c, k in commits.items())})" if len(commits) > 1 else "")
             + ".", "",
             "| conversations | rewrite keeps the ask | fallback used | follow-up answered right | LLM calls | seconds |",
             "|---|---|---|---|---|---|",
             f"| {n} | {summary['rewrite_keeps_the_ask']:.0%} | {summary['fallback_used']} "
             f"| {summary['follow_up_answer_right']:.0%} | {summary['mean_llm_calls_per_conversation']} "
             f"| {summary['mean_seconds_per_conversation']} |", "", "## Conversations", ""]
    for r in rows:
        lines += [f"### {r['id']}: keeps the ask {'yes' if r['keeps_the_ask'] else 'no'}, "
                  f"answer {'right' if r['answer_right'] else 'wrong'}"
                  + (f" (at {r['commit']})" if len(commits) > 1 else ""), "",
                  f"- first: {r['first']}", f"- answer: {r['first_answer']}", f"- follow-up: {r['follow_up']}",
                  f"- rewritten: {r['rewritten']}", f"- answer: {r['answer']}", ""]
    (out / "follow_ups.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
