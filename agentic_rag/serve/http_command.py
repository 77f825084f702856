"""The ``agentic-rag serve`` command (a typer command function; ``cli.py`` registers it).

Imports nothing of the ``serve`` extra until it runs, so the rest of the command line works without it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.markup import escape

from agentic_rag.errors import AgenticRAGError
from agentic_rag.agent.bootstrap import EMBEDDINGS_HELP, STORE_HELP

__all__ = ["serve_command", "allowed_hosts", "app_from_environment"]

OPTIONS_VARIABLE = "AGENTIC_RAG_SERVE_OPTIONS"  # how ``--workers`` hands the options to each worker process


def serve_command(
    index_dir: Annotated[Optional[Path], typer.Option("--index", help="Directory of an index built with `agentic-rag index`.")] = None,
    store: Annotated[Optional[str], typer.Option("--store", help=STORE_HELP)] = None,
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0: every interface).")] = "127.0.0.1",
    allowed_host: Annotated[
        Optional[list[str]],
        typer.Option("--allowed-host", help="Also accept requests whose Host header names this host (repeat for several)."),
    ] = None,
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8000,
    model: Annotated[Optional[str], typer.Option(help="local, local:<name>, provider:model or python:module:attribute [env AGENTIC_RAG_MODEL, else local].")] = None,
    embeddings: Annotated[Optional[str], typer.Option(help=EMBEDDINGS_HELP)] = None,
    api_key: Annotated[
        Optional[list[str]],
        typer.Option("--api-key", help="Require this bearer token (repeat for several) [env AGENTIC_RAG_API_KEY, comma-separated]."),
    ] = None,
    threads_db: Annotated[Optional[str], typer.Option(
        help="SQLite file or postgresql:// URL that keeps conversations [default: the --store, else in memory].")] = None,
    max_concurrent: Annotated[int, typer.Option(min=1, help="Runs executing at once.")] = 4,
    max_queued: Annotated[int, typer.Option(min=0, help="Runs waiting for a free slot before requests get 429.")] = 32,
    max_question_chars: Annotated[int, typer.Option(min=1, help="Longest question accepted (longer: 422).")] = 4000,
    max_body_bytes: Annotated[int, typer.Option(min=1024, help="Largest request body accepted (larger: 413).")] = 1_000_000,
    k: Annotated[Optional[int], typer.Option(min=1, help="Passages per search [env AGENTIC_RAG_K, else 4].")] = None,
    max_rounds: Annotated[int, typer.Option(min=1, help="Most search rounds per question.")] = 3,
    max_llm_calls: Annotated[int, typer.Option(min=1, help="Most chat-model calls per question, the answer included.")] = 6,
    max_seconds: Annotated[Optional[float], typer.Option(min=0.001, help="Most seconds per question [default: no limit].")] = None,
    workers: Annotated[int, typer.Option(min=1, help=(
        "Worker processes on one port; more than one needs conversations in Postgres (--store or "
        "--threads-db postgresql://...), so any worker serves any conversation."))] = 1,
) -> None:
    """Serve the agent over HTTP: OpenAI-compatible chat completions, a live event stream, and a chat page at /."""
    err = Console(stderr=True, soft_wrap=True)
    options: dict[str, Any] = {
        "index_dir": str(index_dir) if index_dir else None, "store": store, "model": model, "embeddings": embeddings, "api_key": api_key,
        "threads_db": threads_db or store, "max_concurrent": max_concurrent, "max_queued": max_queued,
        "max_question_chars": max_question_chars, "max_body_bytes": max_body_bytes, "k": k, "max_rounds": max_rounds,
        "max_llm_calls": max_llm_calls, "max_seconds": max_seconds, "hosts": list(allowed_hosts(host, allowed_host or [])),
    }
    try:
        if workers > 1:
            from agentic_rag.tools.postgres_store import is_postgres_url

            if not is_postgres_url(options["threads_db"]):
                raise AgenticRAGError(
                    "--workers above 1 needs conversations in Postgres (--store or --threads-db postgresql://...): "
                    "with a SQLite file or memory, a conversation would live in one worker only")
            _check_for_workers(options, err)
        app = _build_from(options, err) if workers == 1 else None
    except AgenticRAGError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    import uvicorn

    from agentic_rag.serve.settings import keys_from_environment

    keys = tuple(api_key or ()) or keys_from_environment()
    err.print(
        f"[dim]agentic-rag on http://{host}:{port} (chat page at /, OpenAI API at /v1"
        f"{f', {workers} workers' if workers > 1 else ''}); {'API key required' if keys else 'no API key required'}[/dim]",
        highlight=False,
    )
    if tuple(options["hosts"]) == ("*",) and not keys:
        err.print(f"[yellow]warning: listening on {escape(host)} with no API key: anyone who can reach this "
                  "machine can use the server; give --api-key[/yellow]", highlight=False)
    # On Ctrl-C: stop taking requests, drop the queued runs, and give the open ones 5 s to end.
    if workers == 1:
        uvicorn.run(app, host=host, port=port, log_level="info", timeout_graceful_shutdown=5)
        return
    # Each worker process builds its own app from the same options (checked above, so they start).
    os.environ[OPTIONS_VARIABLE] = json.dumps(options)
    uvicorn.run(f"{__name__}:app_from_environment", factory=True, workers=workers, host=host, port=port,
                log_level="info", timeout_graceful_shutdown=5)


def _check_for_workers(options: dict[str, Any], err: Console) -> None:
    """What the workers need, checked once before they start: the knowledge base and the threads
    store open (then close) and the chat model is there (a local model is downloaded here once, not by every worker)."""
    from agentic_rag.agent.bootstrap import open_knowledge_base
    from agentic_rag.agent.models import resolve_chat_model
    from agentic_rag.errors import require

    require("fastapi", "serve")
    require("uvicorn", "serve")
    from agentic_rag.agent.conversation import postgres_checkpointer

    kb = open_knowledge_base(Path(options["index_dir"]) if options["index_dir"] else None, options["embeddings"],
                             store=options["store"])
    close = getattr(kb, "close", None)
    if callable(close):
        close()
    postgres_checkpointer(options["threads_db"]).conn.close()  # the threads tables, made once before the workers
    from agentic_rag.agent.settings import Settings

    resolve_chat_model(options["model"] or Settings().model,
                       on_download=lambda message: err.print(f"[yellow]{escape(message)}[/yellow]"))


def app_from_environment() -> Any:
    """The app of one ``--workers`` process, built from the options the command put in the environment."""
    raw = os.environ.get(OPTIONS_VARIABLE)
    if not raw:
        raise RuntimeError(f"{OPTIONS_VARIABLE} is not set: start workers with `agentic-rag serve --workers N`")
    return _build_from(json.loads(raw), Console(stderr=True, soft_wrap=True))


def _build_from(options: dict[str, Any], err: Console) -> Any:
    index_dir = Path(options["index_dir"]) if options["index_dir"] else None
    return _build((index_dir, options["store"], options["embeddings"]), options["model"], options["api_key"], options["threads_db"],
                  options["max_concurrent"], options["max_queued"], options["max_question_chars"],
                  options["max_body_bytes"], options["k"], options["max_rounds"], options["max_llm_calls"],
                  options["max_seconds"], err, tuple(options["hosts"]))


def allowed_hosts(host: str, extra: list[str]) -> tuple[str, ...]:
    """The Host header values the server accepts: loopback names, ``host`` and ``extra``; any on 0.0.0.0 or ::.

    Checking the Host header stops DNS rebinding: a web page whose name resolves to this machine
    cannot use a server that accepts only its own names.
    """
    if host in ("0.0.0.0", "::", ""):
        return ("*",)
    bracket = lambda name: f"[{name}]" if ":" in name and not name.startswith("[") else name  # noqa: E731 - IPv6
    names = ["localhost", "127.0.0.1", "[::1]", bracket(host), *(bracket(name) for name in extra)]
    return tuple(dict.fromkeys(name.lower() for name in names))


def _build(source: tuple[Path | None, str | None, str | None], model: str | None, api_key: list[str] | None, threads_db: str | None,
           max_concurrent: int, max_queued: int, max_question_chars: int, max_body_bytes: int, k: int | None,
           max_rounds: int, max_llm_calls: int, max_seconds: float | None, err: Console,
           hosts: tuple[str, ...]) -> Any:
    """The app, with the knowledge base and the chat model loaded once, before the first request."""
    from agentic_rag.errors import require

    require("fastapi", "serve")  # fail before loading anything
    require("uvicorn", "serve")
    from agentic_rag.agent.agent import Agent
    from agentic_rag.agent.bootstrap import open_knowledge_base
    from agentic_rag.graphs import Budget, default_research_budget
    from agentic_rag.graphs.config import config_from_options
    from agentic_rag.serve.app import create_app
    from agentic_rag.serve.settings import ServeSettings, keys_from_environment

    index_dir, store, embeddings = source
    kb = open_knowledge_base(index_dir, embeddings, store=store)
    budget = Budget(max_rounds=max_rounds, max_llm_calls=max_llm_calls, max_seconds=max_seconds)
    config = config_from_options(k=k)
    # The first agent resolves (and if needed downloads) the chat model; every agent shares it.
    chat_model = Agent(
        model, knowledge_base=kb, config=config, budget=budget,
        on_download=lambda message: err.print(f"[yellow]{escape(message)}[/yellow]"),
    ).model

    # a research run plans sub-questions and runs the loop on each: its budget is the sum of theirs
    research_budget = default_research_budget(config).model_copy(update={"max_seconds": max_seconds})

    def make_agent(graph: str, checkpointer: Any) -> Agent:
        return Agent(chat_model, knowledge_base=kb, graph=graph, config=config,  # type: ignore[arg-type]
                     budget=research_budget if graph == "research" else budget, checkpointer=checkpointer)

    serve_settings = ServeSettings(
        api_keys=tuple(api_key or ()) or keys_from_environment(),
        max_concurrent=max_concurrent, max_queued=max_queued,
        max_question_chars=max_question_chars, max_body_bytes=max_body_bytes, threads_db=threads_db,
        allowed_hosts=hosts,
    )
    return create_app(make_agent, serve_settings)
