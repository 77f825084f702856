"""The Agent's settings for the adaptive path reach the graph."""

from __future__ import annotations

from langchain_core.tools import StructuredTool

from agentic_rag import Agent
from tests.fakes import ScriptedChatModel
from tests.graphs.conftest import _search

QUESTION = "Who leads the team that owns the Relay service?"
PLAN = {"searches": [{"tool": "search_knowledge_base", "query": "Harbor team led by"}]}
JUDGE = {"sources": [1], "answer": "Ines Okafor", "next_query": "Ines Okafor role"}


def agent(script, **settings):
    tool = StructuredTool.from_function(_search, name="search_knowledge_base")
    return Agent(ScriptedChatModel(script=script), tools=[tool], k=1, style="short", **settings)


def test_a_single_hop_check_of_your_own_lets_the_first_answer_stand():
    # tools of one's own turn the planner on: a plan call, then one judge whose answer is final
    answer = agent([PLAN, JUDGE], single_hop=lambda question: True).ask(QUESTION)
    assert answer.text == "Ines Okafor [1]" and answer.usage.llm_calls == 2


def test_without_the_adaptive_path_the_judge_searches_on_and_the_answer_call_writes_the_answer():
    script = [PLAN, JUDGE, {"answer": "Ines Okafor", "sources": [1]}]
    answer = agent(script, adaptive=False, single_hop=lambda question: True).ask(QUESTION)
    assert [s.kind for s in answer.steps if s.kind in ("search", "judge")] == ["search", "judge", "search"]
    assert answer.text == "Ines Okafor [1]" and answer.usage.llm_calls == 3 and answer.usage.tool_calls == 2


def test_single_hop_none_leaves_only_the_passage_check():
    question = "Which group is responsible for Relay?"  # one hop, worded unlike the passage
    judge = {"sources": [1], "answer": "the Harbor team", "next_query": "Harbor team led by"}
    assert agent([PLAN, judge]).ask(question).usage.llm_calls == 2
    # without the wording check the judge's answer is not final: the answer call writes it
    answer = agent([PLAN, judge, {"answer": "the Harbor team", "sources": [1]}], single_hop=None).ask(question)
    assert answer.text == "the Harbor team [1]" and answer.usage.llm_calls == 3
    assert [s.kind for s in answer.steps][-1] == "answer" and answer.steps[-1].usage.llm_calls == 1
