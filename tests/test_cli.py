"""The command line on fakes: index, ask --json, live steps, and one-line errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from agentic_rag import cli
from tests.fakes import HashingEmbeddings, ScriptedChatModel

runner = CliRunner()


@pytest.fixture
def docs(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "relay.md").write_text("# Relay\n\nThe Relay service sends shipment notifications. It is owned by the Harbor team.\n")
    (folder / "harbor.md").write_text("# Harbor\n\nThe Harbor team is led by Ines Okafor.\n")
    (folder / "blob.bin").write_bytes(b"\x00\x01\x02" * 50)
    return folder


@pytest.fixture
def fake_world(monkeypatch):
    """Fake embeddings for index/ask and a scripted model for ask."""
    monkeypatch.setattr("agentic_rag.tools.embeddings.default_embeddings", lambda *a, **k: HashingEmbeddings())
    model = ScriptedChatModel(
        script=[
            {"sources": [1], "answer": "", "next_query": "Harbor team lead"},
            {"sources": [2, 1], "answer": "Ines Okafor", "next_query": ""},
            {"answer": "Ines Okafor", "sources": [2, 1]},
        ]
    )
    monkeypatch.setattr("agentic_rag.agent.agent.resolve_chat_model", lambda spec, **kw: model)
    return model


def test_index_reports_and_skips_bad_files(docs, tmp_path, fake_world):
    result = runner.invoke(cli.app, ["index", str(docs), "--index", str(tmp_path / "idx")])
    assert result.exit_code == 0, result.output
    assert "2 new" in result.stdout
    assert "blob.bin" in result.stderr
    again = runner.invoke(cli.app, ["index", str(docs), "--index", str(tmp_path / "idx")])
    assert "0 new, 0 changed, 0 removed, 2 unchanged" in again.stdout


def test_ask_json_has_the_documented_keys(docs, tmp_path, fake_world):
    runner.invoke(cli.app, ["index", str(docs), "--index", str(tmp_path / "idx")])
    result = runner.invoke(cli.app, ["ask", "--style", "short", "Who leads the team that owns Relay?", "--index", str(tmp_path / "idx"), "--k", "1", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"answer", "citations", "exit_reason", "usage", "steps"} <= data.keys()
    assert data["answer"] == "Ines Okafor [1][2]"
    assert data["exit_reason"] == "answered"
    assert [c["evidence_id"] for c in data["citations"]] == ["harbor.md#0", "relay.md#0"]
    for citation in data["citations"]:
        assert {"marker", "evidence_id", "source", "quote"} <= citation.keys()
        assert citation["quote"] in (docs / citation["source"]).read_text()
    assert {"llm_calls", "prompt_tokens", "completion_tokens", "tool_calls", "seconds"} <= data["usage"].keys()
    assert data["usage"]["llm_calls"] == 3  # two judge calls and the answer


@pytest.mark.parametrize(("mode", "calls"), [("wording", 1), ("passages", 2), ("off", 2)])
def test_ask_adaptive_chooses_when_the_first_answer_stands(docs, tmp_path, monkeypatch, mode, calls):
    monkeypatch.setattr("agentic_rag.tools.embeddings.default_embeddings", lambda *a, **k: HashingEmbeddings())
    # a one-hop question worded unlike its passage: only the wording check lets the judge's answer stand
    judge = {"sources": [1], "answer": "the Harbor team", "next_query": "Harbor team members"}
    model = ScriptedChatModel(script=[judge, {"answer": "the Harbor team", "sources": [1]}])
    monkeypatch.setattr("agentic_rag.agent.agent.resolve_chat_model", lambda spec, **kw: model)
    runner.invoke(cli.app, ["index", str(docs), "--index", str(tmp_path / "idx")])
    args = ["ask", "--style", "short", "Which group is responsible for Relay?", "--index", str(tmp_path / "idx"), "--k", "1", "--json"]
    result = runner.invoke(cli.app, [*args, "--adaptive", mode, "--max-rounds", "1"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["answer"] == "the Harbor team [1]" and data["usage"]["llm_calls"] == calls


def test_ask_refuses_an_unknown_adaptive_mode(docs, tmp_path, fake_world):
    result = runner.invoke(cli.app, ["ask", "--style", "short", "Who owns Relay?", "--index", str(tmp_path / "idx"), "--adaptive", "maybe"])
    assert result.exit_code == 1 and "unknown adaptive mode 'maybe'" in result.stderr


def test_ask_shows_steps_live_then_sources(docs, tmp_path, fake_world):
    runner.invoke(cli.app, ["index", str(docs), "--index", str(tmp_path / "idx")])
    result = runner.invoke(cli.app, ["ask", "--style", "short", "Who leads the team that owns Relay?", "--index", str(tmp_path / "idx"), "--k", "1"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.index("plan") < out.index("search") < out.index("judge") < out.index("refine") < out.index("Sources")
    assert "Ines Okafor" in out and "[1] harbor.md#0" in out


def test_ask_writes_a_trace_with_queries_evidence_and_each_model_call(docs, tmp_path, fake_world):
    runner.invoke(cli.app, ["index", str(docs), "--index", str(tmp_path / "idx")])
    trace_file = tmp_path / "run.json"
    args = ["ask", "--style", "short", "Who leads the team that owns Relay?", "--index", str(tmp_path / "idx"), "--k", "1", "--trace", str(trace_file)]
    result = runner.invoke(cli.app, args)
    assert result.exit_code == 0, result.output
    trace = json.loads(trace_file.read_text())
    assert trace["answer"] == "Ines Okafor [1][2]"
    assert [q["query"] for q in trace["queries"]] == ["Who leads the team that owns Relay?", "Harbor team lead"]
    assert all(q["found"] and q["seconds"] >= 0 for q in trace["queries"])
    assert set(trace["evidence_ids"]) == {"harbor.md#0", "relay.md#0"}
    assert [c["kind"] for c in trace["llm_calls"]] == ["judge", "judge", "answer"]
    assert all({"prompt_tokens", "completion_tokens", "seconds"} <= c.keys() for c in trace["llm_calls"])
    assert sum(c["llm_calls"] for c in trace["llm_calls"]) == trace["usage"]["llm_calls"]
    assert not list(tmp_path.glob("*.part"))


def test_ask_with_too_few_llm_calls_ends_with_the_budget_exit_reason(docs, tmp_path, monkeypatch):
    monkeypatch.setattr("agentic_rag.tools.embeddings.default_embeddings", lambda *a, **k: HashingEmbeddings())
    model = ScriptedChatModel(
        script=[{"sources": [1], "answer": "", "next_query": "Harbor team lead"}, {"answer": "Harbor", "sources": [1]}]
    )
    monkeypatch.setattr("agentic_rag.agent.agent.resolve_chat_model", lambda spec, **kw: model)
    runner.invoke(cli.app, ["index", str(docs), "--index", str(tmp_path / "idx")])
    args = ["ask", "--style", "short", "Who leads the team that owns Relay?", "--index", str(tmp_path / "idx"), "--k", "1", "--max-llm-calls", "2", "--json"]
    result = runner.invoke(cli.app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["exit_reason"] == "budget_llm_calls" and data["usage"]["llm_calls"] == 2
    assert data["answer"].startswith("Harbor") and "budget_llm_calls" in data["notice"]


def test_a_trace_into_a_missing_directory_fails_before_the_run(docs, tmp_path, fake_world):
    runner.invoke(cli.app, ["index", str(docs), "--index", str(tmp_path / "idx")])
    result = runner.invoke(cli.app, ["ask", "--style", "short", "Who?", "--index", str(tmp_path / "idx"), "--trace", str(tmp_path / "no" / "t.json")])
    assert result.exit_code == 1 and "cannot write the trace" in result.stderr
    assert fake_world.calls == []


def test_ask_in_a_thread_killed_half_way_then_resumed(docs, tmp_path, monkeypatch):
    class Killed(BaseException):
        pass

    monkeypatch.setattr("agentic_rag.tools.embeddings.default_embeddings", lambda *a, **k: HashingEmbeddings())
    runner.invoke(cli.app, ["index", str(docs), "--index", str(tmp_path / "idx")])
    crashing = ScriptedChatModel(script=[{"sources": [1], "answer": "", "next_query": "Harbor team lead"}, Killed()])
    monkeypatch.setattr("agentic_rag.agent.agent.resolve_chat_model", lambda spec, **kw: crashing)
    common = ["--index", str(tmp_path / "idx"), "--k", "1", "--thread", "T", "--threads-db", str(tmp_path / "t.sqlite")]
    with pytest.raises(Killed):
        runner.invoke(cli.app, ["ask", "--style", "short", "Who leads the team that owns Relay?", *common])

    finishing = ScriptedChatModel(script=[{"sources": [2, 1], "answer": "Ines Okafor", "next_query": ""},
                                          {"answer": "Ines Okafor", "sources": [2, 1]}])
    monkeypatch.setattr("agentic_rag.agent.agent.resolve_chat_model", lambda spec, **kw: finishing)
    result = runner.invoke(cli.app, ["ask", "--style", "short", "--resume", *common, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["answer"] == "Ines Okafor [1][2]" and data["exit_reason"] == "answered"
    assert len(finishing.calls) == 2  # the first round was not redone
    again = runner.invoke(cli.app, ["ask", "--style", "short", "--resume", *common])
    assert again.exit_code == 1 and "no unfinished run" in again.stderr


def test_killing_the_ask_process_mid_run_then_resuming_finishes_it(docs, tmp_path):
    """A real process killed with SIGKILL while the model works; a new process resumes the thread."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    launcher = Path(__file__).parent / "fake_cli.py"
    calls = tmp_path / "calls.txt"
    first_round = {"sources": [1], "answer": "", "next_query": "Harbor team lead"}

    def command(script, *args):
        env = {**os.environ, "FAKE_CLI_SCRIPT": json.dumps(script), "FAKE_CLI_CALLS": str(calls)}
        return [sys.executable, str(launcher), *args], env

    args, env = command([], "index", str(docs), "--index", str(tmp_path / "idx"))
    subprocess.run(args, env=env, check=True, capture_output=True, timeout=120)
    common = ["--index", str(tmp_path / "idx"), "--k", "1", "--thread", "T", "--threads-db", str(tmp_path / "t.sqlite")]
    args, env = command([first_round, "HANG"], "ask", "--style", "short", "Who leads the team that owns Relay?", *common)
    process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while (not calls.exists() or len(calls.read_text().splitlines()) < 2) and time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    assert len(calls.read_text().splitlines()) == 2  # the first judge answered; the second call hangs
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL

    calls.unlink()
    finish = [{"sources": [2, 1], "answer": "Ines Okafor", "next_query": ""}, {"answer": "Ines Okafor", "sources": [2, 1]}]
    args, env = command(finish, "ask", "--style", "short", "--resume", *common, "--json")
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["answer"] == "Ines Okafor [1][2]" and data["exit_reason"] == "answered"
    assert len(calls.read_text().splitlines()) == 2  # only what was left: the first round was not redone
    assert data["usage"]["tool_calls"] == 2 and [s["kind"] for s in data["steps"]].count("search") == 2


def test_chat_keeps_the_thread_and_rewrites_follow_ups(docs, tmp_path, monkeypatch):
    monkeypatch.setattr("agentic_rag.tools.embeddings.default_embeddings", lambda *a, **k: HashingEmbeddings())
    runner.invoke(cli.app, ["index", str(docs), "--index", str(tmp_path / "idx")])
    model = ScriptedChatModel(script=[
        # both questions look single-hop, so each judge's cited answer is the final one
        {"sources": [1], "answer": "the Harbor team", "next_query": ""},
        "Who leads the Harbor team?",
        {"sources": [1], "answer": "Ines Okafor", "next_query": ""},
    ])
    monkeypatch.setattr("agentic_rag.agent.agent.resolve_chat_model", lambda spec, **kw: model)
    args = ["chat", "--style", "short", "--index", str(tmp_path / "idx"), "--k", "1", "--thread", "c1", "--threads-db", str(tmp_path / "t.sqlite")]
    result = runner.invoke(cli.app, args, input="Which team owns Relay?\nand who leads it?\nexit\n")
    assert result.exit_code == 0, result.output
    assert "the Harbor team [1]" in result.stdout and "Ines Okafor [1]" in result.stdout
    assert "asked as: Who leads the Harbor team?" in result.stdout
    assert result.stdout.index("search") < result.stdout.index("judge")
    again = runner.invoke(cli.app, args, input="exit\n")
    assert "2 earlier turns" in again.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ask", "Who?", "--index", "{tmp}/nowhere"], "no index at"),
        (["ask", "   ", "--index", "{tmp}/idx"], "question is empty"),
        (["ask", "Who?", "--index", "{tmp}/idx", "--graph", "circular"], "unknown graph"),
        (["ask", "Who?", "--index", "{tmp}/idx", "--model", "local:no-such-model"], "no-such-model"),
        (["ask", "--resume", "--index", "{tmp}/idx"], "--resume needs --thread"),
    ],
)
def test_errors_are_one_line_and_exit_1(docs, tmp_path, monkeypatch, args, message):
    monkeypatch.setattr("agentic_rag.tools.embeddings.default_embeddings", lambda *a, **k: HashingEmbeddings())
    runner.invoke(cli.app, ["index", str(docs), "--index", str(tmp_path / "idx")])
    result = runner.invoke(cli.app, [a.format(tmp=tmp_path) for a in args])
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


def test_index_with_other_embeddings_is_a_clear_error(docs, tmp_path, monkeypatch):
    monkeypatch.setattr("agentic_rag.tools.embeddings.default_embeddings", lambda *a, **k: HashingEmbeddings())
    runner.invoke(cli.app, ["index", str(docs), "--index", str(tmp_path / "idx")])
    monkeypatch.setattr(
        "agentic_rag.tools.embeddings.default_embeddings", lambda *a, **k: HashingEmbeddings(dim=32, model_name="other")
    )
    result = runner.invoke(cli.app, ["ask", "Who?", "--index", str(tmp_path / "idx")])
    assert result.exit_code == 1
    assert "hashing-test" in result.stderr


def test_bad_environment_setting_is_one_line(docs, tmp_path, monkeypatch):
    monkeypatch.setattr("agentic_rag.tools.embeddings.default_embeddings", lambda *a, **k: HashingEmbeddings())
    runner.invoke(cli.app, ["index", str(docs), "--index", str(tmp_path / "idx")])
    monkeypatch.setenv("AGENTIC_RAG_K", "lots")
    result = runner.invoke(cli.app, ["ask", "Who?", "--index", str(tmp_path / "idx")])
    assert result.exit_code == 1
    assert "AGENTIC_RAG_K" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_environment_default_graph_is_used(docs, tmp_path, monkeypatch):
    monkeypatch.setattr("agentic_rag.tools.embeddings.default_embeddings", lambda *a, **k: HashingEmbeddings())
    model = ScriptedChatModel(script=["Harbor owns Relay [1]."])
    monkeypatch.setattr("agentic_rag.agent.agent.resolve_chat_model", lambda spec, **kw: model)
    runner.invoke(cli.app, ["index", str(docs), "--index", str(tmp_path / "idx")])
    monkeypatch.setenv("AGENTIC_RAG_GRAPH", "traditional")
    result = runner.invoke(cli.app, ["ask", "Who owns Relay?", "--index", str(tmp_path / "idx"), "--json"])
    assert result.exit_code == 0, result.output
    assert [s["kind"] for s in json.loads(result.stdout)["steps"]] == ["search", "answer"]


def test_error_text_is_not_read_as_markup(tmp_path):
    result = runner.invoke(cli.app, ["index", str(tmp_path / "notes[draft].md"), "--index", str(tmp_path / "idx")])
    assert result.exit_code == 1
    assert "notes[draft].md" in result.stderr


def test_index_of_an_earlier_version_is_refused_then_rebuilt(docs, tmp_path, fake_world):
    target = tmp_path / "idx"
    assert runner.invoke(cli.app, ["index", str(docs), "--index", str(target)]).exit_code == 0
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["format_version"] = 1
    (target / "manifest.json").write_text(json.dumps(manifest))
    refused = runner.invoke(cli.app, ["index", str(docs), "--index", str(target)])
    assert refused.exit_code != 0 and "--rebuild" in refused.output
    rebuilt = runner.invoke(cli.app, ["index", str(docs), "--index", str(target), "--rebuild"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "2 new" in rebuilt.output
    assert json.loads((target / "manifest.json").read_text())["format_version"] == 2


def test_index_of_two_folders_keeps_same_named_files_apart(tmp_path, fake_world):
    for folder in ("topics", "howto"):
        (tmp_path / "docs" / folder).mkdir(parents=True)
        (tmp_path / "docs" / folder / "index.md").write_text(f"# {folder}\n\nAll about {folder}.\n")
    result = runner.invoke(cli.app, ["index", str(tmp_path / "docs" / "topics"), str(tmp_path / "docs" / "howto"),
                                     "--index", str(tmp_path / "idx")])
    assert result.exit_code == 0 and "indexed 2 new" in result.output and "skipped" not in result.output
    from agentic_rag.tools.knowledge_base import KnowledgeBase

    assert KnowledgeBase.load(tmp_path / "idx", HashingEmbeddings()).sources == ["howto/index.md", "topics/index.md"]
