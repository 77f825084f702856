"""An MCP server over the agent: a ``research`` tool and a ``search`` tool (stdio transport).

Needs the ``mcp`` extra. :func:`build_server` takes an agent and its knowledge base, built once by
the caller; :func:`run_stdio` serves it on the process's standard input and output.

A failing call comes back to the client as an MCP tool error (``isError``) and the server goes on.
"""

# No ``from __future__ import annotations``: FastMCP reads the tools' annotations at run time.
import logging
import os
import sys
from io import TextIOWrapper
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, Field

from agentic_rag.answer import Answer, Citation, Claim, ExitReason, Usage
from agentic_rag._text import require_valid_unicode
from agentic_rag.errors import AgenticRAGError, ConfigurationError, require

if TYPE_CHECKING:
    from mcp.server.fastmcp import FastMCP

    from agentic_rag.agent.agent import Agent
    from agentic_rag.tools.knowledge_base import KnowledgeBase

__all__ = ["ResearchResult", "Passage", "SearchResult", "build_server", "run_stdio", "render_answer"]

logger = logging.getLogger(__name__)

INSTRUCTIONS = (
    "Answers questions from a knowledge base of documents. `research` runs a multi-step search and "
    "answers with numbered citations of the passages it read; `search` returns passages for a query."
)


class ResearchResult(BaseModel):
    """What ``research`` returns: the answer with its ``[n]`` markers, a citation for each, its checked claims."""

    question: str
    answer: str
    style: str = "detailed"
    citations: list[Citation] = Field(default_factory=list)
    claims: list[Claim] = Field(default_factory=list)
    exit_reason: ExitReason
    notice: str | None = None
    usage: Usage = Field(default_factory=Usage)

    @classmethod
    def from_answer(cls, answer: Answer) -> "ResearchResult":
        return cls(
            question=answer.question, answer=answer.text, style=answer.style, citations=answer.citations,
            claims=answer.claims,
            exit_reason=answer.exit_reason, notice=answer.notice, usage=answer.usage,
        )


class Passage(BaseModel):
    """One passage of the knowledge base; ``id`` is stable (``<source>#<chunk number>``)."""

    id: str
    source: str
    text: str
    title: str | None = None
    score: float | None = None
    span: tuple[int, int] | None = None


class SearchResult(BaseModel):
    """What ``search`` returns: the best passages first."""

    query: str
    passages: list[Passage]


def render_answer(answer: Answer) -> str:
    """The answer as plain text for the client's model: text, sources, why the run stopped."""
    lines = [answer.text]
    unsupported = [c.text for c in answer.claims if c.markers and not c.supported]
    if unsupported:
        lines += ["", "Not supported by the passages they cite:", *(f"- {text}" for text in unsupported)]
    if answer.style == "report":  # the references are part of the report
        return "\n".join([*lines, "", f"exit reason: {answer.exit_reason.value}"])
    if answer.notice:
        lines += ["", answer.notice]
    if answer.citations:
        lines += ["", "Sources:"]
        for c in answer.citations:
            flag = "" if c.supported else f" (the passage does not state this claim: {c.checked_by} check)"
            lines.append(f"[{c.marker}] {c.source} ({c.evidence_id}): \"{c.quote}\"{flag}")
    lines += ["", f"exit reason: {answer.exit_reason.value}"]
    return "\n".join(lines)


def _step_line(event: Any) -> str | None:
    """A short log line for one step of a run, sent to the client while ``research`` works."""
    from agentic_rag import events as ev

    prefix = f"[{event.subquestion}] " if getattr(event, "subquestion", None) else ""
    if isinstance(event, ev.ResearchPlanned):
        return "plan: " + "; ".join(event.subquestions)
    if isinstance(event, ev.SubquestionAnswered):
        return f"[{event.subquestion}] " + ("answered" if event.found else "not found in the sources")
    line = _loop_step_line(event)
    return prefix + line if line else None


def _loop_step_line(event: Any) -> str | None:
    from agentic_rag import events as ev

    if isinstance(event, ev.PlanMade):
        return "plan: " + (", ".join(repr(s.query) for s in event.searches) or "no search needed")
    if isinstance(event, ev.ToolCallFinished):
        return f"search {event.tool}({event.query!r}): " + (f"failed: {event.error}" if event.error else f"{len(event.found)} passages")
    if isinstance(event, ev.Verdict) and not event.skipped:
        return f"judge: {len(event.relevant)} relevant; " + ("enough" if event.sufficient else f"next: {event.next_query or 'nothing new'}")
    return None


def _tool_error(exc: BaseException) -> Exception:
    """The error the client sees: the library's own message, or the exception's type and text."""
    from mcp.server.fastmcp.exceptions import ToolError

    if isinstance(exc, AgenticRAGError):
        return ToolError(str(exc))
    logger.exception("tool call failed", exc_info=exc)
    return ToolError(f"{type(exc).__name__}: {exc}")


def build_server(
    agent: "Agent",
    knowledge_base: "KnowledgeBase",
    *,
    k: int = 4,
    name: str = "agentic-rag",
    max_concurrent_runs: int = 1,
    max_question_chars: int = 4000,
) -> "FastMCP":
    """A FastMCP server with ``research`` (runs ``agent``) and ``search`` (searches ``knowledge_base``).

    At most ``max_concurrent_runs`` research runs go at once (others wait): a local model runs
    one question at a time best. Runs happen in worker threads, so the server keeps answering
    pings and other calls meanwhile. A question or query longer than ``max_question_chars`` (the
    HTTP server's limit) is refused before any work.
    """
    require("mcp", "mcp")
    import anyio
    from anyio import from_thread, to_thread
    from mcp.server.fastmcp import Context, FastMCP
    from mcp.types import CallToolResult, TextContent

    server = FastMCP(name, instructions=INSTRUCTIONS, log_level="WARNING")
    runs = anyio.CapacityLimiter(max_concurrent_runs)

    @server.tool()
    async def research(
        question: Annotated[str, Field(description="The question, in plain words.")],
        ctx: Context,
        style: Annotated[Literal["short", "detailed", "report"], Field(
            description="detailed: a direct answer, then its support (default); short: a few words; "
            "report: split into sub-questions, each researched, written up as a cited report (slower).")] = "detailed",
    ) -> Annotated[CallToolResult, ResearchResult]:
        """Research a question in the knowledge base: search, judge the evidence, search again for what is
        missing, then answer with numbered citations ([n]) of the passages the answer comes from. Each
        citation gives the source, the quoted sentence and whether the passage supports the claim."""

        if len(question) > max_question_chars:
            raise _tool_error(ConfigurationError(f"the question is longer than {max_question_chars} characters"))

        def run() -> Answer:
            try:
                return stream_to_answer()
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as exc:  # noqa: BLE001 - a tool's BaseException ends this call, not the server
                if isinstance(exc, Exception):
                    raise
                raise RuntimeError(f"the run was stopped by {type(exc).__name__}: {exc}") from exc

        def stream_to_answer() -> Answer:
            answer = None
            if style == "report":
                stream = agent.stream_research(question)
            else:
                stream = agent.stream(question, settings={"style": style})
            for event in stream:
                line = _step_line(event)
                if line is not None:
                    try:
                        from_thread.run(ctx.info, line)
                    except Exception:  # noqa: BLE001 - progress is a courtesy; the answer matters
                        logger.debug("could not send a progress line", exc_info=True)
                if getattr(event, "type", None) == "answer":
                    answer = event.answer
            if answer is None:  # pragma: no cover - the graph always ends with an answer
                raise RuntimeError("the run ended without an answer")
            return answer

        try:
            answer = await to_thread.run_sync(run, limiter=runs)
        except Exception as exc:  # noqa: BLE001 - becomes the tool error the client sees
            raise _tool_error(exc) from exc
        result = ResearchResult.from_answer(answer)
        return CallToolResult(
            content=[TextContent(type="text", text=render_answer(answer))],
            structuredContent=result.model_dump(mode="json"),
        )

    @server.tool()
    async def search(
        query: Annotated[str, Field(description="What to look for: keywords or a question.")],
        k: Annotated[int, Field(ge=1, le=50, description="How many passages to return.")] = k,
    ) -> SearchResult:
        """Search the knowledge base by meaning and keywords; returns the best passages first, each with
        its id, source and text."""
        if len(query) > max_question_chars:
            raise _tool_error(ConfigurationError(f"the query is longer than {max_question_chars} characters"))
        try:
            require_valid_unicode(query, "the query")
            found = await to_thread.run_sync(lambda: knowledge_base.search(query, k=k, mode="hybrid"))
        except Exception as exc:  # noqa: BLE001 - becomes the tool error the client sees
            raise _tool_error(exc) from exc
        return SearchResult(
            query=query,
            passages=[Passage(id=e.id, source=e.source, text=e.text, title=e.title, score=e.score, span=e.span) for e in found],
        )

    return server


def run_stdio(server: "FastMCP") -> None:
    """Serve ``server`` over this process's standard input and output until the client hangs up.

    Standard output carries the protocol and nothing else: the process's file descriptor 1 and
    ``sys.stdout`` are pointed at standard error first, so a stray print (or a native library
    writing to its stdout) cannot corrupt the stream. Logs go to standard error.
    """
    import anyio
    from mcp.server.stdio import stdio_server

    sys.stdout.flush()
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr

    async def serve() -> None:
        stdout = anyio.wrap_file(TextIOWrapper(protocol, encoding="utf-8"))
        async with stdio_server(stdout=stdout) as (read_stream, write_stream):
            lowlevel = server._mcp_server  # FastMCP.run_stdio_async does the same, on sys.stdout
            await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())

    anyio.run(serve)
