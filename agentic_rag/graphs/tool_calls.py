"""Calling a retrieval tool from a node: retries for transient errors, failures as observations."""

from __future__ import annotations

import logging
import time
from typing import Any

from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, ToolException
from pydantic import ValidationError
from tenacity import AsyncRetrying, Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from agentic_rag.evidence import Evidence
from agentic_rag.tools.adapters import asearch_with, search_with

__all__ = ["ToolResult", "acall_tool", "call_tool", "is_transient"]

logger = logging.getLogger(__name__)

ToolResult = tuple[list[Evidence], str | None, float]


def is_transient(exc: BaseException) -> bool:
    """Whether a tool error may go away on a retry: not bad arguments or a tool's own refusal."""
    permanent = (ValueError, TypeError, KeyError, LookupError, ValidationError, ToolException, NotImplementedError)
    return isinstance(exc, Exception) and not isinstance(exc, permanent)


def _retry(tool: BaseTool, attempts: int, retry_wait: float) -> dict[str, Any]:
    """Tenacity's settings for one tool: transient errors retried with exponential backoff."""
    return dict(
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=retry_wait, max=8 * retry_wait),
        retry=retry_if_exception(is_transient),
        before_sleep=lambda rs: logger.info(
            "tool %s failed (attempt %d), retrying: %s", tool.name, rs.attempt_number, rs.outcome.exception()
        ),
        reraise=True,
    )


def _failed(tool: BaseTool, query: str, exc: Exception, started: float) -> ToolResult:
    logger.warning("tool %s failed on %r: %s", tool.name, query, exc)
    return [], f"{type(exc).__name__}: {exc}", time.perf_counter() - started


def call_tool(
    tool: BaseTool, query: str, *, k: int, attempts: int, retry_wait: float, config: RunnableConfig | None = None,
    filters: dict[str, Any] | None = None,
) -> ToolResult:
    """Call ``tool`` with ``query`` (and ``k`` where it takes one), under the run's ``config`` (callbacks).

    Transient errors are retried up to ``attempts`` tries with exponential backoff from
    ``retry_wait`` seconds; an error that stays becomes the returned error string. Returns the
    evidence, the error and the seconds it took.
    """
    started = time.perf_counter()
    try:
        found = Retrying(**_retry(tool, attempts, retry_wait))(search_with, tool, query, k, config, filters)
    except Exception as exc:  # noqa: BLE001 - a failing tool is an observation, not the end of the run
        return _failed(tool, query, exc, started)
    return found, None, time.perf_counter() - started


async def acall_tool(
    tool: BaseTool, query: str, *, k: int, attempts: int, retry_wait: float, config: RunnableConfig | None = None,
    filters: dict[str, Any] | None = None,
) -> ToolResult:
    """:func:`call_tool` through the tool's ``ainvoke`` (the backoff awaits instead of sleeping)."""
    started = time.perf_counter()
    try:
        found = await AsyncRetrying(**_retry(tool, attempts, retry_wait))(asearch_with, tool, query, k, config, filters)
    except Exception as exc:  # noqa: BLE001 - see call_tool
        return _failed(tool, query, exc, started)
    return found, None, time.perf_counter() - started
