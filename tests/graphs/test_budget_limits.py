"""Each budget limit, and a round that finds nothing new, ends the loop with its own exit reason; the answer is still written."""

from __future__ import annotations

import time

import pytest

from agentic_rag.answer import ExitReason
from agentic_rag.graphs import Budget, RAGConfig, build_agentic_graph
from tests.fakes import ScriptedChatModel

QUESTION = "Who leads the team that owns the Relay service?"


def searching_on():
    """A judge that always wants one more search, then an answer call."""
    judge = {"answer": "", "sources": [1], "missing": "the lead", "next_query": "Harbor team lead"}
    again = {"answer": "", "sources": [1], "missing": "the lead", "next_query": "Atlas billing team"}
    return ScriptedChatModel(script=[judge, again, {"answer": "Ines Okafor", "sources": [1]}] + [again] * 5)


def run(search_tool, model=None, **budget):
    graph = build_agentic_graph(model or searching_on(), [search_tool], RAGConfig(adaptive=False, k=1))
    return graph.invoke({"question": QUESTION, "budget": Budget(**budget)})["answer"]


def test_the_token_budget_stops_the_search_and_the_answer_is_written(search_tool):
    answer = run(search_tool, max_tokens=60)
    assert answer.exit_reason is ExitReason.BUDGET_TOKENS
    assert answer.usage.tool_calls == 1 and answer.notice and "budget_tokens" in answer.notice


def test_the_time_budget_stops_the_search(search_tool):
    def slow(messages):
        time.sleep(0.3)
        return {"answer": "", "sources": [1], "missing": "the lead", "next_query": "Harbor team lead"}

    model = ScriptedChatModel(script=[slow, {"answer": "Ines Okafor", "sources": [1]}] + [slow] * 4)
    answer = run(search_tool, model=model, max_seconds=0.2)
    assert answer.exit_reason is ExitReason.BUDGET_TIME
    assert answer.usage.tool_calls == 1


def test_the_search_runs_no_more_tool_calls_than_the_budget_has_left(search_tool):
    plan = {"searches": [{"tool": "search_knowledge_base", "query": "Relay owner"},
                         {"tool": "search_knowledge_base", "query": "Harbor lead"}]}
    model = ScriptedChatModel(script=[plan, {"answer": "Ines Okafor", "sources": [1], "next_query": ""},
                                      {"answer": "Ines Okafor", "sources": [1]}])
    graph = build_agentic_graph(model, [search_tool], RAGConfig(adaptive=False, planner=True, k=1))
    answer = graph.invoke({"question": QUESTION, "budget": Budget(max_tool_calls=1)})["answer"]
    assert answer.usage.tool_calls == 1
    assert [s.kind for s in answer.steps].count("search") == 1


def test_a_round_that_finds_only_passages_already_read_ends_the_search(search_tool):
    model = ScriptedChatModel(script=[
        {"answer": "", "sources": [1], "missing": "the owner", "next_query": "Relay service sends notifications"},
        {"answer": "the Harbor team", "sources": [1]},
        {"answer": "", "sources": [1], "missing": "more", "next_query": "something else"},
    ])
    graph = build_agentic_graph(model, [search_tool], RAGConfig(adaptive=False, k=1))
    answer = graph.invoke({"question": "Who owns the Relay service?", "budget": Budget()})["answer"]
    assert answer.exit_reason is ExitReason.NO_NEW_EVIDENCE
    assert answer.usage.llm_calls == 2 and answer.usage.tool_calls == 2  # one judge, no second judge of old news
    assert answer.text == "the Harbor team [1]"


@pytest.mark.parametrize("calls, judges, exit_reason", [
    (3, 2, ExitReason.ANSWERED),  # a second judge and the answer fit in three calls
    (2, 1, ExitReason.BUDGET_LLM_CALLS),  # only the answer is left after the first judge
])
def test_another_round_starts_when_its_judge_and_the_answer_fit(search_tool, calls, judges, exit_reason):
    model = ScriptedChatModel(script=[
        {"answer": "", "sources": [1], "missing": "the lead", "next_query": "Harbor team led by"},
        {"answer": "Ines Okafor", "sources": [1], "next_query": ""},
        {"answer": "Ines Okafor", "sources": [1]},
    ][: judges] + [{"answer": "Ines Okafor", "sources": [1]}])
    answer = run(search_tool, model=model, max_llm_calls=calls)
    assert [s.kind for s in answer.steps].count("judge") == judges
    assert answer.exit_reason is exit_reason and answer.usage.llm_calls == judges + 1
