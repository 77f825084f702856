"""Bounded concurrency: a few runs at once in worker threads, a bounded queue, then "busy".

Agent runs are synchronous and CPU-bound (the local model computes in the calling thread), so they
run in a pool of ``max_concurrent`` worker threads, never on the event loop. At most ``max_queued``
more wait for a worker; a request beyond that is refused at once with :class:`ServerBusy` instead of
piling up in memory. A run whose client has gone before a worker picks it up is skipped
(:meth:`Run.cancel`); once started, a run finishes, so a conversation's thread stays consistent.
On shutdown the queued runs are dropped and their requests ended; the running ones finish.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Generic, TypeVar

__all__ = ["Run", "RunSlots", "ServerBusy"]

T = TypeVar("T")
_ITEM, _ERROR, _END = "item", "error", "end"


class ServerBusy(Exception):
    """Every worker is busy and the queue is full, or the server is shutting down."""


class Run(Generic[T]):
    """An admitted run: its items as they come; an exception of the run comes out of the iteration."""

    def __init__(self, queue: asyncio.Queue[tuple[str, Any]]) -> None:
        self._queue = queue
        self._cancelled = threading.Event()
        self._ended = False

    def cancel(self) -> None:
        """Nobody waits for the run any more: a worker skips it if it has not started (else it finishes)."""
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def __aiter__(self) -> Run[T]:
        return self

    async def __anext__(self) -> T:
        if self._ended:
            raise StopAsyncIteration
        try:
            kind, value = await self._queue.get()
        except BaseException:  # the awaiting request was cancelled (its client went away)
            self.cancel()
            raise
        if kind == _ITEM:
            return value
        self._ended = True
        if kind == _ERROR:
            raise value
        raise StopAsyncIteration

    async def aclose(self) -> None:
        self.cancel()


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

    def start(self, produce: Callable[[], Iterable[T]], on_end: Callable[[], None] | None = None) -> Run[T]:
        """Queue ``produce`` for a worker and return its :class:`Run`; :class:`ServerBusy` when full.

        Admission is decided here, before the caller starts answering, so a refusal can still be a 429.
        ``on_end`` is called once (from any thread) when the run is over: finished, skipped or dropped.
        """
        with self._guard:
            if self._admitted >= self.capacity:
                raise ServerBusy(f"{self._running} runs executing and {self._admitted - self._running} waiting")
            self._admitted += 1
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        run: Run[T] = Run(queue)
        ended = False

        def hand_over(kind: str, value: Any) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, (kind, value))
            except RuntimeError:  # the event loop is closed: the server is shutting down
                pass

        def end(error: BaseException | None = None) -> None:
            nonlocal ended
            with self._guard:
                if ended:
                    return
                ended = True
                self._admitted -= 1
            if on_end is not None:
                on_end()
            if error is not None:
                hand_over(_ERROR, error)
            hand_over(_END, None)

        def work() -> None:
            if run.cancelled:
                end()
                return
            with self._guard:
                self._running += 1
            error: BaseException | None = None
            try:
                for item in produce():
                    hand_over(_ITEM, item)
            except Exception as exc:  # noqa: BLE001 - handed to the awaiting request
                error = exc
            except BaseException as exc:  # noqa: BLE001 - not re-raised on the event loop as such
                error = RuntimeError(f"the run was stopped: {type(exc).__name__}")
                error.__cause__ = exc
            finally:
                with self._guard:
                    self._running -= 1
                end(error)

        def dropped(future: Future[None]) -> None:
            if future.cancelled():  # by shutdown, before a worker took it
                end(ServerBusy("the server is shutting down"))

        try:
            self._executor.submit(work).add_done_callback(dropped)
        except RuntimeError:  # the pool was shut down
            with self._guard:
                self._admitted -= 1
            raise ServerBusy("the server is shutting down") from None
        return run

    def shutdown(self) -> None:
        """Refuse new runs and drop the queued ones (their requests end); the running ones finish."""
        self._executor.shutdown(wait=False, cancel_futures=True)
