"""MCP: the `agentic-rag mcp` server over stdio with a real client session, and MCP tools in the agent.

The server runs as a subprocess (`fake_mcp_server.py`: the real command with fake embeddings and a
fake reader model) over a three-file knowledge base built here.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio
import pytest
from langchain_core.tools import ToolException
from typer.testing import CliRunner

pytest.importorskip("mcp")
pytest.importorskip("langchain_mcp_adapters")

from mcp import ClientSession, StdioServerParameters  # noqa: E402
from mcp.client.stdio import stdio_client  # noqa: E402

from agentic_rag import Agent, cli  # noqa: E402
from agentic_rag.errors import ConfigurationError  # noqa: E402
from agentic_rag.tools.adapters import to_evidence  # noqa: E402
from agentic_rag.tools.knowledge_base import KnowledgeBase  # noqa: E402
from agentic_rag.tools.mcp import MCPToolset, mcp_output  # noqa: E402
from tests.fakes import HashingEmbeddings, ScriptedChatModel  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SERVER = Path(__file__).with_name("fake_mcp_server.py")

DOCS = {
    "services/relay.md": "# Relay\n\nThe Relay service sends shipment notifications. It is owned by the Harbor team.\n",
    "teams/harbor.md": "# Harbor team\n\nThe Harbor team is led by Ines Okafor. Harbor runs the messaging services.\n",
    "teams/atlas.md": "# Atlas\n\nThe Atlas team owns billing and invoices. It is led by Tomas Reyes.\n",
}


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("mcp")
    docs = root / "docs"
    for name, text in DOCS.items():
        (docs / name).parent.mkdir(parents=True, exist_ok=True)
        (docs / name).write_text(text)
    KnowledgeBase.from_paths([docs], HashingEmbeddings()).save(root / "index")
    return root / "index"


def _connection(index_dir: Path, *extra: str) -> dict:
    return {"command": sys.executable, "args": [str(SERVER), "--index", str(index_dir), *extra], "env": dict(os.environ), "cwd": str(REPO)}


def _text(result) -> str:
    return "\n".join(block.text for block in result.content if block.type == "text")


# -- the server, through the official client ---------------------------------------------------


def _in_session(index_dir: Path, work) -> tuple:
    """What ``await work(session)`` returns in one client session with the server, and the log lines it sent."""
    async def scenario():
        logs: list = []

        async def on_log(params):
            logs.append(params.data)

        async with stdio_client(StdioServerParameters(**_connection(index_dir))) as (read, write):
            async with ClientSession(read, write, logging_callback=on_log) as session:
                await session.initialize()
                return await work(session), logs

    return anyio.run(scenario)


def test_a_client_session_lists_and_calls_research_and_search(index_dir):
    async def work(session):
        tools = {t.name: t for t in (await session.list_tools()).tools}
        research = await session.call_tool("research", {"question": "Who leads the Harbor team?", "style": "short"})
        search = await session.call_tool("search", {"query": "shipment notifications", "k": 2})
        return tools, research, search

    (tools, research, search), logs = _in_session(index_dir, work)

    assert set(tools) == {"research", "search"}
    assert tools["research"].inputSchema["required"] == ["question"]
    assert tools["search"].inputSchema["properties"]["k"]["default"] == 4
    assert {"answer", "citations", "exit_reason"} <= set(tools["research"].outputSchema["properties"])

    assert not research.isError, _text(research)
    data = research.structuredContent
    assert data["answer"] == "Ines Okafor [1]"
    assert data["exit_reason"] == "answered"
    [citation] = data["citations"]
    assert (citation["marker"], citation["source"], citation["evidence_id"]) == (1, "teams/harbor.md", "teams/harbor.md#0")
    assert citation["quote"] == "The Harbor team is led by Ines Okafor."
    assert citation["supported"] is True
    text = _text(research)  # what the client's model reads
    assert text.startswith("Ines Okafor [1]")
    assert '[1] teams/harbor.md (teams/harbor.md#0): "The Harbor team is led by Ines Okafor."' in text
    assert text.endswith("exit reason: answered")
    assert any(line.startswith("search search_knowledge_base('Who leads the Harbor team?')") for line in logs), logs

    assert not search.isError, _text(search)
    passages = search.structuredContent["passages"]
    assert len(passages) == 2
    assert passages[0]["id"] == "services/relay.md#0" and passages[0]["source"] == "services/relay.md"
    assert "sends shipment notifications" in passages[0]["text"]


def _research_calls(index_dir: Path, *arguments: dict) -> tuple:
    """The results of ``research`` called with each of ``arguments`` in one session, and the log lines sent."""
    async def work(session):
        return [await session.call_tool("research", a) for a in arguments]

    return _in_session(index_dir, work)


def test_research_answers_in_detail_by_default_and_writes_a_report_when_asked(index_dir):
    (detailed, report), logs = _research_calls(
        index_dir, {"question": "Who leads the Harbor team?"},
        {"question": "who leads the Harbor team and who leads the Atlas team", "style": "report"})
    assert not detailed.isError and not report.isError, _text(report)
    # The claim is cited to the passage that holds it (re-attributed when the model's marker points elsewhere).
    answer = detailed.structuredContent["answer"]
    assert answer.startswith("Ines Okafor leads it [") and answer.endswith("].")
    marker = int(answer.rsplit("[", 1)[1].rstrip("]."))
    assert {c["marker"]: c["source"] for c in detailed.structuredContent["citations"]}[marker] == "teams/harbor.md"
    assert detailed.structuredContent["style"] == "detailed"
    assert [c["supported"] for c in detailed.structuredContent["claims"]] == [True]
    data = report.structuredContent
    assert data["style"] == "report" and data["answer"].startswith("# who leads the Harbor team and who leads the Atlas team")
    assert "## Who leads the harbor team?" in data["answer"] and "## Who leads the atlas team?" in data["answer"]
    assert {c["source"] for c in data["citations"]} == {"teams/harbor.md", "teams/atlas.md"}
    assert "plan: Who leads the harbor team?; Who leads the atlas team?" in logs
    assert any(line.startswith("[2] search ") for line in logs), logs


def test_a_failing_call_is_a_tool_error_and_the_server_goes_on(index_dir):
    connection = _connection(index_dir, "--graph", "traditional")
    connection["env"]["FAKE_MCP_NOISY"] = "1"  # stray writes to stdout must not reach the protocol

    garbage: list = []  # lines on the server's stdout that are not protocol messages

    async def on_message(message):
        if isinstance(message, Exception):
            garbage.append(message)

    async def scenario():
        async with stdio_client(StdioServerParameters(**connection)) as (read, write):
            async with ClientSession(read, write, message_handler=on_message) as session:
                await session.initialize()
                results = [
                    await session.call_tool("research", {"question": "   "}),
                    await session.call_tool("search", {"query": "billing", "k": 0}),
                    await session.call_tool("search", {"query": " "}),
                    await session.call_tool("research", {"question": "Who leads the team that owns billing?", "style": "short"}),
                ]
        return results

    empty_question, bad_k, blank_query, after = anyio.run(scenario)
    assert garbage == []
    assert empty_question.isError and "the question is empty" in _text(empty_question)
    assert bad_k.isError and "k" in _text(bad_k)
    assert blank_query.isError and "non-empty" in _text(blank_query)
    assert not after.isError, _text(after)
    assert after.structuredContent["answer"] == "Tomas Reyes [1]"
    assert after.structuredContent["citations"][0]["source"] == "teams/atlas.md"


# -- the command line, in process ----------------------------------------------------------------


def test_mcp_command_without_an_index_is_a_one_line_error(tmp_path):
    result = CliRunner().invoke(cli.app, ["mcp", "--index", str(tmp_path / "nowhere")])
    assert result.exit_code == 1
    assert "no index at" in result.stderr and result.stdout == ""


def test_mcp_command_says_which_extra_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "mcp", None)  # as if the extra were not installed
    result = CliRunner().invoke(cli.app, ["mcp", "--index", str(tmp_path)])
    assert result.exit_code == 1
    assert "pip install 'agentic-rag[mcp]'" in result.stderr


# -- MCP tools of another server, given to the agent --------------------------------------------


@pytest.fixture(scope="module")
def remote(index_dir):
    """The test server's `search` tool, through langchain-mcp-adapters, one session for the module."""
    with MCPToolset({"wiki": {"transport": "stdio", **_connection(index_dir)}}, include=["search"]) as tools:
        yield tools


def test_mcp_tools_work_synchronously_and_their_passages_become_evidence(remote):
    [search] = remote
    assert search.name == "search" and "k" in search.args and "knowledge base" in search.description
    output = search.invoke({"query": "Harbor team lead", "k": 1})
    evidence = to_evidence(output, search.name)
    assert [(e.id, e.source, e.tool) for e in evidence] == [("teams/harbor.md#0", "teams/harbor.md", "search")]
    assert "led by Ines Okafor" in evidence[0].text
    assert evidence[0].span is not None


def test_mcp_tools_work_from_an_event_loop_too(remote):
    [search] = remote
    output = anyio.run(lambda: search.ainvoke({"query": "billing invoices", "k": 1}))
    assert [e.id for e in to_evidence(output, "search")] == ["teams/atlas.md#0"]


def test_a_remote_tool_error_raises_tool_exception_and_the_session_stays_usable(remote):
    [search] = remote
    with pytest.raises(ToolException, match="k"):
        search.invoke({"query": "billing", "k": 0})
    assert search.invoke({"query": "billing", "k": 1})[0]["source"] == "teams/atlas.md"


def test_the_agent_calls_an_mcp_tool_and_cites_its_passages(remote):
    model = ScriptedChatModel(
        script=[
            {"searches": [{"tool": "search", "query": "Harbor team lead"}]},
            {"answer": "Ines Okafor", "sources": [1], "next_query": ""},
            {"answer": "Ines Okafor", "sources": [1]},
        ]
    )
    agent = Agent(model, tools=remote, style="short")
    answer = agent.ask("Who leads the Harbor team?")

    assert answer.text == "Ines Okafor [1]"
    [citation] = answer.citations
    assert (citation.evidence_id, citation.source) == ("teams/harbor.md#0", "teams/harbor.md")
    assert citation.quote == "The Harbor team is led by Ines Okafor." and citation.supported
    [search_step] = [s for s in answer.steps if s.kind == "search"]
    assert search_step.detail["tool"] == "search" and "error" not in search_step.detail
    assert "teams/harbor.md#0" in search_step.detail["found"]
    assert "search: " in model.prompts()[0]  # the planner saw the MCP tool's name
    # The judge read it, under its breadcrumb and without the Markdown heading.
    assert "[1] (Harbor team) The Harbor team is led by Ines Okafor." in model.prompts()[1]


def test_ask_with_mcp_server_gives_the_agent_that_servers_tools(index_dir, monkeypatch):
    import json
    import shlex

    monkeypatch.setattr("agentic_rag.tools.embeddings.default_embeddings", lambda *a, **k: HashingEmbeddings())
    model = ScriptedChatModel(
        script=[
            {"searches": [{"tool": "search", "query": "Harbor team lead"}]},
            {"answer": "Ines Okafor", "sources": [1], "next_query": ""},
            {"answer": "Ines Okafor", "sources": [1]},
        ]
    )
    monkeypatch.setattr("agentic_rag.agent.agent.resolve_chat_model", lambda spec, **kw: model)
    closers: list = []  # the command keeps the session until exit; this test closes it itself
    monkeypatch.setattr("agentic_rag.tools.mcp.atexit.register", closers.append)
    server = shlex.join([sys.executable, str(SERVER), "--index", str(index_dir)])
    args = ["ask", "--style", "short", "Who leads the Harbor team?", "--index", str(index_dir), "--mcp-server", server, "--json"]
    try:
        result = CliRunner().invoke(cli.app, args)
    finally:
        for close in closers:
            close()
    assert len(closers) == 1
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["answer"] == "Ines Okafor [1]"
    assert data["citations"][0]["source"] == "teams/harbor.md"
    assert [s["detail"]["tool"] for s in data["steps"] if s["kind"] == "search"] == ["search"]
    assert "- research: " not in model.prompts()[0]  # only tools that take a query are offered to the planner


def test_an_mcp_server_that_cannot_start_is_a_configuration_error():
    broken = {"transport": "stdio", "command": sys.executable, "args": ["-c", "import sys; sys.exit(3)"]}
    with pytest.raises(ConfigurationError, match="could not connect to MCP server"):
        MCPToolset({"broken": broken}, connect_timeout=30).open()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table in /proc")
def test_a_server_that_never_answers_is_stopped_when_the_connection_times_out(tmp_path):
    import time

    pid_file = tmp_path / "pid"
    mute = {"transport": "stdio", "command": sys.executable,
            "args": ["-c", f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60)"]}
    started = time.monotonic()
    with pytest.raises(ConfigurationError, match="did not answer within 1 s"):
        MCPToolset({"mute": mute}, connect_timeout=1).open()
    took = time.monotonic() - started
    pid = int(pid_file.read_text())
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except FileNotFoundError:
        state = "gone"
    if state not in ("gone", "Z"):
        os.kill(pid, 9)
    assert state in ("gone", "Z"), "the server process outlived the toolset"
    # A session that never opened is cancelled at once; waiting for it to close would add 10 s on
    # top of the 1 s timeout. The bound sits between the two, leaving 9 s for a slow machine.
    assert took < 10.5


# -- mcp_output ------------------------------------------------------------------------------


def test_mcp_output_prefers_structured_content_and_unwraps_envelopes():
    passages = [{"id": "a#0", "source": "a", "text": "alpha"}]
    assert mcp_output([], {"structured_content": {"query": "q", "passages": passages}}) == passages
    assert mcp_output([], {"structured_content": {"result": passages}}) == passages
    assert mcp_output([{"type": "text", "text": '{"id": "b#1", "source": "b", "text": "beta"}'}]) == {"id": "b#1", "source": "b", "text": "beta"}
    assert mcp_output([{"type": "text", "text": "plain words"}, {"type": "text", "text": "more"}]) == ["plain words", "more"]
    assert mcp_output("just text") == "just text"
    evidence = to_evidence(mcp_output([{"type": "text", "text": "plain words"}]), "lookup")
    assert evidence[0].source == "lookup" and evidence[0].id.startswith("lookup:")


def test_oversized_input_is_refused_and_a_tools_base_exception_ends_only_that_call():
    from mcp.shared.memory import create_connected_server_and_client_session

    from agentic_rag.serve.mcp import build_server

    class Stop(BaseException):
        """Raised by a badly written tool."""

    def stops(query: str) -> str:
        """Look up a query."""
        raise Stop("the tool gave up")

    kb = KnowledgeBase(HashingEmbeddings())
    kb.add_texts([("teams/harbor.md", "The Harbor team is led by Ines Okafor.")])
    plan = {"searches": [{"tool": "stops", "query": "Harbor lead"}]}
    agent = Agent(ScriptedChatModel(script=[plan] * 5), tools=[stops], style="short")
    server = build_server(agent, kb, max_question_chars=100)

    async def scenario():
        async with create_connected_server_and_client_session(server._mcp_server) as session:
            return [
                await session.call_tool("research", {"question": "x" * 101}),
                await session.call_tool("search", {"query": "x" * 101}),
                await session.call_tool("research", {"question": "Who leads Harbor?"}),
                await session.call_tool("search", {"query": "Harbor lead", "k": 1}),
            ]

    long_question, long_query, stopped, after = anyio.run(scenario)
    assert long_question.isError and "longer than 100 characters" in _text(long_question)
    assert long_query.isError and "longer than 100 characters" in _text(long_query)
    assert stopped.isError and "Stop" in _text(stopped)
    assert not after.isError and after.structuredContent["passages"][0]["source"] == "teams/harbor.md"
