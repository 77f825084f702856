"""Search filters: from Python, the command line and the HTTP request, applied to every search of a run."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from agentic_rag import Agent, KnowledgeBase
from agentic_rag.errors import ConfigurationError
from agentic_rag.graphs.config import filters_from
from tests.fakes import HashingEmbeddings, ScriptedChatModel

QUESTION = "Who leads the Harbor team?"


def test_filter_options_become_a_mapping_and_a_repeated_key_matches_either_value():
    assert filters_from(None) is None and filters_from([]) is None
    assert filters_from(["source=teams/", "kind = team"]) == {"source": "teams/", "kind": "team"}
    assert filters_from(["source=teams/", "source=*.md"]) == {"source": ["teams/", "*.md"]}
    for bad in ("source", "=teams", "source="):
        with pytest.raises(ConfigurationError, match="a filter is key=value"):
            filters_from([bad])


def two_folder_kb() -> KnowledgeBase:
    kb = KnowledgeBase(HashingEmbeddings())
    kb.add_texts([("teams/harbor.md", "Ines Okafor leads the Harbor team."),
                  ("archive/harbor-2019.md", "In 2019 the Harbor team was led by Tom Reyes.")])
    return kb


def judge_and_answer() -> ScriptedChatModel:
    return ScriptedChatModel(script=[{"sources": [1], "answer": "Ines Okafor", "next_query": ""},
                                     {"answer": "Ines Okafor", "sources": [1]}])


@pytest.mark.parametrize("filters, expected", [
    (None, {"teams/harbor.md", "archive/harbor-2019.md"}),
    ({"source": "teams/"}, {"teams/harbor.md"}),
    ({"source": ["archive/*", "nowhere/"]}, {"archive/harbor-2019.md"}),
])
def test_a_runs_filters_restrict_every_search_of_the_knowledge_base(filters, expected):
    agent = Agent(judge_and_answer(), knowledge_base=two_folder_kb(), style="short")
    answer = agent.ask(QUESTION, settings={"filters": filters} if filters else None)
    found = {i.rsplit("#", 1)[0] for i in answer.evidence_ids}
    assert found == expected


def test_an_unknown_filter_key_on_the_knowledge_base_is_reported_not_ignored():
    agent = Agent(judge_and_answer(), knowledge_base=two_folder_kb(), style="short")
    answer = agent.ask(QUESTION, settings={"filters": {"colour": "blue"}})
    assert answer.exit_reason.value == "error" and "unknown search filter 'colour'" in answer.notice


def test_the_command_line_refuses_a_malformed_filter_before_any_work(cli_index):
    from agentic_rag import cli

    result = CliRunner().invoke(cli.app, ["ask", QUESTION, "--index", str(cli_index), "--filter", "teams"])
    assert result.exit_code == 1 and "a filter is key=value" in result.output


def test_an_http_request_carries_its_filters_into_the_run():
    pytest.importorskip("fastapi", reason="needs the `serve` extra")
    from agentic_rag.serve.openai_protocol import ChatCompletionRequest

    request = ChatCompletionRequest(model="agentic-rag", messages=[{"role": "user", "content": QUESTION}],
                                    filters={"source": "teams/"})
    assert request.run_settings()["filters"] == {"source": "teams/"}


@pytest.fixture
def two_folder_index(tmp_path, monkeypatch):
    two_folder_kb().save(tmp_path / "idx")
    monkeypatch.setattr("agentic_rag.tools.embeddings.default_embeddings", lambda *a, **k: HashingEmbeddings())
    monkeypatch.setattr("agentic_rag.agent.agent.resolve_chat_model", lambda spec, **kw: judge_and_answer())
    return tmp_path / "idx"


@pytest.mark.parametrize("filters, cited", [
    ([], "teams/harbor.md"),
    (["--filter", "source=archive/"], "archive/harbor-2019.md"),
])
def test_a_command_line_filter_restricts_what_the_answer_reads(two_folder_index, filters, cited):
    import json

    from agentic_rag import cli

    result = CliRunner().invoke(cli.app, ["ask", QUESTION, "--index", str(two_folder_index), "--json", *filters])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert [c["source"] for c in answer["citations"]] == [cited]
    if filters:
        assert all(i.startswith("archive/") for i in answer["evidence_ids"])


def test_a_filter_in_an_http_request_restricts_what_the_answer_reads(two_folder_index, monkeypatch):
    pytest.importorskip("fastapi", reason="needs the `serve` extra")
    from fastapi.testclient import TestClient

    from agentic_rag import cli

    served = {}
    monkeypatch.setattr("uvicorn.run", lambda app, **kwargs: served.update(app=app))
    assert CliRunner().invoke(cli.app, ["serve", "--index", str(two_folder_index)]).exit_code == 0
    body = {"model": "agentic-rag", "messages": [{"role": "user", "content": QUESTION}], "style": "short"}
    with TestClient(served["app"], base_url="http://127.0.0.1:8000") as client:
        for filters, cited in ((None, "teams/harbor.md"), ({"source": "archive/"}, "archive/harbor-2019.md")):
            reply = client.post("/v1/chat/completions", json={**body, **({"filters": filters} if filters else {})})
            assert reply.status_code == 200, reply.text
            assert [c["source"] for c in reply.json()["choices"][0]["message"]["citations"]] == [cited]
        refused = client.post("/v1/chat/completions", json={**body, "filters": {"colour": "blue"}})
        assert refused.json()["exit_reason"] == "error" and "unknown search filter 'colour'" in refused.json()["notice"]



def test_the_live_steps_endpoint_takes_the_same_filters_and_style(two_folder_index, monkeypatch):
    pytest.importorskip("fastapi", reason="needs the `serve` extra")
    from fastapi.testclient import TestClient

    from agentic_rag import cli

    replies = [{"sources": [1], "answer": "Ines Okafor", "next_query": ""}, {"answer": "Ines Okafor", "sources": [1]}]
    monkeypatch.setattr("agentic_rag.agent.agent.resolve_chat_model", lambda spec, **kw: ScriptedChatModel(script=replies * 5))
    served = {}
    monkeypatch.setattr("uvicorn.run", lambda app, **kwargs: served.update(app=app))
    assert CliRunner().invoke(cli.app, ["serve", "--index", str(two_folder_index)]).exit_code == 0
    with TestClient(served["app"], base_url="http://127.0.0.1:8000") as client:
        streamed = client.post("/v1/research", json={"question": QUESTION, "style": "short", "filters": {"source": "archive/"}})
        assert streamed.status_code == 200, streamed.text
        data = [line[len("data: "):] for line in streamed.text.splitlines() if line.startswith("data: ")]
        final = json.loads(data[-1])["answer"]
        assert [c["source"] for c in final["citations"]] == ["archive/harbor-2019.md"] and final["style"] == "short"
        bad = client.post("/v1/research", json={"question": QUESTION, "filters": {"source": 3}})
        assert bad.status_code == 422


def test_the_search_tool_takes_filters_as_an_argument():
    from agentic_rag import retrieval_tools

    search = retrieval_tools(two_folder_kb(), k=4)[0]
    found = search.invoke({"query": "Harbor team lead", "filters": {"source": "archive/"}})
    assert [e.source for e in found] == ["archive/harbor-2019.md"]
    assert "filters" in search.args
