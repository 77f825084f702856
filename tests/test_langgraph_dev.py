"""The graphs under `langgraph dev` (LangGraph Studio's server), called with `langgraph-sdk` as Studio does."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from langgraph_sdk import get_sync_client

from agentic_rag.testing.service_world import knowledge_base

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory):
    """`langgraph dev` on 127.0.0.1 over the repository's graphs, with an instant reading model."""
    folder = tmp_path_factory.mktemp("langgraph-dev")
    knowledge_base().save(folder / "index")
    config = json.loads((ROOT / "langgraph.json").read_text())
    config["dependencies"] = [str(ROOT)]
    config["graphs"] = {name: str(ROOT / target.removeprefix("./")) for name, target in config["graphs"].items()}
    (folder / "langgraph.json").write_text(json.dumps(config))
    port = _free_port()
    environment = {
        **os.environ,
        "AGENTIC_RAG_INDEX": str(folder / "index"),
        "AGENTIC_RAG_MODEL": "python:agentic_rag.testing.service_world:ReadingModel",
        "AGENTIC_RAG_EMBEDDINGS": "python:agentic_rag.testing.fakes:HashingEmbeddings",
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
    }
    command = [shutil.which("langgraph", path=str(Path(sys.executable).parent)) or "langgraph", "dev",
               "--config", str(folder / "langgraph.json"), "--host", "127.0.0.1", "--port", str(port),
               "--no-browser", "--no-reload"]
    log = (folder / "server.log").open("w")
    server = subprocess.Popen(command, cwd=folder, env=environment, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, (folder / "server.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "langgraph dev did not start"
            try:
                if httpx.get(f"{url}/ok", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def test_studio_lists_both_graphs(dev_server):
    client = get_sync_client(url=dev_server)
    assert {a["graph_id"] for a in client.assistants.search()} == {"agentic", "traditional"}


def test_a_chat_thread_gets_the_answer_as_a_message_with_its_citations(dev_server):
    client = get_sync_client(url=dev_server)
    thread = client.threads.create()
    question = {"messages": [{"role": "human", "content": "Who owns orbit07?"}]}
    state = client.runs.wait(thread["thread_id"], "agentic", input=question)
    reply = state["messages"][-1]
    assert reply["type"] == "ai" and reply["content"] == "Falcon07 [1]"
    [citation] = reply["response_metadata"]["agentic_rag"]["citations"]
    assert citation["source"] == "services/orbit07.md" and citation["supported"]

    # the next turn on the same thread: the messages accumulate, the new answer comes last
    follow_up = {"messages": [{"role": "human", "content": "Who leads orbit03?"}]}
    state = client.runs.wait(thread["thread_id"], "agentic", input=follow_up)
    assert [m["type"] for m in state["messages"]] == ["human", "ai", "human", "ai"]
    assert state["messages"][-1]["content"] == "Avery03 [1]"


def test_a_question_input_and_a_streamed_run(dev_server):
    client = get_sync_client(url=dev_server)
    state = client.runs.wait(None, "traditional", input={"question": "Who owns orbit11?"})
    assert state["answer"]["text"] == "Falcon11 [1]"
    nodes = [list(chunk.data)[0] for chunk in client.runs.stream(
        None, "agentic", input={"question": "Who owns orbit12?"}, stream_mode="updates") if chunk.event == "updates"]
    assert nodes[0] == "start" and nodes[-1] == "answer"
