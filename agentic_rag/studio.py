"""Both graphs for LangGraph Studio and ``langgraph dev`` (declared in ``langgraph.json``).

The chat model comes from ``AGENTIC_RAG_MODEL`` (default: the local llama.cpp model) and the
knowledge base from ``AGENTIC_RAG_INDEX`` (default: the demo index ``make demo`` builds). Each
factory is called by the LangGraph server with the run's config; the model and the index are
loaded once and shared.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["agentic", "traditional", "DEFAULT_INDEX"]

DEFAULT_INDEX = Path(".agentic-rag/demo-index")


@lru_cache(maxsize=1)
def _model_and_tools() -> tuple[Any, list[Any]]:
    from agentic_rag.agent.bootstrap import open_knowledge_base
    from agentic_rag.agent.models import resolve_chat_model
    from agentic_rag.agent.settings import Settings
    from agentic_rag.tools.retrieval import retrieval_tools

    settings = Settings()
    kb = open_knowledge_base(settings.index or DEFAULT_INDEX, hint="run `make demo` or set AGENTIC_RAG_INDEX")
    return resolve_chat_model(settings.model), retrieval_tools(kb, k=settings.k)


def _graph(name: str) -> Any:
    from agentic_rag.agent.settings import Settings
    from agentic_rag.graphs import build_graph
    from agentic_rag.graphs.config import config_from_options

    return build_graph(name, *_model_and_tools(), config_from_options(k=Settings().k))


def agentic(config: Any = None) -> Any:
    """The agentic graph over the configured model and index (a run's settings override its ``RAGConfig``)."""
    return _graph("agentic")


def traditional(config: Any = None) -> Any:
    """The single-step graph over the same model and index."""
    return _graph("traditional")
