"""Summaries of evaluation rows: ``summary.json``, a Markdown table and two plots, with their provenance.

Every mean comes with a 95% percentile bootstrap interval (seeded). Graphs run on the same
questions are also compared pairwise (mean per-question difference, bootstrapped over questions).
Plots use matplotlib's Agg backend (no display needed): ``f1_vs_llm_calls.png`` and
``recall_by_round.png``.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import shlex
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from agentic_rag.errors import require

from agentic_rag.eval.metrics import bootstrap_ci

__all__ = [
    "F1_PLOT_FILE",
    "ROUNDS_PLOT_FILE",
    "SUMMARY_FILE",
    "TABLE_FILE",
    "environment_info",
    "git_commit",
    "markdown_table",
    "plot_f1_vs_llm_calls",
    "plot_recall_by_round",
    "summarise",
    "write_report",
]

logger = logging.getLogger(__name__)

SUMMARY_FILE = "summary.json"
TABLE_FILE = "summary.md"
F1_PLOT_FILE = "f1_vs_llm_calls.png"
ROUNDS_PLOT_FILE = "recall_by_round.png"

# (key in the row, name in the summary); answer metrics are fractions, usage is per question.
_METRICS = ("em", "f1", "gold_in_answer", "claims_supported", "supporting_recall", "answer_recall", "citation_precision", "rounds")
_USAGE = ("llm_calls", "prompt_tokens", "cached_prompt_tokens", "completion_tokens", "tool_calls", "seconds")
_COMPARED = ("f1", "em", "supporting_recall", "answer_recall")
_PACKAGES = (
    "agentic-rag", "langgraph", "langchain-core", "langchain-community", "faiss-cpu", "bm25s",
    "sentence-transformers", "torch", "xllamacpp", "numpy",
)


# -- provenance ----------------------------------------------------------------------------------


def _git_dir(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / ".git"
        if candidate.is_dir():
            return candidate
        if candidate.is_file():  # a worktree: "gitdir: <path>"
            text = candidate.read_text("utf-8").strip()
            if text.startswith("gitdir:"):
                return (folder / text.split(":", 1)[1].strip()).resolve()
    return None


def git_commit(start: str | os.PathLike[str] | None = None) -> str | None:
    """The commit checked out in the repository around ``start`` (default: cwd), read from ``.git``.

    ``None`` when there is no repository or no commit yet. Reads files only; runs no git command.
    """
    git = _git_dir(Path(start or Path.cwd()).resolve())
    if git is None:
        return None
    try:
        head = (git / "HEAD").read_text("utf-8").strip()
        if not head.startswith("ref:"):
            return head or None
        ref = head.split(":", 1)[1].strip()
        common = git
        if (git / "commondir").is_file():
            common = (git / (git / "commondir").read_text("utf-8").strip()).resolve()
        for folder in (git, common):
            if (folder / ref).is_file():
                return (folder / ref).read_text("utf-8").strip() or None
        packed = common / "packed-refs"
        if packed.is_file():
            for line in packed.read_text("utf-8").splitlines():
                parts = line.split()
                if len(parts) == 2 and parts[1] == ref:
                    return parts[0]
    except OSError:
        return None
    return None


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text("utf-8").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gb() -> float | None:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9, 1)
    except (ValueError, OSError, AttributeError):
        return None


def _load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (OSError, AttributeError):
        return None


def environment_info(command: Sequence[str] | None = None) -> dict[str, Any]:
    """The machine (with its load when measured), Python, key package versions, the command line and the git commit."""
    packages = {}
    for name in _PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    argv = list(command) if command is not None else [Path(sys.argv[0]).name, *sys.argv[1:]]
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "command": shlex.join(argv),
        "machine": {
            "platform": platform.platform(),
            "cpu": _cpu_name(),
            "cpus": os.cpu_count(),
            "memory_gb": _memory_gb(),
            "load_average": _load_average(),
        },
        "python": platform.python_version(),
        "packages": packages,
    }


# -- summary -------------------------------------------------------------------------------------


def _by_round(rows: Sequence[Mapping[str, Any]], seed: int) -> list[dict[str, Any]]:
    curves = [list(row["metrics"].get("recall_by_round") or []) for row in rows]
    longest = max((len(c) for c in curves), default=0)
    out = []
    for r in range(1, longest + 1):
        # A question that stopped earlier keeps its last recall; one that never searched has 0.
        values = [c[min(r, len(c)) - 1] if c else 0.0 for c in curves]
        out.append({"round": r, **bootstrap_ci(values, seed=seed), "reached": sum(len(c) >= r for c in curves)})
    return out


def _graph_summary(rows: Sequence[Mapping[str, Any]], seed: int) -> dict[str, Any]:
    good = [row for row in rows if "error" not in row]
    metrics = {name: bootstrap_ci([row["metrics"].get(name) for row in good], seed=seed) for name in _METRICS}
    for name in _USAGE:
        metrics[name] = bootstrap_ci([row["usage"].get(name, 0) for row in good], seed=seed)
    return {
        "n": len(good),
        "errors": len(rows) - len(good),
        "metrics": metrics,
        "exit_reasons": dict(Counter(row["exit_reason"] for row in good).most_common()),
        "recall_by_round": _by_round(good, seed),
    }


def _comparisons(rows: Mapping[str, Sequence[Mapping[str, Any]]], seed: int) -> list[dict[str, Any]]:
    names = list(rows)
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            left = {row["id"]: row for row in rows[a] if "error" not in row}
            right = {row["id"]: row for row in rows[b] if "error" not in row}
            common = [q for q in left if q in right]
            if not common:
                continue
            for metric in _COMPARED:
                diffs = [right[q]["metrics"][metric] - left[q]["metrics"][metric] for q in common]
                out.append({"graph": b, "baseline": a, "metric": metric, "difference": bootstrap_ci(diffs, seed=seed)})
    return out


def summarise(
    rows: Mapping[str, Sequence[Mapping[str, Any]]], *, run: Mapping[str, Any] | None = None, seed: int = 0
) -> dict[str, Any]:
    """The summary of per-question rows grouped by graph (see the module doc for what is in it)."""
    environment = environment_info()
    # The commit that measured: the one stamped on the rows (several if a run was resumed on newer
    # code), else the one recorded with the run, else the current one.
    stamped = sorted({r["commit"] for graph_rows in rows.values() for r in graph_rows if r.get("commit")})
    environment["commit"] = ", ".join(stamped) if stamped else (run or {}).get("commit") or environment["commit"]
    if len(stamped) > 1:  # which graph's rows came from which code
        environment["commit_by_graph"] = {
            graph: ", ".join(sorted({r["commit"] for r in graph_rows if r.get("commit")})) or "unknown"
            for graph, graph_rows in rows.items()
        }
    return {
        "run": dict(run or {}),
        "environment": environment,
        "graphs": {graph: _graph_summary(graph_rows, seed) for graph, graph_rows in rows.items()},
        "comparisons": _comparisons(rows, seed),
    }


# -- Markdown ------------------------------------------------------------------------------------


def _cell(stat: Mapping[str, Any], scale: float = 1.0, digits: int = 1) -> str:
    if stat.get("mean") is None:
        return "n/a"
    text = f"{stat['mean'] * scale:.{digits}f}"
    if stat.get("low") is not None:
        text += f" [{stat['low'] * scale:.{digits}f}, {stat['high'] * scale:.{digits}f}]"
    return text


def _commits(env: Mapping[str, Any]) -> str:
    by_graph = env.get("commit_by_graph")
    if by_graph:
        return "; ".join(f"{graph} rows from {commit}" for graph, commit in by_graph.items())
    return env.get("commit") or "unknown"


def markdown_table(summary: Mapping[str, Any]) -> str:
    """The summary as Markdown: a table per graph (means with 95% intervals), exit reasons, comparisons."""
    run = summary.get("run", {})
    env = summary.get("environment", {})
    lines = [
        f"# Evaluation: {Path(str(run.get('dataset', '?'))).name}",
        "",
        (
            f"Model `{run.get('model', '?')}`, format {run.get('format', '?')}, seed {run.get('seed', '?')}, "
            f"k {run.get('k', '?')}, budget {json.dumps(run.get('budget', {}))}"
            f"{', adaptive ' + str(run['adaptive']) if 'adaptive' in run else ''}; "
            f"commit {_commits(env)}, {env.get('date', '')}."
        ),
        "Means with 95% bootstrap intervals; answer and retrieval metrics in percent.",
        "",
        (
            "| graph | n | EM | F1 | gold in answer | cited claims supported | supporting recall | answer-evidence recall | citation precision "
            "| LLM calls | prompt tokens | of them cached | completion tokens | tool calls | seconds |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for graph, data in summary.get("graphs", {}).items():
        m = data["metrics"]
        n = f"{data['n']}" + (f" ({data['errors']} failed)" if data.get("errors") else "")
        lines.append(
            f"| {graph} | {n} | {_cell(m['em'], 100)} | {_cell(m['f1'], 100)} | {_cell(m.get('gold_in_answer') or {}, 100)} "
            f"| {_cell(m.get('claims_supported') or {}, 100)} | {_cell(m['supporting_recall'], 100)} "
            f"| {_cell(m['answer_recall'], 100)} | {_cell(m['citation_precision'], 100)} "
            f"| {_cell(m['llm_calls'], 1, 2)} | {_cell(m['prompt_tokens'], 1, 0)} "
            f"| {_cell(m.get('cached_prompt_tokens') or {}, 1, 0)} | {_cell(m['completion_tokens'], 1, 0)} "
            f"| {_cell(m['tool_calls'], 1, 2)} | {_cell(m['seconds'], 1, 1)} |"
        )
    lines += ["", "Exit reasons:", ""]
    for graph, data in summary.get("graphs", {}).items():
        reasons = ", ".join(f"{reason} {count}" for reason, count in data["exit_reasons"].items()) or "none"
        lines.append(f"- {graph}: {reasons}")
    rounds = {g: d["recall_by_round"] for g, d in summary.get("graphs", {}).items() if d["recall_by_round"]}
    if rounds:
        lines += ["", "Supporting recall (%) after each search round (questions that stopped earlier keep their last value):", ""]
        width = max(len(values) for values in rounds.values())
        lines += ["| graph | " + " | ".join(f"round {r}" for r in range(1, width + 1)) + " |"]
        lines += ["|---|" + "---:|" * width]
        for graph, values in rounds.items():
            cells = [f"{_cell(v, 100)} (n reached {v['reached']})" for v in values] + [""] * (width - len(values))
            lines.append(f"| {graph} | " + " | ".join(cells) + " |")
    if summary.get("comparisons"):
        lines += ["", "Paired differences on the same questions (percentage points):", ""]
        lines += ["| graph - baseline | metric | difference |", "|---|---|---:|"]
        for c in summary["comparisons"]:
            lines.append(f"| {c['graph']} - {c['baseline']} | {c['metric']} | {_cell(c['difference'], 100)} |")
    return "\n".join(lines) + "\n"


# -- plots ---------------------------------------------------------------------------------------


def _pyplot() -> Any:
    matplotlib = require("matplotlib", "eval")
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _errors(stat: Mapping[str, Any], scale: float) -> list[list[float]] | None:
    if stat.get("low") is None:
        return None
    return [[(stat["mean"] - stat["low"]) * scale], [(stat["high"] - stat["mean"]) * scale]]


def plot_f1_vs_llm_calls(summary: Mapping[str, Any], path: str | os.PathLike[str]) -> Path:
    """Mean F1 (%) against mean LLM calls per question, one point per graph, with 95% intervals."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4))
    try:
        for graph, data in summary.get("graphs", {}).items():
            f1, calls = data["metrics"]["f1"], data["metrics"]["llm_calls"]
            if f1.get("mean") is None:
                continue
            ax.errorbar(calls["mean"], f1["mean"] * 100, xerr=_errors(calls, 1), yerr=_errors(f1, 100),
                        fmt="o", capsize=4, label=f"{graph} (n={data['n']})")
            ax.annotate(graph, (calls["mean"], f1["mean"] * 100), textcoords="offset points", xytext=(6, 6))
        ax.set_xlabel("LLM calls per question (mean)")
        ax.set_ylabel("answer F1 (%)")
        ax.set_title(Path(str(summary.get("run", {}).get("dataset", ""))).name or "F1 vs cost")
        ax.set_xlim(left=0)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize="small")
        fig.tight_layout()
        fig.savefig(path, dpi=120)
    finally:
        plt.close(fig)
    return Path(path)


def plot_recall_by_round(summary: Mapping[str, Any], path: str | os.PathLike[str]) -> Path:
    """Supporting-paragraph recall (%) after each search round, per graph, with 95% bands."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4))
    try:
        longest = 1
        for graph, data in summary.get("graphs", {}).items():
            points = [p for p in data["recall_by_round"] if p.get("mean") is not None]
            if not points:
                continue
            longest = max(longest, len(points))
            x = [p["round"] for p in points]
            y = [p["mean"] * 100 for p in points]
            if len(points) == 1:  # one round (the traditional graph): a point with its interval
                ax.errorbar(x, y, yerr=_errors(points[0], 100), fmt="o", capsize=4, label=f"{graph} (n={data['n']})")
                continue
            line = ax.plot(x, y, marker="o", label=f"{graph} (n={data['n']})")[0]
            if all(p.get("low") is not None for p in points):
                ax.fill_between(x, [p["low"] * 100 for p in points], [p["high"] * 100 for p in points],
                                color=line.get_color(), alpha=0.15)
        ax.set_xlabel("search round")
        ax.set_ylabel("supporting-paragraph recall (%)")
        ax.set_xticks(range(1, longest + 1))
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize="small")
        ax.set_title("Gold paragraphs found by round")
        fig.tight_layout()
        fig.savefig(path, dpi=120)
    finally:
        plt.close(fig)
    return Path(path)


def write_report(out: str | os.PathLike[str], summary: Mapping[str, Any], *, plots: bool = True) -> list[Path]:
    """Write ``summary.json``, ``summary.md`` and (with ``plots``) the two PNG plots into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = [out / SUMMARY_FILE, out / TABLE_FILE]
    files[0].write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    files[1].write_text(markdown_table(summary), encoding="utf-8")
    if plots:
        files.append(plot_f1_vs_llm_calls(summary, out / F1_PLOT_FILE))
        files.append(plot_recall_by_round(summary, out / ROUNDS_PLOT_FILE))
    logger.info("wrote %s", ", ".join(str(f) for f in files))
    return files
