"""The ``agentic-rag serve`` command (a typer command function; ``cli.py`` registers it).

Imports nothing of the ``serve`` extra until it runs, so the rest of the command line works without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.markup import escape

from ..errors import AgenticRAGError

__all__ = ["serve_command"]


def serve_command(
    index_dir: Annotated[Path, typer.Option("--index", help="Directory of an index built with `agentic-rag index`.")],
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0: every interface).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8000,
    model: Annotated[Optional[str], typer.Option(help="local, local:<name>, or provider:model [env AGENTIC_RAG_MODEL, else local].")] = None,
    api_key: Annotated[
        Optional[list[str]],
        typer.Option("--api-key", help="Require this bearer token (repeat for several) [env AGENTIC_RAG_API_KEY, comma-separated]."),
    ] = None,
    threads_db: Annotated[Optional[Path], typer.Option(help="SQLite file that keeps conversations [default: in memory].")] = None,
    max_concurrent: Annotated[int, typer.Option(min=1, help="Runs executing at once.")] = 4,
    max_queued: Annotated[int, typer.Option(min=0, help="Runs waiting for a free slot before requests get 429.")] = 32,
    max_question_chars: Annotated[int, typer.Option(min=1, help="Longest question accepted (longer: 422).")] = 4000,
    max_body_bytes: Annotated[int, typer.Option(min=1024, help="Largest request body accepted (larger: 413).")] = 1_000_000,
    k: Annotated[Optional[int], typer.Option(min=1, help="Passages per search [env AGENTIC_RAG_K, else 4].")] = None,
    max_rounds: Annotated[int, typer.Option(min=1, help="Most search rounds per question.")] = 3,
    max_llm_calls: Annotated[int, typer.Option(min=1, help="Most chat-model calls per question, the answer included.")] = 6,
    max_seconds: Annotated[Optional[float], typer.Option(min=0.001, help="Most seconds per question [default: no limit].")] = None,
) -> None:
    """Serve the agent over HTTP: OpenAI-compatible chat completions, a live event stream, and a chat page at /."""
    err = Console(stderr=True, soft_wrap=True)
    try:
        app = _build(index_dir, model, api_key, threads_db, max_concurrent, max_queued, max_question_chars,
                     max_body_bytes, k, max_rounds, max_llm_calls, max_seconds, err)
    except AgenticRAGError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    import uvicorn

    keys = app.state.settings.api_keys
    err.print(
        f"[dim]agentic-rag on http://{host}:{port} (chat page at /, OpenAI API at /v1); "
        f"{'API key required' if keys else 'no API key required'}[/dim]",
        highlight=False,
    )
    uvicorn.run(app, host=host, port=port, log_level="info")


def _build(index_dir: Path, model: str | None, api_key: list[str] | None, threads_db: Path | None,
           max_concurrent: int, max_queued: int, max_question_chars: int, max_body_bytes: int, k: int | None,
           max_rounds: int, max_llm_calls: int, max_seconds: float | None, err: Console) -> Any:
    """The app, with the knowledge base and the chat model loaded once, before the first request."""
    from ..errors import ConfigurationError, require

    require("fastapi", "serve")  # fail before loading anything
    require("uvicorn", "serve")
    from ..agent.agent import Agent
    from ..graphs import Budget
    from ..tools.embeddings import default_embeddings
    from ..tools.knowledge_base import KnowledgeBase
    from .app import create_app
    from .settings import ServeSettings, keys_from_environment

    if not (index_dir / "manifest.json").exists():
        raise ConfigurationError(f"no index at {index_dir}; build one with: agentic-rag index PATH --index {index_dir}")
    kb = KnowledgeBase.load(index_dir, default_embeddings())
    budget = Budget(max_rounds=max_rounds, max_llm_calls=max_llm_calls, max_seconds=max_seconds)
    # The first agent resolves (and if needed downloads) the chat model; every agent shares it.
    chat_model = Agent(
        model, knowledge_base=kb, k=k, budget=budget,
        on_download=lambda message: err.print(f"[yellow]{escape(message)}[/yellow]"),
    ).model

    def make_agent(graph: str, checkpointer: Any) -> Agent:
        return Agent(chat_model, knowledge_base=kb, graph=graph, k=k, budget=budget, checkpointer=checkpointer)  # type: ignore[arg-type]

    serve_settings = ServeSettings(
        api_keys=tuple(api_key or ()) or keys_from_environment(),
        max_concurrent=max_concurrent, max_queued=max_queued,
        max_question_chars=max_question_chars, max_body_bytes=max_body_bytes, threads_db=threads_db,
    )
    return create_app(make_agent, serve_settings)
