"""The comparison decisions of an eval run, decided again by today's code from the values the model gave.

Model-free: each comparison call's recorded values (``compared`` in the answer step of
``agentic.jsonl``) and the passages it was shown go through :func:`~agentic_rag.graphs.comparison.decide`
again; a change to the decision rules shows which answers it would change without running the model.

    .venv/bin/python benchmarks/decide_replay.py benchmarks/results/hotpotqa-dev-50-v5/agentic.jsonl \\
        ../shared/data/hotpotqa/dev_ircot.json
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agentic_rag.eval.datasets import read_dataset  # noqa: E402
from agentic_rag.graphs.comparison import comparison_of, decide  # noqa: E402

_VALUE = re.compile(r"\s*(.+?): (.*) \[(\d+)\]$")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="an agentic.jsonl of an eval run")
    parser.add_argument("dataset", type=Path)
    args = parser.parse_args()
    texts: dict[str, str] = {}
    for example in read_dataset(args.dataset).examples:
        for paragraph in example.paragraphs:
            texts.setdefault(paragraph.title, paragraph.text)
    same = changed = 0
    for line in args.run.read_text().splitlines():
        row = json.loads(line)
        for step in row["trace"]:
            note = step["detail"].get("compared") if step["kind"] == "answer" else None
            comparison = comparison_of(row["question"]) if note else None
            if comparison is None:
                continue
            body = re.sub(r"^(?:compared |undecided \()", "", note).rstrip(")")
            values = [SimpleNamespace(name=m.group(1), value=m.group(2), source=int(m.group(3)))
                      for m in map(_VALUE.match, body.split("; ")) if m]
            passages = [texts[i.rpartition("#")[0]] for i in step["detail"]["passages"]]
            decision = decide(comparison, values, passages)
            before = note.startswith("compared")
            now = f"{decision.answer} {decision.sources}" if decision else "undecided"
            kept = before == (decision is not None)
            same, changed = same + kept, changed + (not kept)
            print(f"{'same' if kept else 'CHANGED'}: {row['question']} | recorded: {note} | now: {now}")
    print(f"{same} decisions as recorded, {changed} changed")


if __name__ == "__main__":
    main()
