"""Run graphs over a seeded sample of a dataset, one JSON line per (graph, question), resumable.

The output directory holds ``run.json`` (the settings), ``<graph>.jsonl`` (one row per question:
question, gold, prediction, citations, metrics, usage, exit reason, trace) and the report written
by :mod:`agentic_rag.eval.report`. Running again with the same directory skips the (graph,
question) pairs already there; the settings that change results (dataset, seed, model, k, budget,
chunking, embeddings) must match, while ``limit`` and ``graphs`` may grow.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel

from agentic_rag.answer import Answer
from agentic_rag.errors import AgenticRAGError, ConfigurationError
from agentic_rag.graphs import GRAPHS, Budget, RAGConfig, build_graph
from agentic_rag.graphs.config import config_from_options
from agentic_rag.graphs.adaptive import DEFAULT_ADAPTIVE_MODE
from agentic_rag.tools.embeddings import DEFAULT_EMBEDDING_MODEL_ID, default_embeddings, embedding_model_id
from agentic_rag._files import write_json_atomic
from agentic_rag._hashing import file_sha256
from agentic_rag.tools.postgres_store import redacted_url
from agentic_rag.tools.retrieval import retrieval_tools

from agentic_rag.eval import report
from agentic_rag.eval.corpus import (
    DEFAULT_CACHE_DIR,
    DEFAULT_CHUNK_OVERLAP,
    DEFAULT_CHUNK_SIZE,
    PooledCorpus,
    load_or_build_corpus,
)
from agentic_rag.eval.datasets import Dataset, DatasetFormat, QAExample, read_dataset
from agentic_rag.eval.metrics import question_metrics

__all__ = [
    "GRAPHS",
    "EvalConfig",
    "EvalError",
    "EvalResult",
    "default_out_dir",
    "read_rows",
    "run_eval",
    "sample_examples",
]

logger = logging.getLogger(__name__)

RUN_FILE = "run.json"
_MAX_FAILURES_IN_A_ROW = 3
# Settings that change results: a resumed run must use the same ones.
_FIXED_SETTINGS = (
    "dataset_sha256", "format", "seed", "model", "k", "budget", "chunk_size", "chunk_overlap", "embedding_model", "adaptive",
    "graph_settings", "store",
)
# Runs recorded before a setting existed used its default.
_SETTING_DEFAULTS: dict[str, Any] = {"adaptive": DEFAULT_ADAPTIVE_MODE, "graph_settings": {}, "store": "faiss"}


class EvalError(AgenticRAGError):
    """An evaluation cannot run (incompatible output directory, every question failing...)."""


@dataclass
class EvalConfig:
    """What to evaluate and where to write it. ``out=None`` means :func:`default_out_dir`."""

    dataset: Path
    format: DatasetFormat | None = None
    graphs: tuple[str, ...] = ("traditional", "agentic")
    limit: int | None = 50
    seed: int = 0
    model: str = "local"
    k: int = 4
    budget: Budget = field(default_factory=Budget)
    out: Path | None = None
    cache_dir: Path = DEFAULT_CACHE_DIR
    store: str | None = None  # a Postgres store to index the pooled corpus into, instead of a cached FAISS index
    chunk_size: int = DEFAULT_CHUNK_SIZE
    chunk_overlap: int = DEFAULT_CHUNK_OVERLAP
    adaptive: str = DEFAULT_ADAPTIVE_MODE
    graph_settings: dict[str, Any] = field(default_factory=dict)  # other RAGConfig fields (``--set``)

    def graph_config(self) -> RAGConfig:
        """The graphs' settings of this evaluation."""
        return config_from_options(k=self.k, adaptive_mode=self.adaptive, overrides=self.graph_settings)

    def check(self) -> None:
        """Raise :class:`ConfigurationError` for unknown graphs or out-of-range numbers."""
        if not self.graphs:
            raise ConfigurationError("no graph to evaluate; use --graphs traditional,agentic")
        unknown = [g for g in self.graphs if g not in GRAPHS]
        if unknown:
            raise ConfigurationError(f"unknown graph {unknown[0]!r}; choose from: {', '.join(GRAPHS)}")
        if len(set(self.graphs)) != len(self.graphs):
            raise ConfigurationError(f"a graph is named twice in {','.join(self.graphs)}")
        if self.limit is not None and self.limit < 1:
            raise ConfigurationError(f"limit must be at least 1, got {self.limit}")
        if self.k < 1:
            raise ConfigurationError(f"k must be at least 1, got {self.k}")
        self.graph_config()


@dataclass
class EvalResult:
    """Where a run wrote its files, and its summary (see :func:`agentic_rag.eval.report.summarise`)."""

    out: Path
    summary: dict[str, Any]
    files: list[Path]
    ran: int
    skipped: int
    failed: int


def sample_examples(examples: Sequence[QAExample], limit: int | None, seed: int) -> list[QAExample]:
    """The first ``limit`` examples of a seeded shuffle, so a larger limit extends a smaller one's sample."""
    order = list(examples)
    random.Random(seed).shuffle(order)
    return order if limit is None else order[:limit]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "model"


def default_out_dir(config: EvalConfig, fmt: DatasetFormat) -> Path:
    """``.agentic-rag/eval/<file stem>-<format>-<model>-seed<seed>[-<style>]`` (the style when not ``short``)."""
    style = config.graph_settings.get("style", "short")
    suffix = "" if style == "short" else f"-{_slug(str(style))}"
    return Path(".agentic-rag/eval") / f"{Path(config.dataset).stem}-{fmt.value}-{_slug(config.model)}-seed{config.seed}{suffix}"


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a results file; a line that is not valid JSON (a crash mid-write) is skipped."""
    rows: list[dict[str, Any]] = []
    if not path.is_file():
        return rows
    with path.open("r", encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                logger.warning("%s line %d is not valid JSON; ignored", path, number)
                continue
            if isinstance(row, dict) and "id" in row:
                rows.append(row)
    return rows


def _latest_rows(path: Path) -> dict[str, dict[str, Any]]:
    """The last row written for each question id."""
    return {str(row["id"]): row for row in read_rows(path)}


def _is_done(row: dict[str, Any] | None) -> bool:
    """A question counts as done when it has a row without an error (failed ones are retried)."""
    return row is not None and "error" not in row


def _append_row(path: Path, row: dict[str, Any]) -> None:
    needs_newline = path.is_file() and path.stat().st_size > 0 and not path.read_bytes().endswith(b"\n")
    with path.open("a", encoding="utf-8") as handle:
        if needs_newline:
            handle.write("\n")
        handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _settings(config: EvalConfig, dataset: Dataset, model_name: str, embedding_model: str) -> dict[str, Any]:
    return {
        "dataset": str(config.dataset),
        "dataset_sha256": file_sha256(dataset.path),
        "format": dataset.format.value,
        "seed": config.seed,
        "limit": config.limit,
        "graphs": list(config.graphs),
        "model": model_name,
        "k": config.k,
        "budget": config.budget.model_dump(mode="json"),
        "chunk_size": config.chunk_size,
        "chunk_overlap": config.chunk_overlap,
        "embedding_model": embedding_model,
        "adaptive": config.adaptive,
        "graph_settings": dict(sorted(config.graph_settings.items())),
        "store": redacted_url(config.store) if config.store else "faiss",
    }


def _prepare_out(out: Path, settings: dict[str, Any]) -> None:
    """Create ``out`` or check that the run already there used the same settings; then record them."""
    path = out / RUN_FILE
    if path.is_file():
        try:
            previous = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise EvalError(f"cannot read {path}: {exc}") from exc
        before = {key: previous.get(key, _SETTING_DEFAULTS.get(key)) for key in _FIXED_SETTINGS}
        differ = [key for key in _FIXED_SETTINGS if before[key] != settings.get(key)]
        if differ:
            shown = ", ".join(f"{key} {before[key]!r} -> {settings.get(key)!r}" for key in differ)
            raise EvalError(f"{out} holds a run with other settings ({shown}); use another --out")
        settings = {**previous, **settings, "graphs": list(dict.fromkeys(previous.get("graphs", []) + settings["graphs"]))}
    try:
        out.mkdir(parents=True, exist_ok=True)
        settings.setdefault("created_at", datetime.now(timezone.utc).isoformat(timespec="seconds"))
        write_json_atomic(path, settings)
    except OSError as exc:
        raise EvalError(f"cannot write to {out}: {exc}") from exc


def _model_name(model: BaseChatModel | None, name: str) -> str:
    if model is None:
        return name
    return str(getattr(model, "model_name", None) or getattr(model, "model", None) or type(model).__name__)


def _row(graph: str, example: QAExample, gold_sources: list[str], answer: Answer, seconds: float) -> dict[str, Any]:
    return {
        "id": example.id,
        "graph": graph,
        "question": example.question,
        "gold": {"answers": list(example.answers), "supporting": gold_sources},
        "prediction": answer.text,
        "citations": [c.model_dump(mode="json") for c in answer.citations],
        "metrics": question_metrics(answer, example.answers, gold_sources, graph),
        "usage": answer.usage.model_dump(mode="json"),
        "exit_reason": answer.exit_reason.value,
        "notice": answer.notice,
        "invalid_markers": list(answer.invalid_markers),
        "evidence_ids": list(answer.evidence_ids),
        "seconds": round(seconds, 3),
        "trace": [step.model_dump(mode="json") for step in answer.steps],
    }


def _error_row(graph: str, example: QAExample, gold_sources: list[str], error: str, seconds: float) -> dict[str, Any]:
    return {
        "id": example.id,
        "graph": graph,
        "question": example.question,
        "gold": {"answers": list(example.answers), "supporting": gold_sources},
        "error": error,
        "seconds": round(seconds, 3),
    }


class _Progress:
    """A rich progress bar per graph showing the running mean F1; a no-op when disabled."""

    def __init__(self, enabled: bool, graphs: Sequence[str], total: int) -> None:
        self._progress = None
        self._tasks: dict[str, Any] = {}
        self._f1: dict[str, list[float]] = {g: [] for g in graphs}
        if not enabled:
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=Console(stderr=True),
        )
        for graph in graphs:
            self._tasks[graph] = self._progress.add_task(self._label(graph), total=total)

    def _label(self, graph: str) -> str:
        scores = self._f1[graph]
        f1 = f"{100 * sum(scores) / len(scores):5.1f}" if scores else "  -  "
        return f"{graph:<11} F1 {f1}"

    def __enter__(self) -> _Progress:  # noqa: PYI034 - Self needs Python 3.11
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def advance(self, graph: str, row: dict[str, Any]) -> None:
        if "metrics" in row:
            self._f1[graph].append(float(row["metrics"]["f1"]))
        if self._progress is not None:
            self._progress.update(self._tasks[graph], advance=1, description=self._label(graph))


def _load_embeddings() -> Embeddings:
    return default_embeddings()


def _load_model(name: str) -> BaseChatModel:
    from agentic_rag.agent.models import resolve_chat_model

    return resolve_chat_model(name, on_download=lambda message: logger.warning("%s", message))


def run_eval(
    config: EvalConfig,
    *,
    model: BaseChatModel | None = None,
    embeddings: Embeddings | None = None,
    show_progress: bool = True,
) -> EvalResult:
    """Evaluate ``config.graphs`` on the seeded sample and write rows and report to the output directory.

    ``model`` and ``embeddings`` override ``config.model`` and the default embeddings (tests pass
    fakes). The chat model and the pooled corpus are loaded only if some pair is still to run.
    """
    config.check()
    dataset = read_dataset(config.dataset, config.format)
    sample = sample_examples(dataset.examples, config.limit, config.seed)
    out = Path(config.out) if config.out is not None else default_out_dir(config, dataset.format)
    embedding_id = embedding_model_id(embeddings) if embeddings is not None else DEFAULT_EMBEDDING_MODEL_ID
    settings = _settings(config, dataset, _model_name(model, config.model), embedding_id)
    commit = report.git_commit()
    _prepare_out(out, settings)

    done = {graph: _latest_rows(out / f"{graph}.jsonl") for graph in config.graphs}
    # One graph's questions after the other's: run question by question, a graph's first prompt would
    # find the other graph's prompt over the same passages in llama.cpp's cache, and count as cached
    # tokens a user running one graph computes.
    todo = [
        (example, graph) for graph in config.graphs for example in sample if not _is_done(done[graph].get(example.id))
    ]
    skipped = len(sample) * len(config.graphs) - len(todo)
    ran = failed = 0
    if todo:
        logger.info("%d runs to do, %d already in %s", len(todo), skipped, out)
        corpus = _corpus(dataset, config, embeddings)
        chat_model = model if model is not None else _load_model(config.model)
        tools = _tools(corpus, config.k)
        graph_config = config.graph_config()
        graphs = {name: build_graph(name, chat_model, tools, graph_config) for name in config.graphs}
        in_a_row = 0
        with _Progress(show_progress, config.graphs, len(sample)) as progress:
            for graph in config.graphs:
                for example in sample:
                    row = done[graph].get(example.id)
                    if _is_done(row):
                        progress.advance(graph, row)
            for example, graph in todo:
                gold_sources = corpus.gold_sources(example)
                started = time.perf_counter()
                try:
                    result = graphs[graph].invoke({"question": example.question, "budget": config.budget})
                    row = _row(graph, example, gold_sources, result["answer"], time.perf_counter() - started)
                    in_a_row = 0
                    ran += 1
                except KeyboardInterrupt:
                    raise
                except Exception as exc:  # noqa: BLE001 - one failing question must not end a long run
                    logger.warning("%s failed on %s: %s: %s", graph, example.id, type(exc).__name__, exc)
                    row = _error_row(graph, example, gold_sources, f"{type(exc).__name__}: {exc}", time.perf_counter() - started)
                    in_a_row += 1
                    failed += 1
                row["commit"] = commit  # the code that produced this row
                _append_row(out / f"{graph}.jsonl", row)
                done[graph][example.id] = row
                progress.advance(graph, row)
                if in_a_row >= _MAX_FAILURES_IN_A_ROW and ran == 0:
                    raise EvalError(f"the first {in_a_row} runs all failed; last error: {row['error']}")
    rows = {graph: [done[graph][e.id] for e in sample if e.id in done[graph]] for graph in config.graphs}
    recorded = json.loads((out / RUN_FILE).read_text("utf-8"))  # what every run into ``out`` recorded
    summary = report.summarise(rows, run=recorded | settings | {"out": str(out)}, seed=config.seed)
    files = report.write_report(out, summary)
    return EvalResult(out=out, summary=summary, files=files, ran=ran, skipped=skipped, failed=failed)


def _corpus(dataset: Dataset, config: EvalConfig, embeddings: Embeddings | None) -> PooledCorpus:
    return load_or_build_corpus(
        dataset,
        embeddings if embeddings is not None else _load_embeddings(),
        cache_dir=config.cache_dir,
        chunk_size=config.chunk_size,
        chunk_overlap=config.chunk_overlap,
        store=config.store,
    )


def _tools(corpus: PooledCorpus, k: int) -> list[Any]:
    return retrieval_tools(corpus.kb, k=k)
