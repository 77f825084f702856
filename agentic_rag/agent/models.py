"""Turn a model spec (an instance, ``"local"``, ``"local:<name>"`` or ``"provider:model"``) into a chat model."""

from __future__ import annotations

import importlib
import logging
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel

from agentic_rag._imports import PYTHON_PREFIX, import_instance
from agentic_rag.errors import MissingDependencyError, ModelError, ModelNotFoundError

from agentic_rag.agent import model_store

__all__ = ["ModelDependencyError", "resolve_chat_model"]

logger = logging.getLogger(__name__)

_SPEC_HELP = (
    "use 'local', 'local:<name>' ({names}), 'provider:model' such as 'openai:gpt-4o-mini', "
    "'python:package.module:attribute', or a LangChain chat model instance"
)

# Providers whose LangChain package is not simply ``langchain-<provider>``.
_PROVIDER_PACKAGES = {
    "azure_openai": "langchain-openai",
    "azure_ai": "langchain-azure-ai",
    "bedrock": "langchain-aws",
    "bedrock_converse": "langchain-aws",
    "google_vertexai": "langchain-google-vertexai",
    "google_anthropic_vertex": "langchain-google-vertexai",
    "google_genai": "langchain-google-genai",
    "huggingface": "langchain-huggingface",
    "nvidia": "langchain-nvidia-ai-endpoints",
    "ollama": "langchain-ollama",
}


class ModelDependencyError(ModelError, MissingDependencyError):
    """The package a chat model needs is not installed; the message says what to install."""


def _help() -> str:
    return _SPEC_HELP.format(names=", ".join(sorted(model_store.MODELS)))


def _provider_package(provider: str) -> str:
    return _PROVIDER_PACKAGES.get(provider, "langchain-" + provider.replace("_", "-"))


def _init_chat_model() -> Callable[..., Any]:
    """LangChain's ``init_chat_model`` (from ``langchain``, else ``langchain_classic``)."""
    try:
        return importlib.import_module("langchain.chat_models").init_chat_model
    except (ImportError, AttributeError):
        pass
    try:
        classic = importlib.import_module("langchain_classic.chat_models").init_chat_model
    except (ImportError, AttributeError):
        pass
    else:

        def init_chat_model(*args: Any, **kwargs: Any) -> Any:
            with warnings.catch_warnings():  # the same function, kept for compatibility
                warnings.simplefilter("ignore", DeprecationWarning)
                return classic(*args, **kwargs)

        return init_chat_model
    raise ModelDependencyError(
        "provider models need LangChain's init_chat_model; install it with: "
        "pip install langchain langchain-<provider>"
    )


def _resolve_provider(spec: str) -> BaseChatModel:
    provider, sep, name = spec.partition(":")
    provider = provider.strip().lower()
    name = name.strip()
    if sep and not (provider and name):
        raise ModelNotFoundError(f"invalid model spec {spec!r}: {_help()}")
    init_chat_model = _init_chat_model()
    try:
        if sep:
            model = init_chat_model(name, model_provider=provider)
        else:  # a bare model name: LangChain infers the provider ("gpt-4o" -> openai)
            model = init_chat_model(spec.strip())
    except ImportError as exc:
        hinted = re.search(r"pip install (?:-U )?([A-Za-z0-9_.\-\[\]]+)", str(exc))
        package = hinted.group(1) if hinted else _provider_package(provider if sep else "<provider>")
        raise ModelDependencyError(
            f"model {spec!r} needs the {package} package; install it with: pip install {package}"
        ) from exc
    except ValueError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelNotFoundError(f"cannot resolve model {spec!r} ({first_line}); {_help()}") from exc
    except Exception as exc:  # provider constructors fail in many ways (keys, settings)
        raise ModelError(f"cannot create model {spec!r}: {type(exc).__name__}: {exc}") from exc
    if not isinstance(model, BaseChatModel):
        raise ModelError(f"{spec!r} did not resolve to a chat model (got {type(model).__name__})")
    return model


def _resolve_local(
    name: str, *, verbose: bool, on_download: Callable[[str], None] | None
) -> BaseChatModel:
    try:
        importlib.import_module("xllamacpp")
    except ImportError as exc:
        raise ModelDependencyError(
            "local models need xllamacpp; install it with: pip install 'agentic-rag[local]'"
        ) from exc
    from agentic_rag.agent.llamacpp import ChatLlamaCpp

    if name.lower().endswith(".gguf"):  # "local:/path/to/model.gguf"
        path = Path(name).expanduser()
        if not path.is_file():
            raise ModelNotFoundError(f"model file {path} does not exist")
        return ChatLlamaCpp(model_path=path, verbose=verbose)
    spec = model_store.get_spec(name or None)
    if model_store.is_available(spec.name):
        path = model_store.model_path(spec.name)
    else:
        message = f"Downloading model {spec.name} ({spec.size / 1e6:,.0f} MB) ..."
        logger.info(message)
        if on_download is not None:
            on_download(message)
        path = model_store.pull(spec.name)
    return ChatLlamaCpp(model_path=path, verbose=verbose)


def resolve_chat_model(
    spec: BaseChatModel | str,
    *,
    verbose: bool = False,
    on_download: Callable[[str], None] | None = None,
) -> BaseChatModel:
    """Return a chat model for ``spec``.

    - a ``BaseChatModel`` instance is returned as is;
    - ``"local"`` is the default offline model, ``"local:<name>"`` a model of the local registry
      (or ``"local:/path/model.gguf"``); a missing model is pulled first, after calling
      ``on_download(message)``; ``verbose`` lets llama.cpp log;
    - a registry name alone (``"qwen2.5-coder-0.5b"``) means the same as ``"local:<name>"``;
    - ``"python:package.module:attribute"`` is a chat model of the user's own (an instance, or a class
      or factory called with no arguments), so any LangChain chat model runs from the command line;
    - anything else, e.g. ``"openai:gpt-4o-mini"``, goes to LangChain's ``init_chat_model``.

    Raises :class:`ModelNotFoundError` for an empty or unknown spec, :class:`ModelDependencyError`
    (a :class:`ModelError`) when a needed package is not installed, and :class:`ModelError`
    for other failures.
    """
    if isinstance(spec, BaseChatModel):
        return spec
    if not isinstance(spec, str) or not spec.strip():
        raise ModelNotFoundError(f"no chat model given ({spec!r}): {_help()}")
    text = spec.strip()
    head, sep, rest = text.partition(":")
    if text.startswith(PYTHON_PREFIX):
        return import_instance(text, BaseChatModel, "chat model")
    if head.strip().lower() == "local":
        return _resolve_local(rest.strip(), verbose=verbose, on_download=on_download)
    if not sep and text.lower() in model_store.MODELS:
        return _resolve_local(text, verbose=verbose, on_download=on_download)
    return _resolve_provider(text)
