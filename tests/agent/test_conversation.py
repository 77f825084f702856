"""Chat threads (history, follow-ups rewritten) and resuming a run killed half way."""

from __future__ import annotations

import pytest
from langchain_core.tools import StructuredTool
from langgraph.checkpoint.memory import InMemorySaver

from agentic_rag import Agent, ConfigurationError, ExitReason
from agentic_rag.agent.conversation import sqlite_checkpointer
from tests.fakes import ScriptedChatModel
from tests.graphs.conftest import _search


class Killed(BaseException):
    """Stands for the process dying: not an Exception, so nothing in the run catches it."""


def counting_tool():
    calls: list[str] = []

    def search_knowledge_base(query: str, k: int = 4) -> list:
        """Search the test corpus by shared words."""
        calls.append(query)
        return _search(query, k)

    return StructuredTool.from_function(search_knowledge_base), calls


def agent(script, checkpointer, tool=None):
    tool = tool or counting_tool()[0]
    return Agent(ScriptedChatModel(script=script), tools=[tool], k=1, checkpointer=checkpointer, style="short")


def plan(query):
    return {"searches": [{"tool": "search_knowledge_base", "query": query}]}


def test_a_follow_up_is_rewritten_with_the_thread_history():
    saver = InMemorySaver()
    # the judge answers from the passage that holds the question's words: its answer is final
    first = agent([plan("Relay service owner"), {"answer": "the Harbor team", "sources": [1], "next_query": ""}], saver)
    answer = first.chat("Which team owns the Relay service?", thread_id="t1")
    assert answer.text == "the Harbor team [1]"

    model = ScriptedChatModel(script=[
        "Who leads the Harbor team?",  # the rewrite
        # the passage holds the whole question ("led" meets "leads"): the judge's answer is final
        plan("Harbor team led by"), {"answer": "Ines Okafor", "sources": [1], "next_query": ""},
    ])
    second = Agent(model, tools=[counting_tool()[0]], k=1, checkpointer=saver, style="short")
    follow_up = second.chat("and who leads it?", thread_id="t1")
    rewrite_prompt = model.prompts()[0]
    assert "Which team owns the Relay service?" in rewrite_prompt and "the Harbor team [1]" in rewrite_prompt
    assert "and who leads it?" in rewrite_prompt
    assert follow_up.question == "Who leads the Harbor team?"
    assert follow_up.text == "Ines Okafor [1]"
    # the rewrite is part of the run's cost and trace
    assert follow_up.steps[0].kind == "rewrite" and follow_up.steps[0].detail["message"] == "and who leads it?"
    assert follow_up.usage.llm_calls == 3 == len(model.calls)
    assert [t["message"] for t in second.history("t1")] == ["Which team owns the Relay service?", "and who leads it?"]


def test_threads_do_not_see_each_other():
    saver = InMemorySaver()
    a = agent([plan("Relay"), {"answer": "Harbor", "sources": [1], "next_query": ""},
               {"answer": "Harbor", "sources": [1]}], saver)
    a.chat("Who owns Relay?", thread_id="alice")
    model = ScriptedChatModel(script=[plan("Atlas team"), {"answer": "Tomas Reyes", "sources": [1], "next_query": ""},
                                      {"answer": "Tomas Reyes", "sources": [1]}])
    b = Agent(model, tools=[counting_tool()[0]], k=1, checkpointer=saver, style="short")
    answer = b.chat("Who leads the Atlas team?", thread_id="bob")
    # no history in bob's thread, so no rewrite call: the first call is the plan
    assert answer.question == "Who leads the Atlas team?" and "Conversation so far" not in model.prompts()[0]
    assert len(b.history("alice")) == 1 and len(b.history("bob")) == 1


def test_a_run_killed_half_way_resumes_without_redoing_finished_steps(tmp_path):
    path = tmp_path / "threads.sqlite"
    tool, calls = counting_tool()
    crashing = agent([plan("Relay service owner"),
                      {"answer": "", "sources": [1], "next_query": "Harbor team led by"},
                      Killed()], sqlite_checkpointer(path), tool)  # dies in the second judge call
    with pytest.raises(Killed):
        crashing.chat("Who leads the team that owns the Relay service?", thread_id="research")
    assert calls == ["Relay service owner", "Harbor team led by"]

    # a new process: a new agent over the same checkpoint file
    model = ScriptedChatModel(script=[{"answer": "Ines Okafor", "sources": [2], "next_query": ""},
                                      {"answer": "Ines Okafor", "sources": [2]}])
    resumed = Agent(model, tools=[tool], k=1, checkpointer=sqlite_checkpointer(path), style="short")
    answer = resumed.resume("research")
    assert answer.text == "Ines Okafor [1]" and answer.exit_reason is ExitReason.ANSWERED
    assert calls == ["Relay service owner", "Harbor team led by"]  # no search was run again
    assert len(model.calls) == 2  # only the judge that died and the answer
    assert [s.kind for s in answer.steps].count("plan") == 1
    assert resumed.history("research")[0]["answer"] == "Ines Okafor [1]"
    with pytest.raises(ConfigurationError, match="no unfinished run"):
        resumed.resume("research")


def test_each_step_is_saved_before_the_next_one_starts():
    """A kill during a model call must not lose the search before it, even with a slow checkpointer."""
    import time

    class SlowSaver(InMemorySaver):
        def put(self, *args, **kwargs):
            time.sleep(0.2)
            return super().put(*args, **kwargs)

    saver = SlowSaver()
    saved_before_judging = []

    def judge(messages):
        checkpoints = [c.checkpoint["channel_values"] for c in saver.list(None)]
        saved_before_judging.append(any(values.get("evidence") for values in checkpoints))
        return {"answer": "Harbor", "sources": [1], "next_query": ""}

    agent([plan("Relay service owner"), judge, {"answer": "Harbor", "sources": [1]}], saver).chat(
        "Who leads the team that owns the Relay service?", thread_id="t"
    )
    assert saved_before_judging == [True]


def test_an_unfinished_thread_must_be_resumed_before_the_next_turn():
    saver = InMemorySaver()
    crashing = agent([plan("Relay"), Killed()], saver)
    with pytest.raises(Killed):
        crashing.chat("Who owns Relay?", thread_id="t")
    with pytest.raises(ConfigurationError, match="resume it first"):
        crashing.chat("Another question?", thread_id="t")


def test_threads_need_a_checkpointer_and_a_thread_id():
    plain = Agent(ScriptedChatModel(script=[]), tools=[counting_tool()[0]], style="short")
    with pytest.raises(ConfigurationError, match="checkpointer"):
        plain.chat("Who owns Relay?", thread_id="t")
    with pytest.raises(ConfigurationError, match="thread id is empty"):
        agent([], InMemorySaver()).chat("Who owns Relay?", thread_id=" ")


def test_a_checkpointed_agent_still_answers_one_off_questions():
    one_off = agent([plan("Relay"), {"answer": "Harbor", "sources": [1], "next_query": ""},
                     {"answer": "Harbor", "sources": [1]}], InMemorySaver())
    assert one_off.ask("Who owns Relay?").text == "Harbor [1]"


def test_a_thread_id_may_not_reach_into_another_threads_runs():
    with pytest.raises(ConfigurationError, match="may not contain"):
        agent([], InMemorySaver()).chat("Who owns Relay?", thread_id="t1/turn-0")


def test_async_chat_works_with_the_sqlite_checkpointer(tmp_path):
    import asyncio

    from agentic_rag.events import FinalAnswer

    # the first question's words are all in the passage, so the judge's answer is final; "again" is
    # not, so the second run writes its answer with the answer call
    judged = [plan("Relay"), {"answer": "Harbor", "sources": [1], "next_query": ""}]
    script = judged + judged + [{"answer": "Harbor", "sources": [1]}]
    chat = agent(script, sqlite_checkpointer(tmp_path / "t.sqlite"))

    async def run():
        first = await chat.aask("Who owns Relay?", thread_id="a")
        events = [e async for e in chat.astream("Who owns Relay again?", thread_id="b")]
        return first, events

    first, events = asyncio.run(run())
    assert first.text == "Harbor [1]"
    assert isinstance(events[-1], FinalAnswer) and events[-1].answer.text == "Harbor [1]"
    assert len(chat.history("a")) == 1 and len(chat.history("b")) == 1
