"""ChatLlamaCpp against a fake xllamacpp server, plus one real-model test (marked ``real_model``)."""

from __future__ import annotations

import copy
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from langchain_core.exceptions import OutputParserException
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from agentic_rag.agent import llamacpp, model_store
from agentic_rag.agent.llamacpp import ChatLlamaCpp
from agentic_rag.errors import ModelError, ModelNotFoundError


def _reply(content: str, *, usage: bool = True, finish: str = "stop") -> dict[str, Any]:
    response: dict[str, Any] = {
        "id": "chatcmpl-1",
        "choices": [{"index": 0, "finish_reason": finish, "message": {"role": "assistant", "content": content}}],
        "timings": {"cache_n": 10, "prompt_n": 5, "prompt_per_second": 100.0, "predicted_n": 3,
                    "predicted_per_second": 30.0},
    }
    if usage:
        response["usage"] = {"prompt_tokens": 15, "completion_tokens": 3, "total_tokens": 18,
                             "prompt_tokens_details": {"cached_tokens": 10}}
    return response


def _stream_events(pieces: list[str]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [{"id": "s", "choices": [{"index": 0, "finish_reason": None,
                                                          "delta": {"role": "assistant", "content": None}}]}]
    events += [{"id": "s", "choices": [{"index": 0, "finish_reason": None, "delta": {"content": p}}]} for p in pieces]
    events.append({"id": "s", "choices": [{"index": 0, "finish_reason": "stop", "delta": {}}]})
    events.append({"id": "s", "choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": len(pieces),
                                                      "total_tokens": 7 + len(pieces)},
                   "timings": {"prompt_n": 7, "predicted_n": len(pieces)}})
    return events


class FakeServer:
    """Answers from a list of replies; records requests; streams events through the callback."""

    def __init__(self, replies: list[Any] | None = None, events: list[dict[str, Any]] | None = None) -> None:
        self.replies = list(replies or [])
        self.events = events or []
        self.requests: list[dict[str, Any]] = []
        self.cancelled = False
        self.active = 0
        self.max_active = 0

    def handle_chat_completions(self, request: dict[str, Any], callback: Any = None) -> Any:
        self.requests.append(copy.deepcopy(request))
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            time.sleep(0.01)
            if callback is None:
                reply = self.replies.pop(0)
                if isinstance(reply, Exception):
                    raise reply
                return reply
            for event in self.events:
                time.sleep(0.002)  # llama.cpp takes a while per token
                if callback(event):
                    self.cancelled = True
                    return None
            return None
        finally:
            self.active -= 1


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    created: list[ChatLlamaCpp] = []
    server = FakeServer()

    def factory(model: ChatLlamaCpp) -> FakeServer:
        created.append(model)
        return server

    monkeypatch.setattr(llamacpp, "_create_server", factory)
    return {"server": server, "created": created}


def _model(**kw: Any) -> ChatLlamaCpp:
    return ChatLlamaCpp(model_path=Path("/nonexistent/model.gguf"), **kw)


def test_server_is_created_lazily_once(fake: dict[str, Any]) -> None:
    fake["server"].replies = [_reply("a"), _reply("b")]
    model = _model()
    assert fake["created"] == [] and not model.is_loaded
    assert model.invoke("hi").content == "a"
    assert model.invoke("again").content == "b"
    assert len(fake["created"]) == 1 and model.is_loaded
    assert model.load_seconds is not None
    model.close()
    assert not model.is_loaded


def test_defaults() -> None:
    model = _model()
    assert (model.n_ctx, model.temperature, model.max_tokens, model.seed, model.verbose) == (4096, 0.0, 512, None, False)
    assert model.n_threads >= 1
    assert model.model_name == "model"


def test_request_building(fake: dict[str, Any]) -> None:
    fake["server"].replies = [_reply("x"), _reply("y")]
    model = _model(seed=7, max_tokens=64)
    model.invoke(
        [SystemMessage("be brief"), HumanMessage([{"type": "text", "text": "a "}, {"type": "text", "text": "b"}]),
         AIMessage("ok"), HumanMessage("go")],
        stop=["\n"],
    )
    request = fake["server"].requests[0]
    assert request["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "a \nb"},  # LangChain joins text blocks with newlines
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "go"},
    ]
    assert request["temperature"] == 0.0 and request["max_tokens"] == 64 and request["seed"] == 7
    assert request["cache_prompt"] is True and request["stream"] is False
    assert request["stop"] == ["\n"]

    model.bind(temperature=0.5, max_tokens=3, top_p=0.9).invoke("q")
    request = fake["server"].requests[1]
    assert (request["temperature"], request["max_tokens"], request["top_p"]) == (0.5, 3, 0.9)
    assert "stop" not in request and not any(k.startswith("ls_") for k in request)


def test_default_stop_field(fake: dict[str, Any]) -> None:
    fake["server"].replies = [_reply("x")]
    _model(stop=["END"]).invoke("q")
    assert fake["server"].requests[0]["stop"] == ["END"]


def test_usage_and_response_metadata(fake: dict[str, Any]) -> None:
    fake["server"].replies = [_reply("done", finish="length"), _reply("t", usage=False)]
    model = _model()
    message = model.invoke("q")
    assert message.usage_metadata == {"input_tokens": 15, "output_tokens": 3, "total_tokens": 18,
                                      "input_token_details": {"cache_read": 10}}
    assert message.response_metadata["finish_reason"] == "length"
    assert message.response_metadata["timings"]["prompt_per_second"] == 100.0
    assert message.response_metadata["model_provider"] == "llamacpp"
    from_timings = model.invoke("q").usage_metadata  # no "usage": counted from timings
    assert from_timings is not None
    assert (from_timings["input_tokens"], from_timings["output_tokens"], from_timings["total_tokens"]) == (15, 3, 18)


def test_server_errors_become_model_errors(fake: dict[str, Any]) -> None:
    fake["server"].replies = [
        {"error": {"code": 400, "message": "request (9000 tokens) exceeds the available context size"}},
        ValueError("response_format type must be one of ..."),
    ]
    model = _model()
    with pytest.raises(ModelError, match="exceeds the available context"):
        model.invoke("q")
    with pytest.raises(ModelError, match="rejected"):
        model.invoke("q")


def test_stream_yields_tokens_and_usage(fake: dict[str, Any]) -> None:
    fake["server"].events = _stream_events(["Hel", "lo", "!"])
    chunks = list(_model().stream("hi"))
    assert "".join(str(c.content) for c in chunks) == "Hello!"
    request = fake["server"].requests[0]
    assert request["stream"] is True and request["stream_options"] == {"include_usage": True}
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged = merged + chunk
    assert merged.usage_metadata is not None and merged.usage_metadata["output_tokens"] == 3
    assert merged.response_metadata.get("finish_reason") == "stop"


def test_closing_a_stream_cancels_generation(fake: dict[str, Any]) -> None:
    fake["server"].events = _stream_events([str(i) for i in range(50)])
    model = _model()
    stream = model.stream("count")
    first = next(stream)
    assert first.content == "0"
    stream.close()
    assert fake["server"].cancelled
    fake["server"].replies = [_reply("free again")]  # the lock was released
    assert model.invoke("q").content == "free again"


def test_stream_error_is_raised(fake: dict[str, Any]) -> None:
    fake["server"].events = [{"error": {"code": 400, "message": "too long"}}]
    with pytest.raises(ModelError, match="too long"):
        list(_model().stream("q"))


def test_calls_are_serialised(fake: dict[str, Any]) -> None:
    fake["server"].replies = [_reply(str(i)) for i in range(6)]
    model = _model()
    threads = [threading.Thread(target=model.invoke, args=("q",)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert fake["server"].max_active == 1
    assert len(fake["created"]) == 1


def test_async_streams_do_not_tie_up_the_event_loop_and_are_served_one_at_a_time(fake: dict[str, Any]) -> None:
    """Twenty concurrent async streams (more than the loop's executor has threads) all finish, one at a time."""
    import asyncio

    fake["server"].events = _stream_events(["a", "b", "c"])
    model = _model()

    async def one() -> str:
        return "".join([str(chunk.content) async for chunk in model.astream("q")])

    async def many() -> list[str]:
        return await asyncio.wait_for(asyncio.gather(*(one() for _ in range(20))), timeout=60)

    assert asyncio.run(many()) == ["abc"] * 20
    assert fake["server"].max_active == 1


def test_closing_an_async_stream_cancels_generation_and_frees_the_model(fake: dict[str, Any]) -> None:
    import asyncio

    fake["server"].events = _stream_events([str(i) for i in range(200)])
    model = _model()

    async def first_token() -> str:
        stream = model.astream("count")
        first = await anext(stream)
        await stream.aclose()
        return str(first.content)

    assert asyncio.run(first_token()) == "0"
    fake["server"].replies = [_reply("free again")]
    assert model.invoke("q").content == "free again"  # waits for the lock, which the cancelled stream released
    assert fake["server"].cancelled
    fake["server"].replies = [_reply("async too")]
    assert asyncio.run(model.ainvoke("q")).content == "async too"


class Verdict(BaseModel):
    """Whether the passages answer the question."""

    answer: str = Field(description="YES or NO")
    confidence: float


def test_structured_output_pydantic(fake: dict[str, Any]) -> None:
    fake["server"].replies = [_reply('{"answer": "YES", "confidence": 0.9}')]
    result = _model().with_structured_output(Verdict).invoke("q")
    assert result == Verdict(answer="YES", confidence=0.9)
    response_format = fake["server"].requests[0]["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["name"] == "Verdict"
    schema = response_format["json_schema"]["schema"]
    assert schema["required"] == ["answer", "confidence"]
    assert schema["properties"]["confidence"]["type"] == "number"


def test_structured_output_dict_schema(fake: dict[str, Any]) -> None:
    fake["server"].replies = [_reply('{"queries": ["a", "b"]}')]
    schema = {"title": "Plan", "type": "object", "properties": {"queries": {"type": "array", "items": {"type": "string"}}},
              "required": ["queries"]}
    result = _model().with_structured_output(schema).invoke("q")
    assert result == {"queries": ["a", "b"]}
    sent = fake["server"].requests[0]["response_format"]["json_schema"]
    assert sent["name"] == "Plan" and sent["schema"]["properties"] == schema["properties"]


def test_structured_output_include_raw(fake: dict[str, Any]) -> None:
    fake["server"].replies = [_reply('{"answer": "NO", "confidence": 0.1}'), _reply("not json"),
                              _reply('{"answer": "NO"}')]
    structured = _model().with_structured_output(Verdict, include_raw=True)
    ok = structured.invoke("q")
    assert isinstance(ok["raw"], AIMessage) and ok["parsed"] == Verdict(answer="NO", confidence=0.1)
    assert ok["parsing_error"] is None
    bad = structured.invoke("q")
    assert bad["parsed"] is None and isinstance(bad["parsing_error"], OutputParserException)
    assert bad["raw"].content == "not json"
    incomplete = structured.invoke("q")
    assert incomplete["parsed"] is None and isinstance(incomplete["parsing_error"], OutputParserException)


def test_structured_output_parse_error_raises_without_include_raw(fake: dict[str, Any]) -> None:
    fake["server"].replies = [_reply("{oops")]
    with pytest.raises(OutputParserException):
        _model().with_structured_output(Verdict).invoke("q")


def test_structured_output_rejects_other_methods() -> None:
    with pytest.raises(ValueError, match="json_schema"):
        _model().with_structured_output(Verdict, method="function_calling")
    with pytest.raises(ValueError):
        _model().with_structured_output("not a schema")  # type: ignore[arg-type]


def test_missing_model_file_is_reported_on_first_call() -> None:
    pytest.importorskip("xllamacpp")
    model = _model()  # construction never touches the file
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        model.invoke("q")


def test_server_params_quiet_and_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    xllamacpp = pytest.importorskip("xllamacpp")
    captured: list[Any] = []

    def fake_server(params: Any) -> FakeServer:
        captured.append(params)
        return FakeServer([_reply("ok")])

    monkeypatch.setattr(xllamacpp, "Server", fake_server)
    path = tmp_path / "m.gguf"
    path.write_bytes(b"GGUF")
    model = ChatLlamaCpp(model_path=path, n_ctx=1024, n_threads=3)
    assert model.invoke("q").content == "ok"
    params = captured[0]
    assert params.model.path == str(path)
    assert (params.n_ctx, params.n_parallel, params.cpuparams.n_threads, params.cpuparams_batch.n_threads) == (1024, 1, 3, 3)
    assert params.cache_prompt is True and params.warmup is False
    assert params.verbosity < 0  # llama.cpp logs nothing unless verbose=True
    assert params.api_keys and len(params.api_keys[0]) >= 32


# ---------------------------------------------------------------------------- real model

REAL_MODEL = "qwen2.5-coder-0.5b"


@pytest.mark.real_model
def test_real_model_answers_and_structures(capfd: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("xllamacpp", reason="needs the `local` extra (xllamacpp)")
    if not model_store.is_available(REAL_MODEL):
        pytest.skip(f"{REAL_MODEL} is not in {model_store.model_dir()}; fetch it with "
                    f"python -c \"from agentic_rag.agent.model_store import pull; pull('{REAL_MODEL}')\"")
    model = ChatLlamaCpp(model_path=model_store.model_path(REAL_MODEL), n_ctx=2048, max_tokens=48)
    reply = model.invoke([SystemMessage("Answer in one word."), HumanMessage("What is the capital of France?")])
    assert "paris" in str(reply.content).lower()
    assert reply.usage_metadata and reply.usage_metadata["output_tokens"] > 0
    assert reply.response_metadata["timings"]["prompt_n"] > 0

    class City(BaseModel):
        name: str
        country: str

    city = model.with_structured_output(City).invoke("Give the name and country of the capital of Japan.")
    assert isinstance(city, City) and "japan" in city.country.lower()

    streamed = [str(c.content) for c in model.stream("Count from 1 to 5, separated by spaces.")]
    assert sum(1 for piece in streamed if piece) > 1 and "3" in "".join(streamed)
    assert "llama" not in capfd.readouterr().err.lower()  # llama.cpp stayed quiet
