"""Routing of the agentic graph on a scripted model."""

from __future__ import annotations

from agentic_rag.answer import ExitReason
from agentic_rag.graphs import Budget, build_agentic_graph
from tests.fakes import ScriptedChatModel


def plan(*queries: str) -> dict:
    return {"searches": [{"tool": "search_knowledge_base", "query": q} for q in queries]}


def run(model, search_tool, question="Who leads the team that owns the Relay service?", **budget):
    graph = build_agentic_graph(model, [search_tool])
    return graph.invoke({"question": question, "budget": Budget(**budget)})["answer"]


def test_two_hops_then_answer(search_tool):
    model = ScriptedChatModel(
        script=[
            plan("Relay service owner"),
            {"sources": [1], "answer": "", "next_query": "Harbor team lead"},
            {"sources": [1, 2], "answer": "Harbor", "next_query": ""},
            "Relay is owned by the Harbor team [1], which Ines Okafor leads [2].",
        ]
    )
    answer = run(model, search_tool)
    assert answer.exit_reason is ExitReason.ANSWERED
    assert "Ines Okafor" in answer.text
    assert [c.evidence_id for c in answer.citations] == ["services/relay.md#0", "teams/harbor.md#0"]
    assert answer.usage.llm_calls == 4
    assert answer.usage.tool_calls == 2
    assert [s.kind for s in answer.steps] == ["plan", "search", "judge", "refine", "search", "judge", "answer"]


def test_llm_budget_stops_loop_and_still_answers(search_tool):
    model = ScriptedChatModel(
        script=[
            plan("Relay service owner"),
            "Relay is owned by the Harbor team [1].",
        ]
    )
    answer = run(model, search_tool, max_llm_calls=2)
    assert answer.exit_reason is ExitReason.BUDGET_LLM_CALLS
    assert answer.notice and "budget_llm_calls" in answer.notice
    assert answer.usage.llm_calls == 2
    assert answer.citations[0].evidence_id == "services/relay.md#0"


def test_rounds_budget_ends_loop_with_answer(search_tool):
    model = ScriptedChatModel(
        script=[
            plan("Relay service owner"),
            {"sources": [1], "answer": "", "next_query": "Harbor team lead"},
            "Relay is owned by the Harbor team [1].",
        ]
    )
    answer = run(model, search_tool, max_rounds=1)
    assert answer.exit_reason is ExitReason.BUDGET_ROUNDS
    assert answer.usage.tool_calls == 1
    assert answer.text.startswith("Relay is owned")


def test_tool_call_budget(search_tool):
    model = ScriptedChatModel(
        script=[
            plan("Relay service owner", "Harbor team lead"),
            {"sources": [1], "answer": "", "next_query": "Atlas billing"},
            "Harbor owns Relay [1].",
        ]
    )
    answer = run(model, search_tool, max_tool_calls=2)
    assert answer.usage.tool_calls == 2
    assert answer.exit_reason is ExitReason.BUDGET_TOOL_CALLS


def test_repeated_query_is_never_run_twice(search_tool):
    model = ScriptedChatModel(
        script=[
            plan("Relay service owner"),
            # the judge asks again for what was already searched, in other case and punctuation
            {"sources": [1], "answer": "", "next_query": "relay SERVICE owner?"},
            "Harbor owns Relay [1].",
        ]
    )
    answer = run(model, search_tool)
    searches = [s for s in answer.steps if s.kind == "search"]
    assert len(searches) == 1
    assert answer.exit_reason is ExitReason.NO_NEW_EVIDENCE


def test_no_evidence_says_it_cannot_answer_without_calling_the_model_again(search_tool):
    model = ScriptedChatModel(script=[plan("zebra migration")])
    answer = run(model, search_tool, question="Where do zebras migrate?")
    assert answer.exit_reason is ExitReason.NO_EVIDENCE
    assert "cannot answer" in answer.text
    assert answer.citations == []
    assert answer.usage.llm_calls == 1


def test_malformed_plan_is_retried_then_parsed(search_tool):
    model = ScriptedChatModel(
        script=[
            '{"searches": [{"tool": "search_kn',  # cut-off JSON
            plan("Relay service owner"),
            {"sources": [1], "answer": "Harbor", "next_query": ""},
            "Harbor owns Relay [1].",
        ]
    )
    answer = run(model, search_tool)
    assert answer.exit_reason is ExitReason.ANSWERED
    assert answer.usage.llm_calls == 4
    assert answer.steps[0].detail["searches"] == [{"tool": "search_knowledge_base", "query": "Relay service owner"}]


def test_plan_that_keeps_failing_falls_back_to_the_question(search_tool):
    model = ScriptedChatModel(
        script=[
            "not json",
            "still not json",
            {"sources": [1], "answer": "Harbor", "next_query": ""},
            "Harbor owns Relay [1].",
        ]
    )
    answer = run(model, search_tool)
    assert answer.steps[0].detail["error"]
    assert answer.steps[1].detail["query"] == "Who leads the team that owns the Relay service?"
    assert answer.exit_reason is ExitReason.ANSWERED


def test_failing_tool_is_an_observation_not_a_crash(search_tool):
    from langchain_core.tools import StructuredTool

    def flaky_search(query: str) -> list:
        """A search that is down."""
        raise ConnectionError("index server unreachable")

    broken = StructuredTool.from_function(flaky_search)
    model = ScriptedChatModel(
        script=[
            {"searches": [
                {"tool": "flaky_search", "query": "Relay owner"},
                {"tool": "search_knowledge_base", "query": "Relay service owner"},
            ]},
            {"sources": [1], "answer": "Harbor", "next_query": ""},
            "Harbor owns Relay [1].",
        ]
    )
    graph = build_agentic_graph(model, [broken, search_tool])
    answer = graph.invoke({"question": "Who owns Relay?"})["answer"]
    failed = [s for s in answer.steps if s.kind == "search" and "error" in s.detail]
    assert failed and "unreachable" in failed[0].detail["error"]
    assert answer.exit_reason is ExitReason.ANSWERED
    assert answer.citations[0].evidence_id == "services/relay.md#0"


def test_marker_pointing_at_nothing_is_caught(search_tool):
    model = ScriptedChatModel(
        script=[
            plan("Relay service owner"),
            {"sources": [1], "answer": "Harbor", "next_query": ""},
            "Harbor owns Relay [1], founded in 1999 [7].",
        ]
    )
    answer = run(model, search_tool)
    assert answer.invalid_markers == [7]
    assert "[7]" not in answer.text
    assert [c.marker for c in answer.citations] == [1]


def test_planner_may_skip_search(search_tool):
    model = ScriptedChatModel(script=[{"searches": []}, "Hello! Ask me about the documents."])
    answer = run(model, search_tool, question="Hello there")
    assert answer.exit_reason is ExitReason.NO_RETRIEVAL_NEEDED
    assert answer.usage.tool_calls == 0
    assert answer.usage.llm_calls == 2


def test_empty_question_is_rejected(search_tool):
    import pytest

    from agentic_rag.errors import ConfigurationError

    graph = build_agentic_graph(ScriptedChatModel(script=[]), [search_tool])
    with pytest.raises(ConfigurationError):
        graph.invoke({"question": "   "})


def test_draft_answer_is_not_trusted_while_the_judge_asks_for_a_new_search(search_tool):
    model = ScriptedChatModel(
        script=[
            plan("Relay service owner"),
            # a bridge entity offered as the answer, with a new search: the loop goes on
            {"answer": "Harbor team", "sources": [1], "missing": "its lead", "next_query": "Harbor team lead"},
            {"answer": "Ines Okafor", "sources": [2], "missing": "", "next_query": ""},
            "Ines Okafor [2] leads Harbor, which owns Relay [1].",
        ]
    )
    answer = run(model, search_tool)
    judges = [s.detail for s in answer.steps if s.kind == "judge"]
    assert [j["sufficient"] for j in judges] == [False, True]
    # relevance accumulates over rounds: the first round's passage stays relevant
    assert judges[1]["relevant"] == ["services/relay.md#0", "teams/harbor.md#0"]
    assert answer.exit_reason is ExitReason.ANSWERED


def test_retries_count_against_the_llm_call_budget(search_tool):
    model = ScriptedChatModel(
        script=[
            "not json",  # the plan fails; with max_llm_calls=2 there is no room to retry it
            "Relay is owned by the Harbor team [1].",
        ]
    )
    answer = run(model, search_tool, max_llm_calls=2)
    assert answer.usage.llm_calls == 2
    assert answer.exit_reason is ExitReason.BUDGET_LLM_CALLS


def test_a_model_without_structured_output_does_not_crash_the_run(search_tool):
    class PlainModel(ScriptedChatModel):
        def with_structured_output(self, schema, **kwargs):
            raise NotImplementedError("no structured output here")

    model = PlainModel(script=["Relay is owned by the Harbor team [1]."])
    answer = run(model, search_tool)
    assert answer.steps[0].detail["error"].startswith("NotImplementedError")
    assert answer.citations[0].evidence_id == "services/relay.md#0"
    assert answer.usage.llm_calls == 1  # only the answer was really called
