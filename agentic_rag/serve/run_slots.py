"""Bounded concurrency: a few runs at once in worker threads, a bounded queue, then "busy".

Agent runs are synchronous and CPU-bound (the local model computes in the calling thread), so they
run in a pool of ``max_concurrent`` worker threads, never on the event loop. At most ``max_queued``
more wait for a worker; a request beyond that is refused at once with :class:`ServerBusy` instead of
piling up in memory. A run counts against these limits until its worker is done with it, even when
its client has gone away: the run finishes, so a conversation's thread stays consistent.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["RunSlots", "ServerBusy"]

T = TypeVar("T")
_ITEM, _ERROR, _END = "item", "error", "end"


class ServerBusy(Exception):
    """Every worker is busy and the queue is full."""


class RunSlots:
    def __init__(self, max_concurrent: int, max_queued: int) -> None:
        self.max_concurrent = max_concurrent
        self.capacity = max_concurrent + max_queued
        self._executor = ThreadPoolExecutor(max_workers=max_concurrent, thread_name_prefix="agentic-rag-run")
        self._guard = threading.Lock()
        self._admitted = 0
        self._running = 0

    @property
    def admitted(self) -> int:
        """Runs executing or waiting."""
        return self._admitted

    @property
    def running(self) -> int:
        return self._running

    def start(self, produce: Callable[[], Iterable[T]]) -> AsyncIterator[T]:
        """Queue ``produce`` for a worker and return its items as they come; :class:`ServerBusy` when full.

        Admission is decided here, before the caller starts answering, so a refusal can still be a 429.
        An exception raised by ``produce`` comes out of the returned iterator.
        """
        with self._guard:
            if self._admitted >= self.capacity:
                raise ServerBusy(f"{self._running} runs executing and {self._admitted - self._running} waiting")
            self._admitted += 1
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

        def hand_over(kind: str, value: Any) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, (kind, value))
            except RuntimeError:  # the event loop is closed: the server is shutting down
                pass

        def work() -> None:
            with self._guard:
                self._running += 1
            try:
                for item in produce():
                    hand_over(_ITEM, item)
            except Exception as exc:  # noqa: BLE001 - handed to the awaiting request
                hand_over(_ERROR, exc)
            except BaseException as exc:  # noqa: BLE001 - not re-raised on the event loop as such
                hand_over(_ERROR, RuntimeError(f"the run was stopped: {type(exc).__name__}"))
            finally:
                with self._guard:
                    self._running -= 1
                    self._admitted -= 1
                hand_over(_END, None)

        try:
            self._executor.submit(work)
        except RuntimeError:  # the pool was shut down
            with self._guard:
                self._admitted -= 1
            raise ServerBusy("the server is shutting down") from None
        return self._drain(queue)

    @staticmethod
    async def _drain(queue: asyncio.Queue[tuple[str, Any]]) -> AsyncIterator[Any]:
        while True:
            kind, value = await queue.get()
            if kind == _ITEM:
                yield value
            elif kind == _ERROR:
                raise value
            else:
                return

    def shutdown(self) -> None:
        """Refuse new runs; runs already admitted finish in their threads."""
        self._executor.shutdown(wait=False)
