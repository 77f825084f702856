"""Calling the chat model from a node: usage accounting, structured output with retries, no crash."""

from __future__ import annotations

import logging
import time
from typing import Any, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel

from agentic_rag._text import message_text
from agentic_rag.answer import Usage
from agentic_rag.graphs import prompts
from agentic_rag.graphs.effects import Both, Effects, run_sync

__all__ = ["LLMResult", "invoke_text", "invoke_structured", "prompt_messages", "structured_call", "text_call", "usage_of"]

logger = logging.getLogger(__name__)
T = TypeVar("T", bound=BaseModel)


def prompt_messages(user: str) -> list[BaseMessage]:
    """The shared system prompt and ``user``: every call of a run begins alike, so the model server reuses its cache."""
    return [SystemMessage(content=prompts.SYSTEM), HumanMessage(content=user)]


class LLMResult(BaseModel):
    """What one logical model call gave: a value or an error, and what it cost (all attempts)."""

    model_config = {"arbitrary_types_allowed": True}

    value: Any = None
    usage: Usage = Usage()
    error: str | None = None
    attempts: int = 0


def usage_of(message: Any) -> Usage:
    """Token usage of one reply (zero where the model does not report it)."""
    meta = getattr(message, "usage_metadata", None) or {}
    cached = (meta.get("input_token_details") or {}).get("cache_read") or 0
    return Usage(llm_calls=1, prompt_tokens=meta.get("input_tokens", 0), cached_prompt_tokens=cached,
                 completion_tokens=meta.get("output_tokens", 0))


def _invoke(runnable: Any, messages: list[BaseMessage]) -> Both:
    return Both(lambda: runnable.invoke(messages), lambda: runnable.ainvoke(messages))


def text_call(model: BaseChatModel, messages: list[BaseMessage], attempts: int = 2) -> Effects[LLMResult]:
    """A plain reply; a failing call is retried, and a call that keeps failing gives ``error``."""
    usage, error = Usage(), None
    for attempt in range(1, attempts + 1):
        started = time.perf_counter()
        try:
            reply = yield _invoke(model, messages)
        except Exception as exc:  # noqa: BLE001 - any provider error becomes an observation, not a crash
            usage = usage + Usage(llm_calls=1, seconds=time.perf_counter() - started)
            error = f"{type(exc).__name__}: {exc}"
            logger.warning("model call failed (attempt %d/%d): %s", attempt, attempts, error)
            continue
        cost = usage_of(reply).model_copy(update={"seconds": time.perf_counter() - started})
        text = message_text(reply.content) if isinstance(reply, AIMessage) else str(reply)
        return LLMResult(value=text, usage=usage + cost, attempts=attempt)
    return LLMResult(usage=usage, error=error, attempts=attempts)


def structured_call(
    model: BaseChatModel, schema: type[T], messages: list[BaseMessage], attempts: int = 2
) -> Effects[LLMResult]:
    """A reply parsed into ``schema``; malformed output or a failing call is retried up to ``attempts``."""
    try:
        runnable = model.with_structured_output(schema, include_raw=True)
    except Exception as exc:  # noqa: BLE001 - e.g. NotImplementedError: the model cannot do it at all
        return LLMResult(error=f"{type(exc).__name__}: {exc}", attempts=0)
    usage, error = Usage(), None
    for attempt in range(1, attempts + 1):
        started = time.perf_counter()
        try:
            result = yield _invoke(runnable, messages)
        except Exception as exc:  # noqa: BLE001 - see text_call
            usage = usage + Usage(llm_calls=1, seconds=time.perf_counter() - started)
            error = f"{type(exc).__name__}: {exc}"
            logger.warning("structured call failed (attempt %d/%d): %s", attempt, attempts, error)
            continue
        cost = usage_of(result.get("raw")).model_copy(update={"seconds": time.perf_counter() - started})
        usage = usage + cost
        parsed = result.get("parsed")
        if parsed is not None and result.get("parsing_error") is None:
            if not isinstance(parsed, schema):
                parsed = schema.model_validate(parsed)
            return LLMResult(value=parsed, usage=usage, attempts=attempt)
        error = f"malformed {schema.__name__}: {result.get('parsing_error')}"
        logger.warning("structured output rejected (attempt %d/%d): %s", attempt, attempts, error)
    return LLMResult(usage=usage, error=error, attempts=attempts)


def invoke_text(model: BaseChatModel, messages: list[BaseMessage], attempts: int = 2) -> LLMResult:
    """:func:`text_call` with the sync API."""
    return run_sync(text_call(model, messages, attempts))


def invoke_structured(model: BaseChatModel, schema: type[T], messages: list[BaseMessage], attempts: int = 2) -> LLMResult:
    """:func:`structured_call` with the sync API."""
    return run_sync(structured_call(model, schema, messages, attempts))
