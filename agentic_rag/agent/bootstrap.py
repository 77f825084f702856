"""Opening the knowledge base that a command, a server or LangGraph Studio works over, with its embeddings."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentic_rag._imports import PYTHON_PREFIX, import_instance
from agentic_rag.errors import ConfigurationError, MissingDependencyError, require
from agentic_rag.tools.store import MANIFEST_NAME

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

__all__ = ["EMBEDDINGS_HELP", "STORE_HELP", "open_knowledge_base", "resolve_embeddings"]

EMBEDDINGS_HELP = ("Embeddings: local (all-MiniLM-L6-v2, offline), huggingface:<model name or folder>, "
                   "python:package.module:attribute (your own), or provider:model "
                   "through LangChain's init_embeddings (e.g. openai:text-embedding-3-small); default $AGENTIC_RAG_EMBEDDINGS "
                   "or local. An index is searched with the embeddings it was built with.")


def resolve_embeddings(spec: str | None = None) -> Embeddings:
    """The embeddings ``spec`` names (default: ``AGENTIC_RAG_EMBEDDINGS``, else ``local``).

    ``local`` is the bundled all-MiniLM-L6-v2; ``huggingface:<name or folder>`` a sentence-transformers
    model (a multilingual one such as ``huggingface:sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2``
    for documents not in English); ``python:package.module:attribute`` embeddings of the user's own (an
    instance, or a class or factory called with no arguments); any other ``provider:model`` goes to
    LangChain's ``init_embeddings``.
    """
    from agentic_rag.agent.settings import load_settings
    from agentic_rag.tools.embeddings import default_embeddings

    spec = (spec if spec is not None else load_settings().embeddings).strip()
    if spec == "local":
        return default_embeddings()
    if spec.startswith(PYTHON_PREFIX):
        from langchain_core.embeddings import Embeddings

        return import_instance(spec, Embeddings, "embeddings")
    provider, _, model = spec.partition(":")
    if not provider or not model.strip():
        raise ConfigurationError(f"embeddings must be 'local' or 'provider:model' (e.g. openai:text-embedding-3-small); got {spec!r}")
    if provider == "huggingface":
        hf = require("langchain_huggingface", "local")
        return hf.HuggingFaceEmbeddings(model_name=model, encode_kwargs={"normalize_embeddings": True})
    try:
        from langchain.embeddings import init_embeddings
    except ImportError:
        raise MissingDependencyError(
            f"embeddings {spec!r} are made by LangChain's init_embeddings: pip install langchain langchain-{provider}"
        ) from None
    try:
        return init_embeddings(spec)
    except (ImportError, ValueError) as exc:
        raise ConfigurationError(f"cannot create the embeddings {spec!r}: {exc}") from exc


STORE_HELP = ("A Postgres store (postgresql://user:password@host/db, pgvector needed) instead of --index: "
              "one knowledge base that many processes share.")


def open_knowledge_base(
    index_dir: str | os.PathLike[str] | None, embeddings: Embeddings | str | None = None, *, hint: str | None = None,
    store: str | None = None,
) -> Any:
    """The knowledge base saved in ``index_dir``, or the Postgres ``store``; :class:`ConfigurationError` if none is there.

    ``embeddings`` are an object or a spec for :func:`resolve_embeddings` (default: the
    environment's), created only once the index is found. ``hint`` is what the error suggests
    doing; by default the command that builds the index.
    """
    if store:
        from agentic_rag.tools.postgres_store import PostgresKnowledgeBase

        return PostgresKnowledgeBase(store, embeddings if embeddings is not None and not isinstance(embeddings, str)
                                     else resolve_embeddings(embeddings))
    if index_dir is None:
        raise ConfigurationError("give an index directory (--index) or a Postgres store (--store)")
    index_dir = Path(index_dir)
    if not (index_dir / MANIFEST_NAME).exists():
        hint = hint or f"build one with: agentic-rag index PATH --index {index_dir}"
        raise ConfigurationError(f"no index at {index_dir}; {hint}")
    from agentic_rag.tools.knowledge_base import KnowledgeBase

    if embeddings is None or isinstance(embeddings, str):
        embeddings = resolve_embeddings(embeddings)
    return KnowledgeBase.load(index_dir, embeddings)
