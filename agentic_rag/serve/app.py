"""The HTTP API: OpenAI-compatible chat completions, a native event stream, and the chat page.

Routes:

- ``POST /v1/chat/completions``: OpenAI's protocol, streamed (``stream: true``) or not.
- ``POST /v1/research``: the run's typed events (:mod:`agentic_rag.events`) as server-sent events
  named by their type: ``plan``, ``tool_started``, ``tool_finished``, ``evidence``, ``verdict``,
  ``refine``, ``token``, ``answer``; ``error`` if the run fails.
- ``GET /v1/models``: the graphs as models; ``GET /healthz``; ``GET /``: the chat page.

A conversation id (header ``X-Conversation-Id`` or body field ``conversation_id``) keeps the
history server-side; without one a request stands alone (for chat completions, its earlier
messages are the history). Threads are kept per caller: see :mod:`.auth`. A conversation runs one
turn at a time: a request on a conversation whose turn is still admitted gets 409.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

from fastapi import Depends, FastAPI, Header, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.middleware.trustedhost import TrustedHostMiddleware

from agentic_rag import __version__
from agentic_rag._text import invalid_unicode
from agentic_rag.agent.agent import Agent
from agentic_rag.agent.conversation import Turn
from agentic_rag.errors import ConfigurationError
from agentic_rag.events import AnswerToken, FinalAnswer
from agentic_rag.graphs.registry import GRAPHS
from agentic_rag.serve import openai_protocol as oai
from agentic_rag.serve.api_errors import APIError, install_error_handlers
from agentic_rag.serve.auth import BearerAuth, Caller
from agentic_rag.serve.body_limit import BodySizeLimit
from agentic_rag.serve.runs import GraphAgents, RunFactory
from agentic_rag.serve.run_slots import Run, RunSlots, ServerBusy
from agentic_rag.serve.settings import ServeSettings
from agentic_rag.serve.sse import DONE, ServerSentEvent, sse, sse_response
from agentic_rag.serve.threads import thread_id, turn_claims_for

__all__ = ["create_app", "MODELS", "AgentFactory", "ResearchRequest"]

logger = logging.getLogger(__name__)

# Model name -> graph.
# The served model names of the graphs: "agentic-rag" for the agentic graph, "agentic-rag-<name>" for the others.
MODELS = {("agentic-rag" if graph == "agentic" else f"agentic-rag-{graph}"): graph for graph in GRAPHS}
DEFAULT_MODEL = "agentic-rag"

AgentFactory = Callable[[str, Any], Agent]
"""``(graph, checkpointer or None) -> Agent``: builds the agents the server runs (share one model)."""

STATIC = Path(__file__).parent / "static"
NO_RETRY = {"x-should-retry": "false"}  # OpenAI's clients retry 409 and 5xx unless told not to


class ResearchRequest(BaseModel):
    """The body of ``POST /v1/research``."""

    model_config = ConfigDict(extra="forbid")

    question: str
    model: str = DEFAULT_MODEL
    conversation_id: str | None = Field(default=None, description="Keep the history server-side under this id.")
    style: Literal["short", "detailed"] | None = Field(default=None, description="The answer's form (default: detailed).")
    filters: dict[str, str | list[str]] | None = Field(
        default=None, max_length=16, description='Search only some documents: {"source": "runbooks/"} or a store\'s metadata.',
    )

    def run_settings(self) -> dict[str, Any]:
        """The run's overrides of the graph's config: style and filters."""
        return {key: value for key, value in (("style", self.style), ("filters", self.filters)) if value}


def create_app(make_agent: AgentFactory, settings: ServeSettings | None = None, *, checkpointer: Any = None) -> FastAPI:
    """The server over the agents ``make_agent`` builds, one pair per graph.

    ``checkpointer`` keeps the threads; by default SQLite at ``settings.threads_db``, or memory.
    """
    settings = settings or ServeSettings()
    if checkpointer is None:
        checkpointer = _default_checkpointer(settings)
    research = RunFactory({
        name: GraphAgents(threaded=make_agent(graph, checkpointer), one_off=make_agent(graph, None))
        for name, graph in MODELS.items()
    })
    slots = RunSlots(settings.max_concurrent, settings.max_queued)
    claims = turn_claims_for(settings.threads_db)
    auth = BearerAuth(settings.api_keys)
    started = int(time.time())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        slots.shutdown()

    app = FastAPI(title="agentic-rag", version=__version__, docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.settings, app.state.slots, app.state.research = settings, slots, research
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    if settings.allowed_hosts is not None:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(settings.allowed_hosts))

    def caller(authorization: str | None = Header(default=None)) -> Caller:
        return auth.caller(authorization)

    def check_model(model: str) -> str:
        if model not in MODELS:
            raise APIError(404, f"the model '{model}' does not exist; choose one of: {', '.join(MODELS)}",
                           code="model_not_found", param="model")
        return model

    def check_question(question: str) -> str:
        question = question.strip()
        if not question:
            raise APIError(400, "the question is empty", code="empty_question", param="question")
        check_unicode(question, "question")
        if len(question) > settings.max_question_chars:
            raise APIError(422, f"the question is longer than {settings.max_question_chars} characters",
                           code="question_too_long", param="question")
        return question

    def conversation_of(header: str | None, body: str | None) -> str | None:
        if header and body and header != body:
            raise APIError(400, "the X-Conversation-Id header and the conversation_id field differ",
                           code="invalid_conversation_id", param="conversation_id")
        return header or body or None

    def check_history(history: list[Turn]) -> list[Turn]:
        limit = settings.max_question_chars
        texts = [text for turn in history for text in (turn["message"], turn["answer"])]
        for text in texts:
            check_unicode(text, "messages")
        if any(len(text) > limit for text in texts):
            raise APIError(422, f"a message of the history is longer than {limit} characters",
                           code="history_too_long", param="messages")
        if sum(map(len, texts)) > 4 * limit:
            raise APIError(422, f"the history is longer than {4 * limit} characters in all",
                           code="history_too_long", param="messages")
        return history

    def admit(run: Callable[[], Any], thread: str | None) -> Run[Any]:
        """A slot for the run, after its conversation's claim: 409 if a turn of it is under way, 429 if full."""
        try:
            claimed = thread is None or claims.claim(thread)
        except Exception as exc:  # noqa: BLE001 - the shared claims live in Postgres, which may be down
            logger.warning("cannot claim conversation %s: %s", thread, exc)
            raise APIError(503, "the threads store cannot be reached; try again shortly", code="threads_store_unavailable",
                           headers={"Retry-After": "5"}) from None
        if not claimed:
            raise APIError(409, "a turn of this conversation is already running; wait for its answer",
                           code="conversation_busy", param="conversation_id", headers=NO_RETRY)
        try:
            return slots.start(run, on_end=(lambda: claims.release(thread)) if thread is not None else None)
        except ServerBusy as exc:
            if thread is not None:
                claims.release(thread)
            raise APIError(429, f"the server is busy ({exc}); try again shortly", code="queue_full",
                           headers={"Retry-After": "1"}) from None

    def events(stream: AsyncIterator[ServerSentEvent], run: Run[Any], headers: dict[str, str]) -> Any:
        return sse_response(stream, headers, keep_alive=settings.keep_alive_seconds, on_close=run.cancel)

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "running": slots.running, "waiting": slots.admitted - slots.running}

    @app.get("/v1/models")
    async def list_models(who: Caller = Depends(caller)) -> dict[str, Any]:
        return {"object": "list", "data": [_model_card(name, started) for name in MODELS]}

    @app.get("/v1/models/{model}")
    async def get_model(model: str, who: Caller = Depends(caller)) -> dict[str, Any]:
        return _model_card(check_model(model), started)

    @app.post("/v1/chat/completions")
    async def chat_completions(
        body: oai.ChatCompletionRequest,
        request: Request,
        who: Caller = Depends(caller),
        x_conversation_id: str | None = Header(default=None),
    ) -> Any:
        model = check_model(body.model)
        question, history = oai.question_and_history(body.messages)
        question = check_question(question)
        conversation = conversation_of(x_conversation_id, body.conversation_id)
        thread = thread_id(who, conversation) if conversation else None
        if thread is None:
            check_history(history)
        settings = body.run_settings()
        check_unicode(settings.get("instructions", ""), "messages")
        try:
            job = research.run(model, question, history=history, thread=thread, streaming=body.stream, settings=settings)
        except ConfigurationError as exc:
            raise APIError(400, str(exc), code="invalid_request") from None
        run = admit(job, thread)
        headers = {"X-Conversation-Id": conversation} if conversation else {}
        if not body.stream:
            answer = await _final_answer(run, request)
            return JSONResponse(oai.completion(answer, model=model, conversation_id=conversation), headers=headers)
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        keep_markers = research.style(model, settings) != "short"
        return events(_openai_stream(run, model, conversation, include_usage, keep_markers), run, headers)

    @app.post("/v1/research")
    async def research_stream(
        body: ResearchRequest,
        who: Caller = Depends(caller),
        x_conversation_id: str | None = Header(default=None),
    ) -> Any:
        model = check_model(body.model)
        question = check_question(body.question)
        conversation = conversation_of(x_conversation_id, body.conversation_id)
        thread = thread_id(who, conversation) if conversation else None
        try:
            job = research.run(model, question, history=[], thread=thread, streaming=True, settings=body.run_settings())
        except ConfigurationError as exc:
            raise APIError(400, str(exc), code="invalid_request") from None
        run = admit(job, thread)
        return events(_event_stream(run), run, {"X-Conversation-Id": conversation} if conversation else {})

    @app.get("/", include_in_schema=False)
    async def chat_page() -> FileResponse:
        # the page loads its script and style from /static: nothing inline, nothing from elsewhere
        return FileResponse(STATIC / "index.html",
                            headers={"Cache-Control": "no-cache", "Content-Security-Policy": "default-src 'self'"})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def check_unicode(text: str, param: str) -> None:
    """A 400 for text that cannot be encoded (a lone surrogate), before any work is done for it."""
    if (position := invalid_unicode(text)) is not None:
        raise APIError(400, f"the {param} is not valid Unicode (a lone surrogate at character {position})",
                       code="invalid_unicode", param=param)


def _default_checkpointer(settings: ServeSettings) -> Any:
    from agentic_rag.agent.conversation import open_checkpointer, state_serializer

    if settings.threads_db is not None:
        return open_checkpointer(settings.threads_db)
    from langgraph.checkpoint.memory import InMemorySaver

    return InMemorySaver(serde=state_serializer())


def _model_card(name: str, created: int) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": created, "owned_by": "agentic-rag", "graph": MODELS[name]}


def _run_failure(exc: BaseException) -> APIError:
    """What a client is told about a run that raised: the exception's type only (the details are logged)."""
    if isinstance(exc, ConfigurationError):
        return APIError(400, str(exc), code="invalid_request")
    if isinstance(exc, ServerBusy):
        return APIError(503, f"the run did not start: {exc}", code="server_unavailable")
    logger.error("run failed", exc_info=exc)
    return APIError(500, f"the run failed: {type(exc).__name__}", code="run_failed", headers=NO_RETRY)


async def _cancel_when_gone(request: Request, run: Run[Any]) -> None:
    """Cancel ``run`` when the client disconnects: after the body, the next message is the disconnect."""
    if (await request.receive())["type"] == "http.disconnect":
        run.cancel()


async def _final_answer(run: Run[Any], request: Request) -> Any:
    answer = None
    watcher = asyncio.create_task(_cancel_when_gone(request, run))
    try:
        async for item in run:
            if isinstance(item, FinalAnswer):
                answer = item.answer
    except Exception as exc:  # noqa: BLE001 - one run's failure is that request's 500, not the server's
        raise _run_failure(exc) from None
    finally:
        watcher.cancel()
        run.cancel()
    if answer is None:
        raise APIError(500, "the run ended without an answer", code="run_failed", headers=NO_RETRY)
    return answer


async def _openai_stream(items: Run[Any], model: str, conversation: str | None,
                         include_usage: bool, keep_markers: bool = False) -> AsyncIterator[ServerSentEvent]:
    """The run as ``chat.completion.chunk`` events: role, content deltas, the final chunk, ``[DONE]``."""
    id_, created = oai.completion_id(), int(time.time())
    yield sse(oai.chunk(id_, model, created, {"role": "assistant", "content": ""}))
    content = oai.ContentStream(keep_markers=keep_markers)
    try:
        async for item in items:
            if isinstance(item, AnswerToken) and item.subquestion is None:
                delta = content.token(item.text, item.reset)
                if delta:
                    yield sse(oai.chunk(id_, model, created, {"content": delta}))
            elif isinstance(item, FinalAnswer):
                rest = content.final(item.answer.text)
                if rest:
                    yield sse(oai.chunk(id_, model, created, {"content": rest}))
                yield sse(oai.final_chunk(id_, model, created, item.answer, conversation))
                if include_usage:
                    yield sse(oai.usage_chunk(id_, model, created, item.answer))
    except Exception as exc:  # noqa: BLE001 - told to the client in the stream, the server goes on
        yield sse(_run_failure(exc).body())
    yield DONE


async def _event_stream(items: Run[Any]) -> AsyncIterator[ServerSentEvent]:
    """The run's typed events, each named by its type; an ``error`` event if the run fails."""
    try:
        async for item in items:
            yield sse(item.model_dump_json(), event=item.type)
    except Exception as exc:  # noqa: BLE001 - see _openai_stream
        yield sse(_run_failure(exc).body(), event="error")

