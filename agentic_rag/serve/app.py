"""The HTTP API: OpenAI-compatible chat completions, a native event stream, and the chat page.

Routes:

- ``POST /v1/chat/completions``: OpenAI's protocol, streamed (``stream: true``) or not.
- ``POST /v1/research``: the run's typed events (:mod:`agentic_rag.events`) as server-sent events
  named by their type: ``plan``, ``tool_started``, ``tool_finished``, ``evidence``, ``verdict``,
  ``refine``, ``token``, ``answer``; ``error`` if the run fails.
- ``GET /v1/models``: the graphs as models; ``GET /healthz``; ``GET /``: the chat page.

A conversation id (header ``X-Conversation-Id`` or body field ``conversation_id``) keeps the
history server-side; without one a request stands alone (for chat completions, its earlier
messages are the history). Threads are kept per caller: see :mod:`.auth`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Header
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field

from .. import __version__
from ..agent.agent import Agent
from ..errors import ConfigurationError
from ..events import AnswerToken, FinalAnswer
from . import openai_protocol as oai
from .api_errors import APIError, install_error_handlers
from .auth import BearerAuth, Caller
from .body_limit import BodySizeLimit
from .research import GraphAgents, Research
from .run_slots import RunSlots, ServerBusy
from .settings import ServeSettings
from .sse import DONE, sse, sse_response
from .threads import thread_id

__all__ = ["create_app", "MODELS", "AgentFactory", "ResearchRequest"]

log = logging.getLogger(__name__)

# Model name -> graph.
MODELS = {"agentic-rag": "agentic", "agentic-rag-traditional": "traditional"}
DEFAULT_MODEL = "agentic-rag"

AgentFactory = Callable[[str, Any], Agent]
"""``(graph, checkpointer or None) -> Agent``: builds the agents the server runs (share one model)."""

STATIC = Path(__file__).parent / "static"


class ResearchRequest(BaseModel):
    """The body of ``POST /v1/research``."""

    model_config = ConfigDict(extra="forbid")

    question: str
    model: str = DEFAULT_MODEL
    conversation_id: str | None = Field(default=None, description="Keep the history server-side under this id.")


def create_app(make_agent: AgentFactory, settings: ServeSettings | None = None, *, checkpointer: Any = None) -> FastAPI:
    """The server over the agents ``make_agent`` builds, one pair per graph.

    ``checkpointer`` keeps the threads; by default SQLite at ``settings.threads_db``, or memory.
    """
    settings = settings or ServeSettings()
    if checkpointer is None:
        checkpointer = _default_checkpointer(settings)
    research = Research({
        name: GraphAgents(threaded=make_agent(graph, checkpointer), one_off=make_agent(graph, None))
        for name, graph in MODELS.items()
    })
    slots = RunSlots(settings.max_concurrent, settings.max_queued)
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
        if len(question) > settings.max_question_chars:
            raise APIError(422, f"the question is longer than {settings.max_question_chars} characters",
                           code="question_too_long", param="question")
        return question

    def conversation_of(header: str | None, body: str | None) -> str | None:
        if header and body and header != body:
            raise APIError(400, "the X-Conversation-Id header and the conversation_id field differ",
                           code="invalid_conversation_id", param="conversation_id")
        return header or body or None

    def admit(run: Callable[[], Any]) -> AsyncIterator[Any]:
        try:
            return slots.start(run)
        except ServerBusy as exc:
            raise APIError(429, f"the server is busy ({exc}); try again shortly", code="queue_full",
                           headers={"Retry-After": "1"}) from None

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
        who: Caller = Depends(caller),
        x_conversation_id: str | None = Header(default=None),
    ) -> Any:
        model = check_model(body.model)
        question, history = oai.question_and_history(body.messages)
        question = check_question(question)
        conversation = conversation_of(x_conversation_id, body.conversation_id)
        thread = thread_id(who, conversation) if conversation else None
        items = admit(research.run(model, question, history=history, thread=thread, streaming=body.stream))
        headers = {"X-Conversation-Id": conversation} if conversation else {}
        if not body.stream:
            answer = await _final_answer(items)
            return JSONResponse(oai.completion(answer, model=model, conversation_id=conversation), headers=headers)
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return sse_response(_openai_stream(items, model, conversation, include_usage), headers)

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
        items = admit(research.run(model, question, history=[], thread=thread, streaming=True))
        return sse_response(_event_stream(items), {"X-Conversation-Id": conversation} if conversation else {})

    @app.get("/", include_in_schema=False)
    async def chat_page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def _default_checkpointer(settings: ServeSettings) -> Any:
    from ..agent.conversation import sqlite_checkpointer, state_serializer

    if settings.threads_db is not None:
        return sqlite_checkpointer(settings.threads_db)
    from langgraph.checkpoint.memory import InMemorySaver

    return InMemorySaver(serde=state_serializer())


def _model_card(name: str, created: int) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": created, "owned_by": "agentic-rag", "graph": MODELS[name]}


def _run_failure(exc: BaseException) -> APIError:
    """What a client is told about a run that raised."""
    if isinstance(exc, ConfigurationError):
        return APIError(400, str(exc), code="invalid_request")
    log.error("run failed", exc_info=exc)
    text = str(exc)[:300]
    return APIError(500, f"the run failed: {type(exc).__name__}" + (f": {text}" if text else ""), code="run_failed")


async def _final_answer(items: AsyncIterator[Any]) -> Any:
    answer = None
    try:
        async for item in items:
            if isinstance(item, FinalAnswer):
                answer = item.answer
    except Exception as exc:  # noqa: BLE001 - one run's failure is that request's 500, not the server's
        raise _run_failure(exc) from None
    if answer is None:
        raise APIError(500, "the run ended without an answer", code="run_failed")
    return answer


async def _openai_stream(items: AsyncIterator[Any], model: str, conversation: str | None,
                         include_usage: bool) -> AsyncIterator[str]:
    """The run as ``chat.completion.chunk`` events: role, content deltas, the final chunk, ``[DONE]``."""
    id_, created = oai.completion_id(), int(time.time())
    yield sse(oai.chunk(id_, model, created, {"role": "assistant", "content": ""}))
    content = oai.ContentStream()
    try:
        async for item in items:
            if isinstance(item, AnswerToken):
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


async def _event_stream(items: AsyncIterator[Any]) -> AsyncIterator[str]:
    """The run's typed events, each named by its type; an ``error`` event if the run fails."""
    try:
        async for item in items:
            yield sse(item.model_dump_json(), event=item.type)
    except Exception as exc:  # noqa: BLE001 - see _openai_stream
        yield sse(_run_failure(exc).body(), event="error")

