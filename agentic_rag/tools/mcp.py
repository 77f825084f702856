"""Tools of MCP servers as agent tools, through ``langchain-mcp-adapters`` (the ``mcp`` extra).

The adapters' tools are asynchronous only, and each opens a new session per call unless one is
kept open; the agent's graph calls tools synchronously, from worker threads. :class:`MCPToolset`
bridges the two: it connects to each server once, keeps the sessions open on an event loop of its
own in a background thread, and gives every remote tool as a LangChain tool that works with
``invoke`` as well as ``ainvoke``. What a tool returns is handed over in the shape
:func:`~agentic_rag.tools.adapters.to_evidence` reads best (:func:`mcp_output`), so passages with
``id`` and ``source`` fields keep them as evidence ids and sources.

    with MCPToolset({"wiki": {"transport": "stdio", "command": "agentic-rag",
                              "args": ["mcp", "--index", "wiki-index"]}}, include=["search"]) as tools:
        agent = Agent("local", knowledge_base=kb, tools=tools)
        agent.ask("...")
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import json
import logging
import os
import shlex
import threading
import uuid
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool

from agentic_rag.errors import ConfigurationError, require

__all__ = ["MCPToolset", "mcp_tools", "mcp_output", "stdio_connections"]

logger = logging.getLogger(__name__)

_TEXT_KEYS = ("text", "content", "page_content")


def _records(value: Any) -> Any:
    """Unwrap the usual envelopes around records: ``{"result": x}`` and ``{"query": ..., "passages": [...]}``."""
    if isinstance(value, dict) and set(value) == {"result"}:
        value = value["result"]
    if isinstance(value, dict) and not any(key in value for key in _TEXT_KEYS):
        lists = [v for v in value.values() if isinstance(v, list) and v and all(isinstance(i, dict) for i in v)]
        if len(lists) == 1:
            return lists[0]
    return value


def mcp_output(content: Any, artifact: Any = None) -> Any:
    """An MCP tool's result as records or text, for :func:`~agentic_rag.tools.adapters.to_evidence`.

    The structured content comes first when the server sent one; otherwise each text block, read as
    JSON where it is JSON. Envelopes are unwrapped (:func:`_records`): a search tool returning
    ``{"query": ..., "passages": [{"id", "source", "text"}, ...]}`` gives those passages.
    """
    structured = artifact.get("structured_content") if isinstance(artifact, Mapping) else None
    if structured is not None:
        return _records(structured)
    if isinstance(content, str):
        content = [{"type": "text", "text": content}]
    items: list[Any] = []
    for block in content or []:
        text = block.get("text") if isinstance(block, Mapping) and block.get("type") == "text" else block if isinstance(block, str) else None
        if not isinstance(text, str) or not text.strip():
            continue
        try:
            items.append(_records(json.loads(text)))
        except ValueError:
            items.append(text)
    return items[0] if len(items) == 1 else items


def _leaf(exc: BaseException) -> BaseException:
    """The first real error inside (nested) exception groups, as anyio task groups raise them."""
    while isinstance(getattr(exc, "exceptions", None), tuple) and exc.exceptions and isinstance(exc.exceptions[0], BaseException):
        exc = exc.exceptions[0]
    return exc


class MCPToolset:
    """The tools of one or more MCP servers, connected once and usable from synchronous code.

    ``connections`` maps a server name to a ``langchain-mcp-adapters`` connection, e.g.
    ``{"transport": "stdio", "command": "agentic-rag", "args": ["mcp", "--index", "idx"]}`` or
    ``{"transport": "streamable_http", "url": "http://127.0.0.1:8000/mcp"}``. ``include`` keeps only
    the tools of those names. With more than one server, tool names get the server name as a prefix
    (``wiki_search``) unless ``tool_name_prefix`` says otherwise. A call that takes longer than
    ``timeout`` seconds fails with ``TimeoutError``.

    Use it as a context manager, or call :meth:`open` and later :meth:`close`. A tool that reports
    an error (MCP ``isError``) raises ``ToolException``, which the agent records as a failed search
    without retrying; a broken connection raises as is.
    """

    def __init__(
        self,
        connections: Mapping[str, Mapping[str, Any]],
        *,
        include: Collection[str] | None = None,
        tool_name_prefix: bool | None = None,
        timeout: float = 300.0,
        connect_timeout: float = 60.0,
    ) -> None:
        require("langchain_mcp_adapters", "mcp")
        if not connections:
            raise ConfigurationError("give at least one MCP server connection")
        self.connections = {name: dict(connection) for name, connection in connections.items()}
        self.include = set(include) if include is not None else None
        self.tool_name_prefix = len(self.connections) > 1 if tool_name_prefix is None else tool_name_prefix
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.tools: list[BaseTool] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._main: concurrent.futures.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._connected = False
        self._stop = asyncio.Event()

    def __enter__(self) -> list[BaseTool]:
        return self.open()

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def open(self) -> list[BaseTool]:
        """Connect to every server and list its tools (once; later calls return the same tools)."""
        if self._loop is not None:
            return self.tools
        self._stop = asyncio.Event()
        self._connected = False
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="agentic-rag-mcp", daemon=True)
        self._thread.start()
        ready: concurrent.futures.Future[list[BaseTool]] = concurrent.futures.Future()
        self._main = asyncio.run_coroutine_threadsafe(self._hold(ready), self._loop)
        servers = ", ".join(self.connections)
        try:
            remote = ready.result(timeout=self.connect_timeout)
        except concurrent.futures.TimeoutError:
            self.close()
            raise ConfigurationError(f"MCP server(s) {servers} did not answer within {self.connect_timeout:g} s") from None
        except Exception as exc:
            self.close()
            leaf = _leaf(exc)
            raise ConfigurationError(f"could not connect to MCP server(s) {servers}: {type(leaf).__name__}: {leaf}") from leaf
        except BaseException:
            self.close()
            raise
        self.tools = [self._wrap(tool) for tool in remote if self.include is None or tool.name in self.include]
        if self.include is not None and len(self.tools) < len(self.include):
            missing = sorted(self.include - {t.name for t in self.tools})
            logger.warning("MCP tools not found: %s (found: %s)", ", ".join(missing), ", ".join(t.name for t in remote))
        return self.tools

    async def _hold(self, ready: concurrent.futures.Future[list[BaseTool]]) -> None:
        """Open the sessions, hand their tools over, and keep the sessions open until :meth:`close`."""
        from contextlib import AsyncExitStack

        from langchain_mcp_adapters.sessions import create_session
        from langchain_mcp_adapters.tools import load_mcp_tools

        self._task = asyncio.current_task()
        try:
            async with AsyncExitStack() as stack:
                tools: list[BaseTool] = []
                for name, connection in self.connections.items():
                    session = await stack.enter_async_context(create_session(connection))  # type: ignore[arg-type]
                    await session.initialize()
                    tools += await load_mcp_tools(
                        session, server_name=name, tool_name_prefix=self.tool_name_prefix, handle_tool_errors=False
                    )
                self._connected = True
                ready.set_result(tools)
                await self._stop.wait()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc)
            elif not isinstance(exc, asyncio.CancelledError):
                logger.warning("MCP session ended with an error: %s", _leaf(exc))
            if isinstance(exc, asyncio.CancelledError):
                raise

    def close(self) -> None:
        """Close the sessions (stdio servers are stopped) and the background loop.

        Connected sessions get 10 s to close; a connection still being made (``open`` timed out) is
        cancelled at once, and its clean-up, which stops a stdio server's process, is waited for.
        """
        loop, thread, main = self._loop, self._thread, self._main
        if loop is None or thread is None:
            return
        if main is not None and not main.done():
            if self._connected:
                loop.call_soon_threadsafe(self._stop.set)
                try:
                    main.result(timeout=10)
                except BaseException:  # noqa: BLE001 - closing: cancel whatever is left
                    pass
            if not main.done():
                try:
                    asyncio.run_coroutine_threadsafe(self._cancel_main(), loop).result(timeout=15)
                except BaseException:  # noqa: BLE001 - closing: stop the loop anyway
                    logger.warning("the MCP sessions did not close in time")
                main.cancel()
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        if not thread.is_alive():
            loop.close()
        self._loop = self._thread = self._main = self._task = None
        self._connected = False

    async def _cancel_main(self) -> None:
        """Cancel the task holding the sessions and wait until its clean-up is done."""
        task = self._task
        if task is None or task.done():
            return
        task.cancel()
        await asyncio.wait({task}, timeout=12)

    async def _call(self, tool: BaseTool, args: dict[str, Any]) -> Any:
        """Run the remote tool on the toolset's loop; return its output for :func:`mcp_output`."""
        call = {"type": "tool_call", "name": tool.name, "args": args, "id": f"call_{uuid.uuid4().hex[:12]}"}
        message = await tool.ainvoke(call)
        return mcp_output(message.content, getattr(message, "artifact", None))

    def _submit(self, tool: BaseTool, args: dict[str, Any]) -> concurrent.futures.Future[Any]:
        if self._loop is None:
            raise ConfigurationError("the MCP toolset is closed")
        return asyncio.run_coroutine_threadsafe(self._call(tool, args), self._loop)

    def _wrap(self, tool: BaseTool) -> BaseTool:
        """The remote tool with a synchronous entry point (and an asynchronous one for any other loop)."""

        def run(**kwargs: Any) -> Any:
            future = self._submit(tool, kwargs)
            try:
                return future.result(timeout=self.timeout)
            except concurrent.futures.TimeoutError:
                future.cancel()
                raise TimeoutError(f"MCP tool {tool.name} did not answer within {self.timeout:g} s") from None

        async def arun(**kwargs: Any) -> Any:
            return await asyncio.wait_for(asyncio.wrap_future(self._submit(tool, kwargs)), self.timeout)

        return StructuredTool(
            name=tool.name,
            description=tool.description,
            args_schema=tool.args_schema,
            func=run,
            coroutine=arun,
            metadata=tool.metadata,
        )


def mcp_tools(
    connections: Mapping[str, Mapping[str, Any]], *, include: Collection[str] | None = None, **options: Any
) -> list[BaseTool]:
    """The tools of MCP servers, connected now and closed when the interpreter exits.

    A shortcut for scripts; use :class:`MCPToolset` to choose when the connections close.
    """
    toolset = MCPToolset(connections, include=include, **options)
    tools = toolset.open()
    atexit.register(toolset.close)
    return tools


def stdio_connections(commands: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Connections to MCP servers started by command lines (``"agentic-rag mcp --index idx"``).

    They are named ``mcp1``, ``mcp2``... and run with this process's environment.
    """
    connections: dict[str, dict[str, Any]] = {}
    for number, command in enumerate(commands, start=1):
        parts = shlex.split(command)
        if not parts:
            raise ConfigurationError("an MCP server command is empty")
        connections[f"mcp{number}"] = {"transport": "stdio", "command": parts[0], "args": parts[1:], "env": dict(os.environ)}
    return connections
