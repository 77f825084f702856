"""Settings read from the environment (prefix ``AGENTIC_RAG_``); values passed per run win."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]


class Settings(BaseSettings):
    """Environment defaults: ``AGENTIC_RAG_MODEL``, ``AGENTIC_RAG_GRAPH``, ``AGENTIC_RAG_VERBOSE``, ``AGENTIC_RAG_K``."""

    model_config = SettingsConfigDict(env_prefix="AGENTIC_RAG_", extra="ignore")

    model: str = "local"
    graph: str = "agentic"
    k: int = 4
    verbose: bool = False
