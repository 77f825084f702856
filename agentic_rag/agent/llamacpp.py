"""A LangChain chat model that runs a GGUF model in-process with llama.cpp (via ``xllamacpp``).

The llama.cpp server is created on the first call, never at import or construction, and serves
one call at a time. Prompt caching is on: a prompt that shares a prefix with an earlier one
(the same system prompt and context, say) only evaluates the new tokens.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import queue
import secrets
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from operator import itemgetter
from pathlib import Path
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.exceptions import OutputParserException
from langchain_core.language_models import LanguageModelInput
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.messages.utils import convert_to_openai_messages
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableLambda, RunnableMap, RunnablePassthrough
from langchain_core.utils.function_calling import convert_to_json_schema
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from agentic_rag._text import message_text
from agentic_rag.errors import ModelError, ModelNotFoundError, require

__all__ = ["ChatLlamaCpp"]

logger = logging.getLogger(__name__)

_QUIET_VERBOSITY = -1  # llama.cpp's log threshold: below every level, so nothing is printed
_VERBOSE_VERBOSITY = 3


def _default_threads() -> int:
    return os.cpu_count() or 1


def _create_server(model: ChatLlamaCpp) -> Any:
    """Load ``model.model_path`` into an ``xllamacpp.Server`` configured from ``model``."""
    xllamacpp = require("xllamacpp", "local")
    path = Path(model.model_path)
    if not path.is_file():
        raise ModelNotFoundError(
            f"model file {path} does not exist; fetch a local model with "
            "agentic_rag.agent.model_store.pull() or resolve_chat_model('local')"
        )
    params = xllamacpp.CommonParams()
    params.model.path = str(path)
    params.n_ctx = model.n_ctx
    params.n_parallel = 1
    params.cpuparams.n_threads = model.n_threads
    params.cpuparams_batch.n_threads = model.n_threads
    params.warmup = False
    params.cache_prompt = True
    params.verbosity = _VERBOSE_VERBOSITY if model.verbose else _QUIET_VERBOSITY
    # The server also listens on a random 127.0.0.1 port; a random key keeps other local
    # processes from using it. In-process calls do not go through HTTP and need no key.
    params.api_keys = [secrets.token_urlsafe(32)]
    params.endpoint_slots = False
    params.endpoint_props = False
    params.endpoint_metrics = False
    try:
        return xllamacpp.Server(params)
    except RuntimeError as exc:
        hint = "" if model.verbose else "; pass verbose=True to see llama.cpp's log"
        raise ModelError(f"llama.cpp could not load {path} (is it a valid GGUF file?): {exc}{hint}") from exc


def _usage(response: Mapping[str, Any]) -> UsageMetadata | None:
    """Token counts from the response's ``usage``, else from its ``timings``."""
    usage = response.get("usage") or {}
    timings = response.get("timings") or {}
    if "prompt_tokens" in usage or "completion_tokens" in usage:
        input_tokens = int(usage.get("prompt_tokens", 0))
        output_tokens = int(usage.get("completion_tokens", 0))
        cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens")
    elif "prompt_n" in timings or "predicted_n" in timings:
        cached = timings.get("cache_n")
        input_tokens = int(timings.get("prompt_n", 0)) + int(cached or 0)
        output_tokens = int(timings.get("predicted_n", 0))
    else:
        return None
    result = UsageMetadata(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=input_tokens + output_tokens,
    )
    if cached is not None:
        result["input_token_details"] = {"cache_read": int(cached)}
    return result


def _reraise(exc: BaseException) -> None:
    """Raise what the generation thread raised; a rejected request as :class:`ModelError`."""
    if isinstance(exc, ValueError):
        raise ModelError(f"llama.cpp rejected the request: {exc}") from exc
    raise exc


def _raise_if_error(response: Any) -> None:
    if not isinstance(response, Mapping):
        raise ModelError(f"llama.cpp returned an unexpected response: {response!r:.200}")
    error = response.get("error")
    if error is None and "choices" not in response and "message" in response:
        error = response  # the bare {"code", "type", "message"} form
    if error is not None:
        message = error.get("message", error) if isinstance(error, Mapping) else error
        raise ModelError(f"llama.cpp request failed: {message}")


class ChatLlamaCpp(BaseChatModel):
    """Chat with a local GGUF model through llama.cpp, in-process and offline.

    Streaming is real: tokens are yielded as llama.cpp produces them. ``with_structured_output``
    uses JSON-schema constrained decoding, so the reply always parses as JSON of that shape.
    llama.cpp's own logging is off unless ``verbose=True``.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_path: Path
    """The ``.gguf`` file to load."""
    n_ctx: int = Field(default=4096, gt=0)
    """Context window in tokens (prompt plus reply)."""
    n_threads: int = Field(default_factory=_default_threads, gt=0)
    """CPU threads for prompt processing and generation."""
    temperature: float = Field(default=0.0, ge=0.0)
    max_tokens: int = Field(default=512, gt=0)
    seed: int | None = None
    stop: list[str] | None = None
    """Default stop sequences (a call's ``stop`` replaces them)."""
    verbose: bool = False
    """Let llama.cpp log to stderr."""

    _server: Any = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)  # one call at a time
    _load_seconds: float | None = PrivateAttr(default=None)

    @property
    def _llm_type(self) -> str:
        return "llamacpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model_path": str(self.model_path),
            "n_ctx": self.n_ctx,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "seed": self.seed,
        }

    @property
    def model_name(self) -> str:
        """The model file's name, without ``.gguf``."""
        return Path(self.model_path).stem

    @property
    def load_seconds(self) -> float | None:
        """How long loading the model took (``None`` before the first call)."""
        return self._load_seconds

    @property
    def is_loaded(self) -> bool:
        """Whether the model is in memory."""
        return self._server is not None

    def close(self) -> None:
        """Unload the model; the next call loads it again."""
        with self._lock:
            self._server = None

    # ------------------------------------------------------------------ requests

    def _server_instance(self) -> Any:
        """The server, loading the model first if needed; the caller holds ``self._lock``."""
        if self._server is None:
            started = time.perf_counter()
            self._server = _create_server(self)
            self._load_seconds = time.perf_counter() - started
            logger.info("loaded %s in %.1f s", self.model_path, self._load_seconds)
        return self._server

    def _build_request(
        self, messages: Sequence[BaseMessage], stop: list[str] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """The OpenAI-style request dict for ``messages``; extra kwargs go in as request fields."""
        converted = convert_to_openai_messages(list(messages))
        for message in converted:
            if isinstance(message.get("content"), list):
                message["content"] = message_text(message["content"])
        request: dict[str, Any] = {
            "messages": converted,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "cache_prompt": True,
            "stream": False,
        }
        if self.seed is not None:
            request["seed"] = self.seed
        stop = stop if stop is not None else self.stop
        if stop:
            request["stop"] = list(stop)
        for key, value in kwargs.items():
            if key.startswith("ls_") or value is None:
                continue  # LangChain tracing hints, not request fields
            request[key] = value
        return request

    def _message_from_response(self, response: Mapping[str, Any]) -> AIMessage:
        _raise_if_error(response)
        try:
            choice = response["choices"][0]
        except (KeyError, IndexError, TypeError) as exc:
            raise ModelError(f"llama.cpp returned no choices: {response!r:.200}") from exc
        message = choice.get("message") or {}
        return AIMessage(
            content=message.get("content") or "",
            id=response.get("id"),
            usage_metadata=_usage(response),
            response_metadata={
                "model_name": self.model_name,
                "model_provider": "llamacpp",
                "finish_reason": choice.get("finish_reason"),
                "timings": response.get("timings") or {},
            },
        )

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        request = self._build_request(messages, stop, **kwargs)
        with self._lock:
            server = self._server_instance()
            try:
                response = server.handle_chat_completions(request)
            except ValueError as exc:  # xllamacpp rejects malformed requests this way
                raise ModelError(f"llama.cpp rejected the request: {exc}") from exc
        message = self._message_from_response(response)
        return ChatResult(
            generations=[ChatGeneration(message=message)],
            llm_output={"model_name": self.model_name, "token_usage": response.get("usage", {})},
        )

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        """Yield tokens as llama.cpp produces them.

        llama.cpp calls back from inside ``handle_chat_completions``, so that call runs in a
        worker thread feeding a queue; closing the iterator early cancels the generation. The
        model is busy (other calls wait) until the iterator is exhausted or closed.
        """
        request = self._build_request(messages, stop, **kwargs)
        request["stream"] = True
        request["stream_options"] = {"include_usage": True}
        events: queue.Queue[tuple[str, Any]] = queue.Queue()
        cancelled = threading.Event()

        def on_event(event: Any) -> bool:
            events.put(("event", event))
            return cancelled.is_set()  # True tells llama.cpp to stop

        with self._lock:
            server = self._server_instance()

            def work() -> None:
                try:
                    server.handle_chat_completions(request, on_event)
                except BaseException as exc:  # handed to the consuming thread
                    events.put(("raise", exc))
                finally:
                    events.put(("done", None))

            worker = threading.Thread(target=work, name="llamacpp-stream", daemon=True)
            worker.start()
            try:
                yield from self._chunks(events, run_manager)
            finally:
                cancelled.set()
                worker.join()

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        """:meth:`_generate` in a worker thread (it waits there for the model, not on the event loop)."""
        return await asyncio.to_thread(self._generate, messages, stop, None, **kwargs)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        """Tokens as llama.cpp produces them, for asyncio.

        The whole generation, the wait for the model's lock included, runs in a thread of its own
        that hands events to the loop; nothing holds the lock across an ``await``, so concurrent
        async calls queue for the model without tying up the loop's executor. Closing the iterator
        early (a client gone) cancels the generation.
        """
        request = self._build_request(messages, stop, **kwargs)
        request["stream"] = True
        request["stream_options"] = {"include_usage": True}
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        cancelled = threading.Event()

        def put(item: tuple[str, Any]) -> None:
            try:
                loop.call_soon_threadsafe(events.put_nowait, item)
            except RuntimeError:  # the loop is closed: nobody is listening any more
                cancelled.set()

        def on_event(event: Any) -> bool:
            put(("event", event))
            return cancelled.is_set()  # True tells llama.cpp to stop

        def work() -> None:
            try:
                with self._lock:
                    if not cancelled.is_set():
                        self._server_instance().handle_chat_completions(request, on_event)
            except BaseException as exc:  # handed to the awaiting side
                put(("raise", exc))
            finally:
                put(("done", None))

        threading.Thread(target=work, name="llamacpp-astream", daemon=True).start()
        try:
            while True:
                kind, payload = await events.get()
                if kind == "done":
                    return
                if kind == "raise":
                    _reraise(payload)
                for chunk in self._chunks_of(payload):
                    if run_manager and chunk.text:
                        await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                    yield chunk
        finally:
            cancelled.set()

    def _chunks(
        self, events: queue.Queue[tuple[str, Any]], run_manager: CallbackManagerForLLMRun | None
    ) -> Iterator[ChatGenerationChunk]:
        while True:
            kind, payload = events.get()
            if kind == "done":
                return
            if kind == "raise":
                _reraise(payload)
            for chunk in self._chunks_of(payload):
                if run_manager and chunk.text:
                    run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                yield chunk

    def _chunks_of(self, payload: Mapping[str, Any]) -> list[ChatGenerationChunk]:
        """The chunks one streamed event of llama.cpp holds: text deltas, then usage with the last event."""
        _raise_if_error(payload)
        chunks = []
        for choice in payload.get("choices") or []:
            delta = choice.get("delta") or {}
            text = delta.get("content") or ""
            finish = choice.get("finish_reason")
            if not text and not finish:
                continue
            metadata = {"finish_reason": finish} if finish else {}
            chunks.append(ChatGenerationChunk(
                message=AIMessageChunk(content=text, id=payload.get("id"), response_metadata=metadata)
            ))
        usage = _usage(payload) if not payload.get("choices") else None
        if usage is not None:
            chunks.append(ChatGenerationChunk(
                message=AIMessageChunk(
                    content="",
                    id=payload.get("id"),
                    usage_metadata=usage,
                    response_metadata={
                        "model_name": self.model_name,
                        "model_provider": "llamacpp",
                        "timings": payload.get("timings") or {},
                    },
                    chunk_position="last",
                )
            ))
        return chunks

    # ------------------------------------------------------------------ structured output

    def with_structured_output(
        self,
        schema: dict[str, Any] | type,
        *,
        include_raw: bool = False,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | BaseModel]:
        """Constrain replies to ``schema`` (a pydantic model or a JSON schema dict) and parse them.

        Decoding is constrained by llama.cpp's ``response_format`` of type ``json_schema``. A
        pydantic schema gives model instances, a dict gives dicts. With ``include_raw=True`` the
        result is ``{"raw": AIMessage, "parsed": obj | None, "parsing_error": exc | None}``.
        ``method`` may only be ``"json_schema"``; ``strict`` is accepted and ignored.
        """
        method = kwargs.pop("method", "json_schema")
        kwargs.pop("strict", None)
        if method != "json_schema":
            raise ValueError(f"ChatLlamaCpp supports only method='json_schema', not {method!r}")
        if kwargs:
            raise ValueError(f"unsupported arguments: {sorted(kwargs)}")
        pydantic_model = schema if isinstance(schema, type) and issubclass(schema, BaseModel) else None
        if pydantic_model is None and not isinstance(schema, dict):
            raise ValueError("schema must be a pydantic model class or a JSON schema dict")
        json_schema = _json_schema(pydantic_model or schema)  # type: ignore[arg-type]
        name = str(json_schema.get("title") or getattr(schema, "__name__", "") or "output")
        llm = self.bind(
            response_format={
                "type": "json_schema",
                "json_schema": {"name": name, "schema": json_schema},
            },
            ls_structured_output_format={"kwargs": {"method": "json_schema"}, "schema": schema},
        )
        parser = RunnableLambda(_make_parser(pydantic_model))
        if not include_raw:
            return llm | parser
        parser_assign = RunnablePassthrough.assign(
            parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
        )
        parser_none = RunnablePassthrough.assign(parsed=lambda _: None)
        with_fallback = parser_assign.with_fallbacks([parser_none], exception_key="parsing_error")
        return RunnableMap(raw=llm) | with_fallback


def _json_schema(schema: dict[str, Any] | type[BaseModel]) -> dict[str, Any]:
    """A self-contained JSON schema (references inlined) for llama.cpp's grammar."""
    if isinstance(schema, dict) and "parameters" in schema and "name" in schema:
        base = dict(schema["parameters"])  # OpenAI function form
        base.setdefault("title", schema["name"])
        return base
    try:
        return convert_to_json_schema(schema)
    except (ValueError, TypeError, KeyError, RecursionError):
        if isinstance(schema, dict):
            return schema
        return schema.model_json_schema()


def _make_parser(model: type[BaseModel] | None) -> Callable[[AIMessage], Any]:
    def parse(message: AIMessage) -> Any:
        text = message_text(message.content).strip()
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise OutputParserException(
                f"the model's reply is not valid JSON: {exc}", llm_output=text
            ) from exc
        if model is None:
            return data
        try:
            return model.model_validate(data)
        except ValueError as exc:  # pydantic.ValidationError is a ValueError
            raise OutputParserException(
                f"the model's reply does not match {model.__name__}: {exc}", llm_output=text
            ) from exc

    return parse
