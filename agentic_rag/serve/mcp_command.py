"""The ``agentic-rag mcp`` command (a typer command function; ``cli.py`` registers it).

Imports nothing of the ``mcp`` extra until it runs, so the rest of the command line works without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape

from agentic_rag.agent.bootstrap import EMBEDDINGS_HELP, STORE_HELP
from agentic_rag.errors import AgenticRAGError

__all__ = ["mcp_command"]


def mcp_command(
    index_dir: Annotated[Optional[Path], typer.Option("--index", help="Directory of an index built with `agentic-rag index`.")] = None,
    store: Annotated[Optional[str], typer.Option("--store", help=STORE_HELP)] = None,
    model: Annotated[Optional[str], typer.Option(help="local, local:<name>, provider:model or python:module:attribute (default: $AGENTIC_RAG_MODEL or local).")] = None,
    embeddings: Annotated[Optional[str], typer.Option(help=EMBEDDINGS_HELP)] = None,
    graph: Annotated[Optional[str], typer.Option(help="agentic or traditional (default: $AGENTIC_RAG_GRAPH or agentic).")] = None,
    k: Annotated[Optional[int], typer.Option(min=1, help="Passages per search (default: $AGENTIC_RAG_K or 4).")] = None,
) -> None:
    """Serve the knowledge base to MCP clients over stdio: a `research` tool (answers with citations) and a `search` tool."""
    err = Console(stderr=True, soft_wrap=True)  # standard output belongs to the protocol
    try:
        server = _build((index_dir, store, embeddings), model, graph, k, err)
    except AgenticRAGError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    from agentic_rag.serve.mcp import run_stdio

    from agentic_rag.tools.postgres_store import redacted_url

    where = redacted_url(store) if store else str(index_dir)
    err.print(f"[dim]agentic-rag MCP server on stdio over {escape(where)}[/dim]", highlight=False)
    try:
        run_stdio(server)
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


def _build(source: tuple[Path | None, str | None, str | None], model: str | None, graph: str | None, k: int | None, err: Console):
    """The server, with the knowledge base and the agent built once, before the first request."""
    from agentic_rag.agent.agent import Agent
    from agentic_rag.agent.bootstrap import open_knowledge_base
    from agentic_rag.errors import require

    require("mcp", "mcp")  # fail before loading anything
    from agentic_rag.graphs.config import config_from_options
    from agentic_rag.serve.mcp import build_server

    index_dir, store, embeddings = source
    kb = open_knowledge_base(index_dir, embeddings, store=store)
    agent = Agent(
        model, knowledge_base=kb, graph=graph, config=config_from_options(k=k),  # type: ignore[arg-type]
        on_download=lambda message: err.print(f"[yellow]{escape(message)}[/yellow]"),
    )
    return build_server(agent, kb, k=agent.config.k)
