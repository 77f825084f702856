"""The ``agentic-rag eval`` command (a typer command function; ``cli.py`` registers it)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from agentic_rag.errors import AgenticRAGError, require
from agentic_rag.graphs.adaptive import ADAPTIVE_HELP, DEFAULT_ADAPTIVE_MODE
from agentic_rag.graphs.config import SET_HELP, STYLE_HELP, settings_from

from agentic_rag.eval.corpus import DEFAULT_CACHE_DIR, DEFAULT_CHUNK_SIZE
from agentic_rag.eval.datasets import DatasetFormat

__all__ = ["eval_command"]

logger = logging.getLogger(__name__)


def _graphs(value: str) -> tuple[str, ...]:
    return tuple(name.strip().lower() for name in value.split(",") if name.strip())


def _percent(stat: dict) -> str:
    if stat.get("mean") is None:
        return "n/a"
    text = f"{100 * stat['mean']:.1f}"
    return text + (f" [{100 * stat['low']:.1f}, {100 * stat['high']:.1f}]" if stat.get("low") is not None else "")


def _mean(stat: dict) -> str:
    return "n/a" if stat.get("mean") is None else f"{100 * stat['mean']:.1f}"


def _show(console: Console, summary: dict) -> None:
    table = Table(title="evaluation (means; F1 with its 95% bootstrap interval)")
    for column in ("graph", "n", "EM %", "F1 %", "recall %", "LLM calls", "seconds"):
        table.add_column(column, justify="left" if column == "graph" else "right", no_wrap=True)
    for graph, data in summary["graphs"].items():
        m = data["metrics"]
        calls = m["llm_calls"]["mean"]
        seconds = m["seconds"]["mean"]
        table.add_row(
            graph,
            str(data["n"]) + (f" ({data['errors']} failed)" if data["errors"] else ""),
            _mean(m["em"]),
            _percent(m["f1"]),
            _mean(m["supporting_recall"]),
            "n/a" if calls is None else f"{calls:.2f}",
            "n/a" if seconds is None else f"{seconds:.1f}",
        )
    console.print(table)


def eval_command(
    dataset_file: Annotated[Path, typer.Argument(help="A HotpotQA / 2WikiMultiHopQA JSON file or a MuSiQue JSON-lines file.")],
    dataset_format: Annotated[
        DatasetFormat | None,
        typer.Option("--format", case_sensitive=False, help="Layout of the file (default: detected from the first record)."),
    ] = None,
    graphs: Annotated[str, typer.Option(help="Graphs to compare, comma-separated: traditional, agentic.")] = "traditional,agentic",
    limit: Annotated[int, typer.Option(min=0, help="Questions to sample (0: all). A larger limit extends a smaller one's sample.")] = 50,
    seed: Annotated[int, typer.Option(help="Seed of the question sample (the same sample for every graph).")] = 0,
    model: Annotated[str | None, typer.Option(help="local, local:<name>, or provider:model (default: $AGENTIC_RAG_MODEL or local).")] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Output directory; re-running with it skips questions already done. "
                     "Default: .agentic-rag/eval/<file>-<format>-<model>-seed<seed>."),
    ] = None,
    k: Annotated[int, typer.Option(min=1, help="Passages per search.")] = 4,
    max_rounds: Annotated[int, typer.Option(min=1, help="Most search rounds per question.")] = 3,
    max_llm_calls: Annotated[int, typer.Option(min=1, help="Most chat-model calls per question, the answer included.")] = 6,
    max_tool_calls: Annotated[int | None, typer.Option(min=1, help="Most tool calls per question.")] = 12,
    max_tokens: Annotated[int | None, typer.Option(min=1, help="Most prompt + completion tokens per question.")] = None,
    max_seconds: Annotated[float | None, typer.Option(min=0.001, help="Most seconds per question.")] = None,
    cache_dir: Annotated[Path, typer.Option(help="Where pooled corpora are built once and reused.")] = DEFAULT_CACHE_DIR,
    store: Annotated[Optional[str], typer.Option(
        "--store", help="Index the pooled corpus into this Postgres store (postgresql://...) and search it there.")] = None,
    chunk_size: Annotated[int, typer.Option(min=100, help="Characters per chunk of the pooled corpus.")] = DEFAULT_CHUNK_SIZE,
    adaptive: Annotated[str, typer.Option(help=ADAPTIVE_HELP)] = DEFAULT_ADAPTIVE_MODE,
    style: Annotated[str, typer.Option(help=STYLE_HELP + " Default short, as the benchmark figures are scored.")] = "short",
    setting: Annotated[Optional[list[str]], typer.Option("--set", help=SET_HELP)] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar with the running F1 per graph.")] = True,
) -> None:
    """Evaluate the graphs on a multi-hop QA file: answers (EM, F1), retrieval, citations and cost."""
    err = Console(stderr=True)
    try:
        from agentic_rag.agent.settings import Settings
        from agentic_rag.graphs import Budget

        from agentic_rag.eval.runner import EvalConfig, run_eval

        require("matplotlib", "eval")  # fail before a long run, not after it
        config = EvalConfig(
            dataset=dataset_file,
            format=dataset_format,
            graphs=_graphs(graphs),
            limit=limit or None,
            seed=seed,
            model=model or Settings().model,
            k=k,
            budget=Budget(
                max_rounds=max_rounds, max_llm_calls=max_llm_calls, max_tool_calls=max_tool_calls,
                max_tokens=max_tokens, max_seconds=max_seconds,
            ),
            out=out,
            cache_dir=cache_dir,
            store=store,
            chunk_size=chunk_size,
            chunk_overlap=min(200, chunk_size // 4),
            adaptive=adaptive,
            graph_settings=({} if style == "short" else {"style": style}) | settings_from(setting),
        )
        result = run_eval(config, show_progress=progress)
    except AgenticRAGError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err.print("interrupted; run the same command again to resume")
        raise typer.Exit(130) from None
    console = Console()
    _show(console, result.summary)
    note = f"{result.ran} runs, {result.skipped} already done"
    if result.failed:
        note += f", {result.failed} failed (retried on the next run)"
    console.print(f"{note}; wrote {', '.join(str(f) for f in result.files)}", highlight=False, soft_wrap=True)
