"""Turn any tool's output into evidence, and any callable into an agent tool."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable, Iterable
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.documents import Document
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, StructuredTool
from langchain_core.tools.retriever import RetrieverInput

from agentic_rag.errors import ConfigurationError
from agentic_rag.evidence import Evidence

__all__ = ["document_evidence", "to_evidence", "as_tool", "query_argument", "query_tools", "search_with", "asearch_with"]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def document_evidence(doc: Document, default_source: str, *, score: float | None = None, tool: str | None = None) -> Evidence:
    """One Document as evidence: id from the document (or its source and a hash of its text), metadata kept."""
    meta = doc.metadata or {}
    source = str(meta.get("source") or meta.get("url") or default_source)
    evidence_id = str(meta.get("id") or doc.id or f"{source}#{_digest(doc.page_content)}")
    span = meta.get("span")
    return Evidence(
        id=evidence_id,
        source=source,
        text=doc.page_content,
        span=tuple(span) if span else None,
        score=score if score is not None else meta.get("score"),
        title=str(meta["title"]) if meta.get("title") else None,
        tool=tool,
        metadata=meta,
    )


def to_evidence(output: Any, tool: str) -> list[Evidence]:
    """Evidence from what a tool returned: evidence, documents, dicts, strings, or lists of them.

    Items without an id get ``"<tool>:<hash of text>"``, so the same text keeps the same id.
    """
    if output is None:
        return []
    if isinstance(output, Evidence):
        return [output if output.tool else output.model_copy(update={"tool": tool})]
    if isinstance(output, Document):
        return [document_evidence(output, tool, tool=tool)]
    if isinstance(output, dict):
        text = output.get("text") or output.get("content") or output.get("page_content")
        if isinstance(text, str):
            meta = {k: v for k, v in output.items() if k not in ("text", "content", "page_content")}
            return [document_evidence(Document(page_content=text, metadata=meta), tool, tool=tool)]
        text = json.dumps(output, ensure_ascii=False, sort_keys=True, default=str)
        return [Evidence(id=f"{tool}:{_digest(text)}", source=tool, text=text, tool=tool)]
    if isinstance(output, str):
        text = output.strip()
        return [Evidence(id=f"{tool}:{_digest(text)}", source=tool, text=text, tool=tool)] if text else []
    if isinstance(output, Iterable):
        found: list[Evidence] = []
        for item in output:
            found.extend(to_evidence(item, tool))
        return found
    text = str(output)
    return [Evidence(id=f"{tool}:{_digest(text)}", source=tool, text=text, tool=tool)]


def as_tool(obj: BaseTool | Callable[..., Any]) -> BaseTool:
    """A LangChain tool as is; a plain typed function wrapped (its docstring becomes the description)."""
    if isinstance(obj, BaseTool):
        return obj
    if callable(obj):
        if not (obj.__doc__ or "").strip():
            raise ConfigurationError(f"tool function {getattr(obj, '__name__', obj)!r} needs a docstring: it is what the agent reads")
        return StructuredTool.from_function(obj)
    raise ConfigurationError(f"not a tool or a function: {obj!r}")


def query_argument(tool: BaseTool) -> str | None:
    """The argument a tool takes its search text in: ``query``, or the only argument of a one-argument tool.

    ``retriever.as_tool()`` names it ``tool_input``, other tools ``input`` or ``question``.
    """
    args = tool.args or {}
    if "query" in args:
        return "query"
    if len(args) == 1:
        name, schema = next(iter(args.items()))
        if schema.get("type", "string") == "string":
            return name
    return None


def query_tools(tools: Iterable[BaseTool]) -> list[BaseTool]:
    """The tools the planner can call with a text query (see :func:`query_argument`)."""
    return [t for t in tools if query_argument(t) is not None]


def _is_retriever_tool(tool: BaseTool) -> bool:
    """Whether ``tool`` came from ``create_retriever_tool``: documents joined into one string, found by a retriever."""
    return tool.args_schema is RetrieverInput and tool.response_format == "content"


class _RetrievedDocuments(BaseCallbackHandler):
    """The documents the retrievers inside one tool call returned, caught as the run's callbacks see them."""

    def __init__(self) -> None:
        self.documents: list[Document] = []

    def on_retriever_end(self, documents: Any, **kwargs: Any) -> None:
        self.documents.extend(documents)


def _with_handler(config: RunnableConfig | None, handler: BaseCallbackHandler) -> RunnableConfig:
    """``config`` with ``handler`` beside the run's own callbacks (which keep seeing the tool call)."""
    config = RunnableConfig(**(config or {}))
    callbacks = config.get("callbacks")
    if callbacks is None:
        config["callbacks"] = [handler]
    elif isinstance(callbacks, list):
        config["callbacks"] = [*callbacks, handler]
    else:
        manager = callbacks.copy()
        manager.add_handler(handler, inherit=True)
        config["callbacks"] = manager
    return config


def _search_plan(
    tool: BaseTool, query: str, k: int, filters: dict[str, Any] | None, config: RunnableConfig | None,
) -> tuple[Any, RunnableConfig | None, Callable[[Any], list[Evidence]]]:
    """The tool's input, the config to call it with, and how its output becomes evidence.

    A tool that returns content and artifact is read through its artifact (the documents). A
    retriever tool joins its documents into one string: the tool is called as it is (the run's
    callbacks see it), and the documents its retriever returned are caught on their way out.
    """
    args: dict[str, Any] = {query_argument(tool) or "query": query}
    if "k" in (tool.args or {}):
        args["k"] = k
    if filters and "filters" in (tool.args or {}):
        args["filters"] = filters
    if _is_retriever_tool(tool):
        caught = _RetrievedDocuments()

        def read_caught(output: Any) -> list[Evidence]:
            return to_evidence(caught.documents[:k] if caught.documents else output, tool.name)

        return args, _with_handler(config, caught), read_caught
    if tool.response_format == "content_and_artifact":
        call = {"type": "tool_call", "name": tool.name, "args": args, "id": f"call_{_digest(query)}"}

        def read(message: Any) -> list[Evidence]:
            artifact = getattr(message, "artifact", None)
            return to_evidence(artifact if artifact is not None else message.content, tool.name)

        return call, config, read
    return args, config, lambda output: to_evidence(output, tool.name)


def search_with(
    tool: BaseTool, query: str, k: int, config: RunnableConfig | None = None, filters: dict[str, Any] | None = None,
) -> list[Evidence]:
    """Evidence for ``query`` from ``tool``: one item a document, whatever the tool's output format.

    A tool that only has an async implementation runs its ``ainvoke`` on a loop of its own (sync
    searches run in worker threads, which have no event loop, so ``asyncio.run`` is safe there).
    """
    payload, config, read = _search_plan(tool, query, k, filters, config)
    if getattr(tool, "func", True) is None and getattr(tool, "coroutine", None) is not None:
        return read(asyncio.run(tool.ainvoke(payload, config)))
    return read(tool.invoke(payload, config))


async def asearch_with(
    tool: BaseTool, query: str, k: int, config: RunnableConfig | None = None, filters: dict[str, Any] | None = None,
) -> list[Evidence]:
    """:func:`search_with` through the tool's ``ainvoke``."""
    payload, config, read = _search_plan(tool, query, k, filters, config)
    return read(await tool.ainvoke(payload, config))
