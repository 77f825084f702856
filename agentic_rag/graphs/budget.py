"""Run budgets: the limits that always end the agentic loop."""

from __future__ import annotations

import time

from pydantic import BaseModel, Field, model_validator

from agentic_rag.answer import ExitReason, Usage
from agentic_rag.errors import ConfigurationError

__all__ = ["Budget", "exhausted"]


class Budget(BaseModel):
    """Limits of one run. ``None`` means no limit for that part (rounds and LLM calls always have one)."""

    max_rounds: int = Field(default=3, ge=1, description="Search rounds (plan/refine followed by tool calls).")
    max_llm_calls: int = Field(default=6, ge=1, description="Chat-model calls, the final answer included.")
    max_tool_calls: int | None = Field(default=12, ge=1)
    max_tokens: int | None = Field(default=None, ge=1, description="Prompt plus completion tokens.")
    max_seconds: float | None = Field(default=None, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _reject_bad_types(cls, data):
        if isinstance(data, dict):
            for key, value in data.items():
                if isinstance(value, bool):
                    raise ConfigurationError(f"budget {key} must be a number, not {value!r}")
        return data


def exhausted(
    budget: Budget,
    usage: Usage,
    *,
    rounds: int,
    started_at: float,
    reserve_llm_calls: int = 0,
    next_tool_calls: int = 0,
) -> ExitReason | None:
    """The first budget part that is used up, or ``None``.

    ``reserve_llm_calls`` keeps calls back (the final answer needs one); ``next_tool_calls`` asks
    whether that many more tool calls still fit (steps that call no tool pass 0 and are not stopped
    by a used-up tool budget).
    """
    if rounds >= budget.max_rounds:
        return ExitReason.BUDGET_ROUNDS
    if usage.llm_calls + reserve_llm_calls >= budget.max_llm_calls:
        return ExitReason.BUDGET_LLM_CALLS
    if budget.max_tool_calls is not None and next_tool_calls and usage.tool_calls + next_tool_calls > budget.max_tool_calls:
        return ExitReason.BUDGET_TOOL_CALLS
    if budget.max_tokens is not None and usage.total_tokens >= budget.max_tokens:
        return ExitReason.BUDGET_TOKENS
    if budget.max_seconds is not None and time.time() - started_at >= budget.max_seconds:
        return ExitReason.BUDGET_TIME
    return None
