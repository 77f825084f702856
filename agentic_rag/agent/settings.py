"""Settings read from the environment (prefix ``AGENTIC_RAG_``); values passed per run win."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from agentic_rag.errors import ConfigurationError

__all__ = ["Settings", "load_settings"]


class Settings(BaseSettings):
    """Environment defaults: ``AGENTIC_RAG_MODEL``, ``AGENTIC_RAG_GRAPH``, ``AGENTIC_RAG_VERBOSE``, ``AGENTIC_RAG_K``,
    ``AGENTIC_RAG_INDEX`` (Studio's index), ``AGENTIC_RAG_API_KEY`` (the server's keys, comma-separated) and
    ``AGENTIC_RAG_MODEL_DIR`` (where local models are kept) and ``AGENTIC_RAG_EMBEDDINGS`` (``local`` or
    ``provider:model``). An empty path counts as unset."""

    model_config = SettingsConfigDict(env_prefix="AGENTIC_RAG_", extra="ignore")

    model: str = "local"
    graph: str = "agentic"
    k: int = 4
    verbose: bool = False
    index: Path | None = None
    api_key: str = ""
    model_dir: Path | None = None
    embeddings: str = "local"

    @field_validator("index", "model_dir", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    def api_keys(self) -> tuple[str, ...]:
        """The keys in ``api_key`` (one, or several separated by commas)."""
        return tuple(k.strip() for k in self.api_key.split(",") if k.strip())


def load_settings() -> Settings:
    """The settings of the environment; a bad value is a :class:`ConfigurationError` naming the variable."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(f"AGENTIC_RAG_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        raise ConfigurationError(f"bad environment setting: {problems}") from None
