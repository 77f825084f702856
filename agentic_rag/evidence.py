"""Evidence: a retrieved piece of text the agent may cite."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["Evidence"]


class Evidence(BaseModel):
    """One retrieved passage.

    ``id`` is stable across runs (``"<source>#<chunk number>"`` for knowledge-base chunks),
    ``span`` is the half-open character range of ``text`` in the source text.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    source: str
    text: str
    span: tuple[int, int] | None = None
    score: float | None = None
    title: str | None = None
    tool: str | None = Field(default=None, description="Name of the tool that produced it.")
    metadata: dict[str, Any] = Field(default_factory=dict, description="The source document's metadata, as JSON values.")
    parts: tuple[str, ...] = Field(
        default=(), description="The ids of the chunks this passage joins, when it was read with its section; empty for one chunk.")

    @property
    def chunk_ids(self) -> tuple[str, ...]:
        """The chunks this passage holds: its ``parts``, or its own id."""
        return self.parts or (self.id,)

    @field_validator("metadata", mode="before")
    @classmethod
    def _json_values(cls, value: Any) -> Any:
        """Metadata kept as JSON values (dates and other objects as their text), so any checkpointer stores it."""
        if not isinstance(value, dict):
            return value
        return {str(k): v if v is None or isinstance(v, (str, int, float, bool)) else
                [x if isinstance(x, (str, int, float, bool)) else str(x) for x in v] if isinstance(v, (list, tuple)) else
                str(v) for k, v in value.items()}

    def short(self, max_chars: int = 600) -> str:
        """The text cut to ``max_chars`` characters at a word boundary, for prompts."""
        if len(self.text) <= max_chars:
            return self.text
        cut = self.text[:max_chars].rsplit(" ", 1)[0]
        return cut + " ..."
