"""The command line and chat threads on a real Postgres: index and ask with --store, threads any process continues."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentic_rag import cli
from tests.fakes import HashingEmbeddings, ScriptedChatModel


@pytest.fixture
def fake_models(monkeypatch):
    monkeypatch.setattr("agentic_rag.tools.embeddings.default_embeddings", lambda *a, **k: HashingEmbeddings())
    script = [{"sources": [1], "answer": "Ines Okafor", "next_query": ""}, {"answer": "Ines Okafor", "sources": [1]}]
    monkeypatch.setattr("agentic_rag.agent.agent.resolve_chat_model", lambda spec, **kw: ScriptedChatModel(script=list(script)))


def test_index_then_ask_against_a_postgres_store(postgres_url, tmp_path, fake_models):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "harbor.md").write_text("Ines Okafor leads the Harbor team.\n", encoding="utf-8")
    runner = CliRunner()
    indexed = runner.invoke(cli.app, ["index", str(docs), "--store", postgres_url])
    assert indexed.exit_code == 0, indexed.output
    assert "indexed 1 new" in indexed.output and "postgresql://" in indexed.output
    again = runner.invoke(cli.app, ["index", str(docs), "--store", postgres_url])
    assert "0 new, 0 changed, 0 removed, 1 unchanged" in again.output
    asked = runner.invoke(cli.app, ["ask", "Who leads the Harbor team?", "--store", postgres_url, "--json", "--style", "short"])
    assert asked.exit_code == 0, asked.output
    data = json.loads(asked.stdout)
    assert "Ines Okafor" in data["answer"] and data["citations"][0]["source"] == "harbor.md"


def test_index_needs_exactly_one_of_a_directory_and_a_store(tmp_path):
    (tmp_path / "a.md").write_text("text\n", encoding="utf-8")
    result = CliRunner().invoke(cli.app, ["index", str(tmp_path / "a.md")])
    assert result.exit_code == 1 and "--index DIR) or a Postgres store (--store URL)" in result.output


def test_a_thread_started_by_one_worker_is_continued_by_another(postgres_url):
    from agentic_rag import Agent
    from agentic_rag.agent.conversation import postgres_checkpointer
    from agentic_rag.tools.postgres_store import PostgresKnowledgeBase

    def worker(script):
        kb = PostgresKnowledgeBase(postgres_url, HashingEmbeddings())
        return kb, Agent(ScriptedChatModel(script=script), knowledge_base=kb, style="short",
                         checkpointer=postgres_checkpointer(postgres_url))

    kb, first = worker([{"sources": [1], "answer": "Harbor", "next_query": ""}, {"answer": "Harbor", "sources": [1]}])
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "relay.md").write_text("The Relay service is owned by the Harbor team.\n", encoding="utf-8")
        (Path(folder) / "harbor.md").write_text("Ines Okafor leads the Harbor team.\n", encoding="utf-8")
        kb.index_paths([folder])
    first.chat("Which team owns the Relay service?", thread_id="shared")

    _, second = worker(["Who leads the Harbor team?", {"sources": [1], "answer": "Ines Okafor", "next_query": ""},
                        {"answer": "Ines Okafor", "sources": [1]}])
    follow_up = second.chat("Who leads it?", thread_id="shared")
    assert follow_up.question == "Who leads the Harbor team?"  # rewritten from the first worker's turn
    assert [t["message"] for t in second.history("shared")] == ["Which team owns the Relay service?", "Who leads it?"]


def test_a_threads_store_that_cannot_be_reached_is_a_clear_error():
    from agentic_rag.agent.conversation import postgres_checkpointer
    from agentic_rag.errors import ThreadStoreError

    with pytest.raises(ThreadStoreError, match=r"the threads store postgresql://u:\*\*\*@127.0.0.1:9/db cannot be used"):
        postgres_checkpointer("postgresql://u:pw@127.0.0.1:9/db", connect_timeout=2)


def test_one_turn_at_a_time_holds_across_server_processes_sharing_postgres(postgres_url):
    from agentic_rag.serve.threads import PostgresTurnClaims, TurnClaims, turn_claims_for

    worker_a, worker_b = turn_claims_for(postgres_url), turn_claims_for(postgres_url)
    assert isinstance(worker_a, PostgresTurnClaims) and isinstance(turn_claims_for("threads.sqlite"), TurnClaims)
    assert worker_a.claim("key:conv-1")
    assert not worker_b.claim("key:conv-1") and not worker_a.claim("key:conv-1")  # busy everywhere
    assert worker_b.claim("key:conv-2")  # another conversation is free
    worker_a.release("key:conv-1")
    assert worker_b.claim("key:conv-1") and len(worker_b) == 2
    worker_b.release("key:conv-1")
    worker_b.release("key:conv-2")
    assert len(worker_b) == 0


def test_the_mcp_server_searches_a_postgres_store(postgres_url, tmp_path, fake_models):
    pytest.importorskip("mcp", reason="needs the `mcp` extra")
    import asyncio

    from rich.console import Console

    from agentic_rag.serve.mcp_command import _build
    from agentic_rag.tools.postgres_store import PostgresKnowledgeBase

    (tmp_path / "harbor.md").write_text("Ines Okafor leads the Harbor team.\n", encoding="utf-8")
    kb = PostgresKnowledgeBase(postgres_url, HashingEmbeddings())
    kb.index_paths([tmp_path])
    kb.close()
    server = _build((None, postgres_url, None), None, None, None, Console(stderr=True))
    result = asyncio.run(server.call_tool("search", {"query": "Harbor team lead"}))
    assert "harbor.md" in json.dumps(result, default=str)


def test_a_conversation_started_on_one_server_process_is_continued_on_another(postgres_url, tmp_path):
    """Two real `agentic-rag serve` processes on two ports, one Postgres for the documents and the threads."""
    openai = pytest.importorskip("openai", reason="needs the `test` extra")
    pytest.importorskip("fastapi", reason="needs the `serve` extra")
    import os
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path

    import httpx

    from agentic_rag.tools.postgres_store import PostgresKnowledgeBase

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "relay.md").write_text("The Relay service is owned by the Harbor team.\n", encoding="utf-8")
    (tmp_path / "docs" / "harbor.md").write_text("Ines Okafor leads the Harbor team.\n", encoding="utf-8")
    kb = PostgresKnowledgeBase(postgres_url, HashingEmbeddings())
    kb.index_paths([tmp_path / "docs"])
    kb.close()

    def free_port() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    def serve(script: list) -> tuple[subprocess.Popen, str]:
        port = free_port()
        env = {**os.environ, "FAKE_CLI_SCRIPT": json.dumps(script), "FAKE_CLI_CALLS": str(tmp_path / f"calls-{port}")}
        launcher = Path(__file__).parent / "fake_cli.py"
        process = subprocess.Popen(
            [sys.executable, str(launcher), "serve", "--store", postgres_url, "--port", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(process.stderr.read().decode())
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    return process, url
            except httpx.HTTPError:
                time.sleep(0.3)
        process.kill()
        raise AssertionError("the server did not start")

    first, first_url = serve([{"sources": [1], "answer": "Harbor", "next_query": ""}, "The Harbor team owns it [1].",
                              "The Harbor team owns it [1]."])
    second, second_url = serve(["Who leads the Harbor team?", {"sources": [1], "answer": "Ines Okafor", "next_query": ""},
                                "Ines Okafor leads the Harbor team [1].", "Ines Okafor leads the Harbor team [1]."])
    try:
        ask = lambda url, text: openai.OpenAI(base_url=f"{url}/v1", api_key="unused", timeout=60).chat.completions.create(
            model="agentic-rag", messages=[{"role": "user", "content": text}], extra_body={"conversation_id": "shared"})
        opening = ask(first_url, "Which team owns the Relay service?")
        assert "Harbor" in opening.choices[0].message.content
        follow_up = ask(second_url, "Who leads it?")
        assert follow_up.model_extra["question"] == "Who leads the Harbor team?"  # from the first process's turn
        assert "Ines Okafor" in follow_up.choices[0].message.content
        assert follow_up.choices[0].message.model_extra["citations"][0]["source"] == "harbor.md"
    finally:
        for process in (first, second):
            process.terminate()
            process.wait(timeout=30)


def test_serve_with_two_workers_shares_one_postgres_for_documents_and_conversations(postgres_url, tmp_path, monkeypatch):
    """`agentic-rag serve --workers 2`: two worker processes on one port; every answer right, a conversation kept."""
    pytest.importorskip("fastapi", reason="needs the `serve` extra")
    import os
    import shutil
    import socket
    import subprocess
    import sys
    import time
    from concurrent.futures import ThreadPoolExecutor
    from pathlib import Path

    import httpx

    from agentic_rag.testing import service_world

    docs = tmp_path / "docs"
    for source, text in service_world.documents():
        (docs / source).parent.mkdir(parents=True, exist_ok=True)
        (docs / source).write_text(text + "\n", encoding="utf-8")
    embeddings = "python:agentic_rag.testing.fakes:HashingEmbeddings"
    monkeypatch.setenv("AGENTIC_RAG_EMBEDDINGS", embeddings)
    indexed = CliRunner().invoke(cli.app, ["index", str(docs), "--store", postgres_url])
    assert indexed.exit_code == 0, indexed.output

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = shutil.which("agentic-rag", path=str(Path(sys.executable).parent)) or shutil.which("agentic-rag")
    assert command, "the agentic-rag command is installed with the package"
    log = tmp_path / "server.log"  # a file, not a pipe: a pipe nobody reads can stall a chatty server
    server = subprocess.Popen(
        [command, "serve", "--store", postgres_url, "--port", str(port), "--workers", "2",
         "--model", "python:agentic_rag.testing.service_world:WritingModel"],
        env={**os.environ, "AGENTIC_RAG_EMBEDDINGS": embeddings}, stdout=subprocess.DEVNULL, stderr=log.open("wb"),
        start_new_session=True)  # its own process group: a stuck worker is killed with the server
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300  # two processes importing the stack on a loaded 2-core machine
        while True:
            assert server.poll() is None, log.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, f"the server did not start: {log.read_text(errors='replace')[-3000:]}"
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        children = [p for p in Path("/proc").glob("[0-9]*")
                    if (p / "stat").exists() and _parent_pid(p) == server.pid]
        assert len(children) >= 2, "two worker processes under the server"

        def ask(n: int, conversation: str | None = None, text: str | None = None) -> dict:
            body = {"model": "agentic-rag", "messages": [{"role": "user", "content": text or f"Who owns orbit{n:02d}?"}]}
            if conversation:
                body["conversation_id"] = conversation
            response = httpx.post(f"{url}/v1/chat/completions", json=body, timeout=60)
            assert response.status_code == 200, response.text
            return response.json()

        with ThreadPoolExecutor(8) as pool:
            replies = list(pool.map(ask, range(16)))
        for n, reply in enumerate(replies):
            assert f"Falcon{n:02d}" in reply["choices"][0]["message"]["content"]
        for turn in range(3):  # each turn may land on either worker; the thread lives in Postgres
            ask(5, conversation="kept", text="Who owns orbit05?" if turn == 0 else "And who leads it?")
        last = ask(5, conversation="kept", text="And who leads it?")
        assert last["question"] == "who leads orbit05?" and "Avery05" in last["choices"][0]["message"]["content"]
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            import signal

            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)
            raise AssertionError(f"the server did not stop within 30 s: {log.read_text(errors='replace')[-3000:]}") from None


def _parent_pid(proc: Path) -> int:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return -1


def test_serve_refuses_workers_without_postgres_threads(tmp_path):
    result = CliRunner().invoke(cli.app, ["serve", "--index", str(tmp_path), "--workers", "2"])
    assert result.exit_code == 1 and "--workers above 1 needs conversations in Postgres" in result.output
