"""Chat models for the agent: the local llama.cpp model, its model store, and spec resolution."""

from agentic_rag.agent.llamacpp import ChatLlamaCpp
from agentic_rag.agent.model_store import (
    DEFAULT_MODEL,
    LocalModelSpec,
    ModelStatus,
    get_spec,
    is_available,
    list_models,
    model_dir,
    model_path,
    pull,
)
from agentic_rag.agent.models import ModelDependencyError, resolve_chat_model

__all__ = [
    "ChatLlamaCpp",
    "DEFAULT_MODEL",
    "LocalModelSpec",
    "ModelDependencyError",
    "ModelStatus",
    "get_spec",
    "is_available",
    "list_models",
    "model_dir",
    "model_path",
    "pull",
    "resolve_chat_model",
]
