"""Turn any tool's output into evidence, and any callable into an agent tool."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable, Iterable
from typing import Any

from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, StructuredTool

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


def _retriever_behind(tool: BaseTool) -> BaseRetriever | None:
    """The retriever a ``create_retriever_tool`` tool wraps, so its documents stay separate.

    That tool joins the documents into one string; reading the retriever itself keeps each one's
    source and id. Found in the tool function's closure; ``None`` for any other tool.
    """
    for function in (getattr(tool, "func", None), getattr(tool, "coroutine", None)):
        for cell in getattr(function, "__closure__", None) or ():
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            if isinstance(value, BaseRetriever):
                return value
    return None


def _search_plan(
    tool: BaseTool, query: str, k: int, filters: dict[str, Any] | None
) -> tuple[Any, Any, Callable[[Any], list[Evidence]]]:
    """What to invoke for a search, with what input, and how its output becomes evidence.

    A tool that returns content and artifact is read through its artifact (the documents); a
    retriever tool whose content is the documents joined into one string through its retriever.
    """
    retriever = _retriever_behind(tool)
    if retriever is not None:
        return retriever, query, lambda docs: to_evidence(list(docs)[:k], tool.name)
    args: dict[str, Any] = {query_argument(tool) or "query": query}
    if "k" in (tool.args or {}):
        args["k"] = k
    if filters and "filters" in (tool.args or {}):
        args["filters"] = filters
    if tool.response_format == "content_and_artifact":
        call = {"type": "tool_call", "name": tool.name, "args": args, "id": f"call_{_digest(query)}"}

        def read(message: Any) -> list[Evidence]:
            artifact = getattr(message, "artifact", None)
            return to_evidence(artifact if artifact is not None else message.content, tool.name)

        return tool, call, read
    return tool, args, lambda output: to_evidence(output, tool.name)


def search_with(
    tool: BaseTool, query: str, k: int, config: RunnableConfig | None = None, filters: dict[str, Any] | None = None,
) -> list[Evidence]:
    """Evidence for ``query`` from ``tool``: one item a document, whatever the tool's output format.

    A tool that only has an async implementation runs its ``ainvoke`` on a loop of its own (sync
    searches run in worker threads, which have no event loop, so ``asyncio.run`` is safe there).
    """
    target, payload, read = _search_plan(tool, query, k, filters)
    if target is tool and getattr(tool, "func", True) is None and getattr(tool, "coroutine", None) is not None:
        return read(asyncio.run(tool.ainvoke(payload, config)))
    return read(target.invoke(payload, config))


async def asearch_with(
    tool: BaseTool, query: str, k: int, config: RunnableConfig | None = None, filters: dict[str, Any] | None = None,
) -> list[Evidence]:
    """:func:`search_with` through the tool's (or retriever's) ``ainvoke``."""
    target, payload, read = _search_plan(tool, query, k, filters)
    return read(await target.ainvoke(payload, config))
