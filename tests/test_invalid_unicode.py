"""Text that cannot be encoded (a lone surrogate) is refused at every edge before any work is done."""

from __future__ import annotations

import pytest
from langchain_core.tools import StructuredTool
from langgraph.checkpoint.memory import InMemorySaver

from agentic_rag import Agent
from agentic_rag.agent.conversation import state_serializer
from agentic_rag.errors import ConfigurationError
from agentic_rag.testing import ScriptedChatModel
from tests.graphs.conftest import _search

BAD = "Who leads t\ud800he Harbor team?"


def agent() -> tuple[Agent, ScriptedChatModel]:
    model = ScriptedChatModel(script=[])
    tool = StructuredTool.from_function(_search, name="search_knowledge_base")
    return Agent(model, tools=[tool], checkpointer=InMemorySaver(serde=state_serializer())), model


@pytest.mark.parametrize("call", [
    lambda a: a.ask(BAD),
    lambda a: list(a.stream(BAD)),
    lambda a: a.research(BAD),
    lambda a: a.chat("Who leads Harbor?", thread_id="t\ud800"),
    lambda a: a.ask("Who leads Harbor?", settings={"instructions": "in \udc80 French"}),
])
def test_the_python_api_refuses_it_with_a_clear_error_and_no_model_call(call):
    chat, model = agent()
    with pytest.raises(ConfigurationError, match="Unicode"):
        call(chat)
    assert model.calls == []


def test_the_http_server_answers_400_and_runs_nothing():
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from agentic_rag.serve.app import create_app
    from agentic_rag.serve.settings import ServeSettings
    from tests.serve.http_world import ReadingModel, agent_factory, knowledge_base

    asked: list[str] = []
    app = create_app(agent_factory(ReadingModel(on_question=asked.append), knowledge_base()), ServeSettings())
    bodies = [
        ("/v1/chat/completions", '{"model": "agentic-rag", "messages": [{"role": "user", "content": "Who owns orbit\\ud80001?"}]}'),
        ("/v1/chat/completions", '{"model": "agentic-rag", "messages": [{"role": "system", "content": "x\\udfff"},'
                                 ' {"role": "user", "content": "Who owns orbit01?"}]}'),
        ("/v1/chat/completions", '{"model": "agentic-rag", "messages": [{"role": "user", "content": "Who owns orbit01?"},'
                                 ' {"role": "assistant", "content": "a\\ud800"}, {"role": "user", "content": "And?"}]}'),
        ("/v1/research", '{"question": "Who owns orbit\\ud80001?"}'),
    ]
    with TestClient(app, base_url="http://127.0.0.1") as client:
        for route, body in bodies:
            response = client.post(route, content=body, headers={"Content-Type": "application/json"})
            assert response.status_code in (400, 422), (route, body, response.text)
            assert response.json()["error"]["message"]
    assert asked == []


def test_the_command_line_gives_one_line(tmp_path, cli_index):
    from typer.testing import CliRunner

    from agentic_rag import cli

    for args in (["ask", "Who \udced leads?"], ["ask", "Who leads?", "--thread", "t\udced"]):
        result = CliRunner().invoke(cli.app, [*args, "--index", str(cli_index), "--threads-db", str(tmp_path / "t.db")])
        assert result.exit_code == 1 and "not valid Unicode" in result.stderr and "Traceback" not in result.stderr
