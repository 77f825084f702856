"""Nodes written once for sync and async runs.

A node body is a generator: it yields the calls it needs (a model call, a batch of searches) and
receives each one's result, or its exception thrown back in. :func:`run_sync` makes the calls with
``invoke`` (searches in a thread pool); :func:`run_async` with ``ainvoke`` (searches gathered on
the event loop), so an ``ainvoke``/``astream`` run awaits the model and the tools, and a tool or a
model that only has an async implementation works. :func:`node` gives LangGraph both.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from typing import Any, Protocol, TypeVar

from langchain_core.runnables import RunnableConfig, RunnableLambda
from langgraph.runtime import get_runtime

__all__ = ["Call", "Effects", "node", "run_async", "run_sync"]

T = TypeVar("T")


class Call(Protocol):
    """One call a node body asks for, made either way."""

    def sync(self) -> Any: ...

    async def asynchronous(self) -> Any: ...


Effects = Generator[Call, Any, T]
"""A node body (or a part of one): yields calls, returns its value."""


def run_sync(body: Effects[T]) -> T:
    """Run ``body``, making each call it yields with the sync API."""
    try:
        call = next(body)
        while True:
            try:
                result = call.sync()
            except Exception as exc:  # noqa: BLE001 - the body decides what a failure means
                call = body.throw(exc)
            else:
                call = body.send(result)
    except StopIteration as stop:
        return stop.value
    except BaseException:  # cancelled or interrupted: the body's own clean-up runs now, here
        body.close()
        raise


async def run_async(body: Effects[T]) -> T:
    """Run ``body``, awaiting each call it yields with the async API."""
    try:
        call = next(body)
        while True:
            try:
                result = await call.asynchronous()
            except Exception as exc:  # noqa: BLE001 - see run_sync
                call = body.throw(exc)
            else:
                call = body.send(result)
    except StopIteration as stop:
        return stop.value
    except BaseException:  # e.g. CancelledError: see run_sync
        body.close()
        raise


def node(body: Callable[[Any, RunnableConfig, Any], Effects[dict[str, Any]]], name: str | None = None) -> RunnableLambda:
    """A LangGraph node with a sync and an async implementation of one ``body(state, config, runtime)``."""

    def sync(state: Any, config: RunnableConfig) -> dict[str, Any]:
        return run_sync(body(state, config, get_runtime()))

    async def asynchronous(state: Any, config: RunnableConfig) -> dict[str, Any]:
        return await run_async(body(state, config, get_runtime()))

    return RunnableLambda(sync, afunc=asynchronous, name=name or getattr(body, "__name__", None))


class Both:
    """A call given as its two implementations (a zero-argument function and a coroutine function)."""

    def __init__(self, sync: Callable[[], Any], asynchronous: Callable[[], Awaitable[Any]]) -> None:
        self._sync = sync
        self._async = asynchronous

    def sync(self) -> Any:
        return self._sync()

    async def asynchronous(self) -> Any:
        return await self._async()
