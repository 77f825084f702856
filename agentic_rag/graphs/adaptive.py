"""The adaptive path's settings by name, for the command line and the evaluation harness.

- ``wording`` (the default): the judge's first cited answer is final when the question's wording
  shows no second hop or the cited passages hold the question's words;
- ``passages``: only the passage check (``single_hop=None``);
- ``off``: no adaptive path; every answer goes through the loop (``adaptive=False``).
"""

from __future__ import annotations

from typing import Any

from agentic_rag.errors import ConfigurationError

__all__ = ["ADAPTIVE_HELP", "ADAPTIVE_MODES", "DEFAULT_ADAPTIVE_MODE", "adaptive_settings"]

ADAPTIVE_MODES = ("wording", "passages", "off")
DEFAULT_ADAPTIVE_MODE = "wording"
ADAPTIVE_HELP = (
    "When the judge's first cited answer may stand: wording (no sign of a second hop in the question, or "
    "the cited passages hold its words; the default), passages (only the latter), off (always the loop)."
)


def adaptive_settings(mode: str) -> dict[str, Any]:
    """The :class:`~agentic_rag.graphs.config.RAGConfig` fields (``adaptive``, ``single_hop``) of a named mode."""
    if mode == "wording":
        return {}
    if mode == "passages":
        return {"single_hop": None}
    if mode == "off":
        return {"adaptive": False}
    raise ConfigurationError(f"unknown adaptive mode {mode!r}; choose one of: {', '.join(ADAPTIVE_MODES)}")
