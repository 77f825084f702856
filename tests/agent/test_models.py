"""resolve_chat_model with monkeypatched registries and providers: no network, no weights."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from agentic_rag.agent import model_store, models
from agentic_rag.agent.llamacpp import ChatLlamaCpp
from agentic_rag.agent.models import ModelDependencyError, resolve_chat_model
from agentic_rag.errors import MissingDependencyError, ModelError, ModelNotFoundError


@pytest.fixture
def local_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Pretend every model is downloaded; record pulls instead of fetching."""
    pytest.importorskip("xllamacpp")
    monkeypatch.setenv("AGENTIC_RAG_MODEL_DIR", str(tmp_path))
    state: dict[str, Any] = {"present": set(model_store.MODELS), "pulled": []}

    def is_available(name: str | None = None) -> bool:
        return model_store.get_spec(name).name in state["present"]

    def pull(name: str | None = None, **kwargs: Any) -> Path:
        spec = model_store.get_spec(name)
        state["pulled"].append(spec.name)
        state["present"].add(spec.name)
        return tmp_path / spec.filename

    monkeypatch.setattr(model_store, "is_available", is_available)
    monkeypatch.setattr(model_store, "pull", pull)
    return state


def test_instance_is_returned_as_is() -> None:
    model = FakeListChatModel(responses=["x"])
    assert resolve_chat_model(model) is model


def test_local_is_the_default_model(local_store: dict[str, Any], tmp_path: Path) -> None:
    model = resolve_chat_model("local", verbose=True)
    assert isinstance(model, ChatLlamaCpp)
    assert model.model_path == tmp_path / model_store.get_spec(model_store.DEFAULT_MODEL).filename
    assert model.verbose is True
    assert not model.is_loaded  # nothing is loaded until the first call
    assert local_store["pulled"] == []


def test_local_name_pulls_a_missing_model_and_says_so(local_store: dict[str, Any], tmp_path: Path) -> None:
    local_store["present"].clear()
    messages: list[str] = []
    model = resolve_chat_model(" local:qwen2.5-coder-0.5b ", on_download=messages.append)
    assert isinstance(model, ChatLlamaCpp)
    assert model.model_path == tmp_path / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
    assert local_store["pulled"] == ["qwen2.5-coder-0.5b"]
    assert len(messages) == 1 and messages[0].startswith("Downloading model qwen2.5-coder-0.5b")


def test_registry_name_alone_means_local(local_store: dict[str, Any]) -> None:
    model = resolve_chat_model("qwen2.5-coder-0.5b")
    assert isinstance(model, ChatLlamaCpp) and model.model_name == "qwen2.5-coder-0.5b-instruct-q4_k_m"


def test_local_gguf_path(local_store: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "mine.gguf"
    path.write_bytes(b"GGUF")
    model = resolve_chat_model(f"local:{path}")
    assert isinstance(model, ChatLlamaCpp) and model.model_path == path
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        resolve_chat_model(f"local:{tmp_path / 'missing.gguf'}")


def test_unknown_local_name(local_store: dict[str, Any]) -> None:
    with pytest.raises(ModelNotFoundError, match="qwen2.5-coder-1.5b"):
        resolve_chat_model("local:nope")


@pytest.mark.parametrize("spec", ["", "   ", None, 42, ":gpt-4o", "openai:"])
def test_empty_or_invalid_spec(spec: Any) -> None:
    with pytest.raises(ModelNotFoundError) as info:
        resolve_chat_model(spec)
    assert "\n" not in str(info.value) and "local" in str(info.value)


def test_local_without_xllamacpp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "xllamacpp", None)  # makes the import fail
    with pytest.raises(ModelDependencyError, match=r"agentic-rag\[local\]") as info:
        resolve_chat_model("local")
    assert isinstance(info.value, ModelError) and isinstance(info.value, MissingDependencyError)


def _fake_init(calls: list[tuple[Any, ...]], result: Any = None, error: Exception | None = None) -> Any:
    def init_chat_model(model: str, **kwargs: Any) -> Any:
        calls.append((model, kwargs))
        if error is not None:
            raise error
        return result if result is not None else FakeListChatModel(responses=["ok"])

    return init_chat_model


def test_provider_spec_goes_to_init_chat_model(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(models, "_init_chat_model", lambda: _fake_init(calls))
    model = resolve_chat_model("OpenAI:gpt-4o-mini")
    assert isinstance(model, FakeListChatModel)
    assert calls == [("gpt-4o-mini", {"model_provider": "openai"})]
    resolve_chat_model("gpt-4o")  # a bare name: LangChain infers the provider
    assert calls[-1] == ("gpt-4o", {})


def test_missing_provider_package_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    error = ImportError("Initializing ChatAnthropic requires the langchain-anthropic package. "
                        "Please install it with `pip install langchain-anthropic`")
    monkeypatch.setattr(models, "_init_chat_model", lambda: _fake_init([], error=error))
    with pytest.raises(ModelDependencyError, match="pip install langchain-anthropic") as info:
        resolve_chat_model("anthropic:claude-x")
    assert isinstance(info.value, ModelError)

    monkeypatch.setattr(models, "_init_chat_model", lambda: _fake_init([], error=ImportError("No module")))
    with pytest.raises(ModelDependencyError, match="langchain-google-genai"):
        resolve_chat_model("google_genai:gemini-x")
    with pytest.raises(ModelDependencyError, match="langchain-mistralai"):
        resolve_chat_model("mistralai:mistral-small")


def test_without_langchain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "langchain.chat_models", None)
    monkeypatch.setitem(sys.modules, "langchain_classic.chat_models", None)
    with pytest.raises(ModelError, match="pip install langchain langchain-<provider>"):
        resolve_chat_model("openai:gpt-4o-mini")


def test_unknown_provider_is_model_not_found(monkeypatch: pytest.MonkeyPatch) -> None:
    error = ValueError("Unsupported model_provider='bogus'.\n\nSupported model providers are: ...")
    monkeypatch.setattr(models, "_init_chat_model", lambda: _fake_init([], error=error))
    with pytest.raises(ModelNotFoundError, match="Unsupported model_provider") as info:
        resolve_chat_model("bogus:thing")
    assert "\n" not in str(info.value)


def test_other_provider_failures_are_model_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models, "_init_chat_model", lambda: _fake_init([], error=RuntimeError("no API key")))
    with pytest.raises(ModelError, match="no API key"):
        resolve_chat_model("openai:gpt-4o-mini")
    monkeypatch.setattr(models, "_init_chat_model", lambda: _fake_init([], result=object()))
    with pytest.raises(ModelError, match="did not resolve to a chat model"):
        resolve_chat_model("openai:gpt-4o-mini")


def test_real_init_chat_model_reports_missing_package() -> None:
    """With the real LangChain (if installed): langchain-openai is not a dependency of ours."""
    try:
        models._init_chat_model()
    except ModelError:
        pytest.skip("LangChain's init_chat_model is not installed")
    try:
        import langchain_openai  # noqa: F401
    except ImportError:
        with pytest.raises(ModelDependencyError, match="langchain-openai"):
            resolve_chat_model("openai:gpt-4o-mini")
    else:
        pytest.skip("langchain-openai is installed")


def test_a_python_spec_names_a_chat_model_of_ones_own() -> None:
    from agentic_rag.errors import ConfigurationError
    from agentic_rag.testing.service_world import ReadingModel

    assert isinstance(resolve_chat_model("python:agentic_rag.testing.service_world:ReadingModel"), ReadingModel)
    for spec, message in [
        ("python:no_such_module_here:Model", "cannot import 'no_such_module_here'"),
        ("python:agentic_rag.testing.service_world:Nothing", "has no 'Nothing'"),
        ("python:agentic_rag.testing.fakes:HashingEmbeddings", "not an instance of BaseChatModel"),
        ("python:agentic_rag.testing", "python:package.module:attribute"),
        ("python:agentic_rag.testing.service_world:lead", "calling lead failed"),  # a factory that needs arguments
    ]:
        with pytest.raises(ConfigurationError, match=message):
            resolve_chat_model(spec)
