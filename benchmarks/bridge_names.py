"""Would follow-up searches built from what the first round's passages name find what the judge's query missed?

Model-free replay over an eval run's traces: for each question whose first judge asked for more
while a gold supporting paragraph was still unfound, it searches the names in the passages that
judge cited (capitalised spans the question does not hold, the passage's own title aside), the
first ``--names`` of them with ``--k`` passages each, and counts the questions where those
searches find a missing gold paragraph, against the judge's own follow-up searches.

    agentic-rag eval ../shared/data/hotpotqa/train_100.json --format hotpotqa --graphs agentic --limit 30 --out RUN
    .venv/bin/python benchmarks/bridge_names.py RUN/agentic.jsonl ../shared/data/hotpotqa/train_100.json

Writes benchmarks/results/bridge_names.json and bridge_names.md.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agentic_rag.eval.corpus import load_or_build_corpus  # noqa: E402
from agentic_rag.eval.datasets import read_dataset  # noqa: E402
from agentic_rag.tools.embeddings import default_embeddings  # noqa: E402

_NAME = re.compile(r"[A-Z][\w'’.-]*(?:\s+(?:(?:of|the|de|and|&)\s+)?[A-Z][\w'’.-]*)*")


def _title(evidence_id: str) -> str:
    return evidence_id.rpartition("#")[0] or evidence_id


def names_in(text: str, question: str, title: str) -> list[str]:
    """Capitalised spans of ``text`` that the question does not hold, in order, the passage's title aside."""
    names: list[str] = []
    for match in _NAME.findall(text):
        name = match.strip(" .")
        if len(name) > 2 and name.lower() not in question.lower() and name != title and name not in names:
            names.append(name)
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="an agentic.jsonl of an eval run")
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--names", type=int, default=4, help="names searched per question")
    parser.add_argument("--k", type=int, default=2, help="passages per name search")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()

    dataset = read_dataset(args.dataset)
    kb = load_or_build_corpus(dataset, default_embeddings()).kb
    gold = {e.id: {p.title for p in e.supporting} for e in dataset.examples}
    rows = [json.loads(line) for line in args.run.read_text().splitlines() if line.strip()]
    asked = missing = by_judge = by_names = by_either = shown = 0
    cases = []
    for row in rows:
        first, found, later = None, [], []
        for step in row["trace"]:
            if step["kind"] == "search":
                (later if first else found).extend(_title(i) for i in step["detail"].get("found") or [])
            elif step["kind"] == "judge" and first is None:
                first = step["detail"]
        if not first or first.get("sufficient") or not first.get("next_query"):
            continue
        asked += 1
        unfound = gold[row["id"]] - set(found)
        if not unfound:
            continue
        missing += 1
        names: list[str] = []
        for cited in first.get("relevant") or []:
            names += [n for n in names_in(kb.get(cited).text, row["question"], _title(cited)) if n not in names]
        hits = {e.source for name in names[: args.names] for e in kb.search(name, k=args.k)}
        shown += len(hits - set(found))
        judge_hit, names_hit = bool(unfound & set(later)), bool(unfound & hits)
        by_judge, by_names, by_either = by_judge + judge_hit, by_names + names_hit, by_either + (judge_hit or names_hit)
        cases.append({"question": row["question"], "unfound": sorted(unfound), "judge_query": first["next_query"],
                      "judge_found": judge_hit, "names": names[: args.names], "names_found": names_hit})
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    command = " ".join(["python", "benchmarks/bridge_names.py", *sys.argv[1:]])
    record = {"command": command, "commit": commit, "run_commit": rows[0].get("commit") if rows else None,
              "questions": len(rows), "asked_for_more": asked, "gold_unfound_after_round_1": missing,
              "found_by_judge_query": by_judge, "found_by_names": by_names, "found_by_either": by_either,
              "new_passages_from_names": shown, "cases": cases}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bridge_names.json").write_text(json.dumps(record, indent=1) + "\n")
    lines = [
        "# Follow-ups from the names in the cited passages (model-free replay)", "",
        f"`{command}` at {commit[:10]} over a run at {str(record['run_commit'])[:10]}: {len(rows)} questions, "
        f"{asked} where the first judge asked for more, {missing} of them with a gold paragraph still unfound.", "",
        "| follow-up | questions where it finds a missing gold paragraph |", "|---|---:|",
        f"| the judge's query (what the run did) | {by_judge} of {missing} |",
        f"| the first {args.names} names of the cited passages, {args.k} passages each | {by_names} of {missing} "
        f"({shown} new passages to read) |",
        f"| either | {by_either} of {missing} |",
    ]
    (args.out / "bridge_names.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
