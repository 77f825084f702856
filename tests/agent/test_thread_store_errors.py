"""A damaged threads database is one clear error naming the file, never a traceback."""

from __future__ import annotations

import sqlite3

import pytest
from langchain_core.tools import StructuredTool
from typer.testing import CliRunner

from agentic_rag import Agent, cli
from agentic_rag.agent.conversation import sqlite_checkpointer
from agentic_rag.errors import ThreadStoreError
from agentic_rag.testing import ScriptedChatModel
from tests.graphs.conftest import _search


def chat_agent(path) -> Agent:
    model = ScriptedChatModel(script=[{"answer": "Ines Okafor", "sources": [1], "missing": "", "next_query": ""}] * 4)
    tool = StructuredTool.from_function(_search, name="search_knowledge_base")
    return Agent(model, tools=[tool], k=1, style="short", checkpointer=sqlite_checkpointer(path))


@pytest.mark.parametrize("content", [b"this is not a database at all" * 40, b"SQLite format 3\x00" + b"\xff" * 4000])
def test_a_file_that_is_no_threads_database_is_an_error_naming_it(tmp_path, content):
    path = tmp_path / "threads.sqlite"
    path.write_bytes(content)
    with pytest.raises(ThreadStoreError, match=f"the threads database {path} cannot be read"):
        sqlite_checkpointer(path)


def test_a_damaged_thread_record_is_an_error_and_other_threads_still_work(tmp_path):
    path = tmp_path / "threads.sqlite"
    chat_agent(path).chat("Who leads Harbor?", thread_id="t1")
    with sqlite3.connect(path) as db:
        db.execute("UPDATE checkpoints SET checkpoint = X'C1C1C1C1' WHERE thread_id = 't1'")
    agent = chat_agent(path)
    with pytest.raises(ThreadStoreError, match=f"thread 't1' cannot be read from {path}"):
        agent.history("t1")
    answer = agent.chat("Who leads Harbor?", thread_id="t2")
    assert [turn["answer"] for turn in agent.history("t2")] == [answer.text]


def test_the_command_line_gives_one_line_for_both(tmp_path, cli_index):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"garbage" * 100)
    damaged = tmp_path / "damaged.sqlite"
    chat_agent(damaged).chat("Who leads Harbor?", thread_id="t1")
    with sqlite3.connect(damaged) as db:
        db.execute("UPDATE checkpoints SET checkpoint = X'C1' WHERE thread_id = 't1'")
    for db_file in (bad, damaged):
        args = ["ask", "Who leads?", "--index", str(cli_index), "--thread", "t1", "--threads-db", str(db_file)]
        result = CliRunner().invoke(cli.app, args)
        assert result.exit_code == 1, result.output
        assert "cannot be read" in result.stderr and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) <= 2
