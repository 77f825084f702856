"""Evidence: a retrieved piece of text the agent may cite."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

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

    def short(self, max_chars: int = 600) -> str:
        """The text cut to ``max_chars`` characters at a word boundary, for prompts."""
        if len(self.text) <= max_chars:
            return self.text
        cut = self.text[:max_chars].rsplit(" ", 1)[0]
        return cut + " ..."
