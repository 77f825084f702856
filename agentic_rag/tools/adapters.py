"""Turn any tool's output into evidence, and any callable into an agent tool."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from typing import Any

from langchain_core.documents import Document
from langchain_core.tools import BaseTool, StructuredTool

from agentic_rag.errors import ConfigurationError
from agentic_rag.evidence import Evidence

__all__ = ["to_evidence", "as_tool", "query_tools"]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _from_document(doc: Document, tool: str) -> Evidence:
    meta = doc.metadata or {}
    source = str(meta.get("source") or meta.get("url") or tool)
    evidence_id = str(meta.get("id") or doc.id or f"{source}#{_digest(doc.page_content)}")
    span = meta.get("span")
    return Evidence(
        id=evidence_id,
        source=source,
        text=doc.page_content,
        span=tuple(span) if span else None,
        score=meta.get("score"),
        title=meta.get("title"),
        tool=tool,
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
        return [_from_document(output, tool)]
    if isinstance(output, dict):
        text = output.get("text") or output.get("content") or output.get("page_content")
        if isinstance(text, str):
            meta = {k: v for k, v in output.items() if k not in ("text", "content", "page_content")}
            return [_from_document(Document(page_content=text, metadata=meta), tool)]
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


def query_tools(tools: Iterable[BaseTool]) -> list[BaseTool]:
    """The tools the planner can call with a text query (those with a ``query`` argument)."""
    return [t for t in tools if "query" in (t.args or {})]
