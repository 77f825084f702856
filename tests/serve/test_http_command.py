"""`agentic-rag serve`: builds the app over an index, with its options; clear errors otherwise."""

from __future__ import annotations

import sys

import pytest
from typer.testing import CliRunner

from agentic_rag import cli
from tests.fakes import HashingEmbeddings
from tests.serve.http_world import ReadingModel, documents

runner = CliRunner()


@pytest.fixture
def index(tmp_path, monkeypatch):
    monkeypatch.setattr("agentic_rag.tools.embeddings.default_embeddings", lambda *a, **k: HashingEmbeddings())
    folder = tmp_path / "docs"
    for source, text in documents()[:5]:
        (folder / source).parent.mkdir(parents=True, exist_ok=True)
        (folder / source).write_text(text)
    result = runner.invoke(cli.app, ["index", str(folder), "--index", str(tmp_path / "idx")])
    assert result.exit_code == 0, result.output
    return tmp_path / "idx"


def test_serve_builds_the_app_with_its_options(index, monkeypatch):
    pytest.importorskip("fastapi", reason="the serve extra is not installed")
    from fastapi.testclient import TestClient

    monkeypatch.setattr("agentic_rag.agent.agent.resolve_chat_model", lambda spec, **kw: ReadingModel())
    served = {}
    monkeypatch.setattr("uvicorn.run", lambda app, **kwargs: served.update(app=app, **kwargs))
    args = ["serve", "--index", str(index), "--port", "8123", "--api-key", "k1", "--api-key", "k2", "--max-concurrent", "2"]
    result = runner.invoke(cli.app, args)
    assert result.exit_code == 0, result.output
    assert (served["host"], served["port"]) == ("127.0.0.1", 8123)
    assert served["timeout_graceful_shutdown"] == 5  # Ctrl-C does not wait for every open request
    assert served["app"].state.settings.api_keys == ("k1", "k2")
    assert served["app"].state.slots.max_concurrent == 2
    with TestClient(served["app"], base_url="http://127.0.0.1:8123") as client:
        body = {"model": "agentic-rag", "messages": [{"role": "user", "content": "Who owns orbit02?"}], "style": "short"}
        assert client.post("/v1/chat/completions", json=body).status_code == 401
        reply = client.post("/v1/chat/completions", json=body, headers={"Authorization": "Bearer k2"})
        assert reply.json()["choices"][0]["message"]["content"] == "Falcon02 [1]"


def test_serve_accepts_only_its_own_host_names(index, monkeypatch):
    pytest.importorskip("fastapi", reason="the serve extra is not installed")
    from fastapi.testclient import TestClient

    monkeypatch.setattr("agentic_rag.agent.agent.resolve_chat_model", lambda spec, **kw: ReadingModel())
    served = {}
    monkeypatch.setattr("uvicorn.run", lambda app, **kwargs: served.update(app=app))
    args = ["serve", "--index", str(index), "--host", "10.1.2.3", "--allowed-host", "rag.internal"]
    assert runner.invoke(cli.app, args).exit_code == 0
    with TestClient(served["app"]) as client:
        for host in ("localhost:8000", "127.0.0.1:8000", "[::1]:8000", "10.1.2.3:8000", "rag.internal", "RAG.internal:80"):
            assert client.get("/healthz", headers={"Host": host}).status_code == 200, host
        for host in ("evil.example", "evil.example:8000", "127.0.0.1.evil.example"):
            assert client.get("/healthz", headers={"Host": host}).status_code == 400, host  # DNS rebinding


def test_serve_on_every_interface_allows_any_host_and_warns_without_a_key(index, monkeypatch):
    pytest.importorskip("fastapi", reason="the serve extra is not installed")
    from fastapi.testclient import TestClient

    monkeypatch.setattr("agentic_rag.agent.agent.resolve_chat_model", lambda spec, **kw: ReadingModel())
    monkeypatch.delenv("AGENTIC_RAG_API_KEY", raising=False)
    served = {}
    monkeypatch.setattr("uvicorn.run", lambda app, **kwargs: served.update(app=app))
    result = runner.invoke(cli.app, ["serve", "--index", str(index), "--host", "0.0.0.0"])
    assert result.exit_code == 0 and "no API key" in result.stderr and "warning" in result.stderr
    with TestClient(served["app"]) as client:
        assert client.get("/healthz", headers={"Host": "rag.example.org"}).status_code == 200
    result = runner.invoke(cli.app, ["serve", "--index", str(index), "--host", "0.0.0.0", "--api-key", "k"])
    assert result.exit_code == 0 and "warning" not in result.stderr


def test_the_key_can_come_from_the_environment(index, monkeypatch):
    pytest.importorskip("fastapi", reason="the serve extra is not installed")
    monkeypatch.setattr("agentic_rag.agent.agent.resolve_chat_model", lambda spec, **kw: ReadingModel())
    served = {}
    monkeypatch.setattr("uvicorn.run", lambda app, **kwargs: served.update(app=app))
    monkeypatch.setenv("AGENTIC_RAG_API_KEY", "env-one, env-two")
    assert runner.invoke(cli.app, ["serve", "--index", str(index)]).exit_code == 0
    assert served["app"].state.settings.api_keys == ("env-one", "env-two")


def test_serve_without_the_extra_says_what_to_install(index, monkeypatch):
    monkeypatch.setitem(sys.modules, "fastapi", None)  # as if it were not installed
    result = runner.invoke(cli.app, ["serve", "--index", str(index)])
    assert result.exit_code == 1
    assert "pip install 'agentic-rag[serve]'" in result.stderr and "Traceback" not in result.output


def test_serve_without_an_index_is_one_line(tmp_path):
    pytest.importorskip("fastapi", reason="the serve extra is not installed")
    result = runner.invoke(cli.app, ["serve", "--index", str(tmp_path / "none")])
    assert result.exit_code == 1 and "no index at" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


OTHER_EMBEDDINGS = HashingEmbeddings(model_name="another-model")  # for --embeddings python:<this module>:OTHER_EMBEDDINGS


@pytest.mark.parametrize("command", ["serve", "mcp"])
def test_serve_and_mcp_search_with_the_embeddings_the_index_was_built_with(tmp_path, monkeypatch, command):
    pytest.importorskip("fastapi" if command == "serve" else "mcp", reason=f"the {command} extra is not installed")
    monkeypatch.setattr("agentic_rag.agent.agent.resolve_chat_model", lambda spec, **kw: ReadingModel())
    monkeypatch.delenv("AGENTIC_RAG_EMBEDDINGS", raising=False)
    folder = tmp_path / "docs"
    for source, text in documents()[:5]:
        (folder / source).parent.mkdir(parents=True, exist_ok=True)
        (folder / source).write_text(text)
    own = "python:agentic_rag.testing.fakes:HashingEmbeddings"
    built = runner.invoke(cli.app, ["index", str(folder), "--index", str(tmp_path / "idx"), "--embeddings", own])
    assert built.exit_code == 0, built.output
    served = {}
    monkeypatch.setattr("uvicorn.run", lambda app, **kwargs: served.update(app=app))
    monkeypatch.setattr("agentic_rag.serve.mcp.run_stdio", lambda server: served.update(app=server))

    other = f"python:{__name__}:OTHER_EMBEDDINGS"
    refused = runner.invoke(cli.app, [command, "--index", str(tmp_path / "idx"), "--embeddings", other])
    assert refused.exit_code == 1 and "built with embedding model 'hashing-test'" in refused.stderr and not served

    result = runner.invoke(cli.app, [command, "--index", str(tmp_path / "idx"), "--embeddings", own])
    assert result.exit_code == 0, result.output
    if command == "serve":
        from fastapi.testclient import TestClient

        with TestClient(served["app"], base_url="http://127.0.0.1:8000") as client:
            body = {"model": "agentic-rag", "messages": [{"role": "user", "content": "Who owns orbit02?"}], "style": "short"}
            assert client.post("/v1/chat/completions", json=body).json()["choices"][0]["message"]["content"] == "Falcon02 [1]"
    else:
        assert served["app"] is not None
