"""Routing of the agentic graph on a scripted model."""

from __future__ import annotations

import pytest
from langchain_core.tools import StructuredTool

from agentic_rag.answer import ExitReason
from agentic_rag.errors import ConfigurationError
from agentic_rag.evidence import Evidence
from agentic_rag.graphs import Budget, RAGConfig, build_agentic_graph
from tests.fakes import ScriptedChatModel


def plan(*queries: str) -> dict:
    return {"searches": [{"tool": "search_knowledge_base", "query": q} for q in queries]}


def run(model, search_tool, question="Who leads the team that owns the Relay service?", planner=False, k=4, adaptive=False, **budget):
    """Run the agentic graph; the loop's own rules are tested without the adaptive early answer."""
    graph = build_agentic_graph(model, [search_tool], RAGConfig(planner=planner, k=k, adaptive=adaptive))
    return graph.invoke({"question": question, "budget": Budget(**budget)})["answer"]


def written(answer: str, *sources: int) -> dict:
    """A reply to the structured answer call."""
    return {"answer": answer, "sources": list(sources)}


def harbor_then_ines() -> ScriptedChatModel:
    """Two rounds: the judge names the owning team (Harbor), then its lead; the answer call writes it."""
    return ScriptedChatModel(
        script=[
            {"answer": "Harbor", "sources": [1], "next_query": "Harbor team led by"},
            {"answer": "Ines Okafor", "sources": [1, 2], "next_query": ""},
            written("Ines Okafor", 1, 2),
        ]
    )


def test_two_hops_then_answer(search_tool):
    model = ScriptedChatModel(
        script=[
            {"sources": [1], "answer": "", "next_query": "Harbor team led by"},
            {"sources": [1, 2], "answer": "Ines Okafor", "next_query": ""},
            written("Ines Okafor", 1, 2),
        ]
    )
    answer = run(model, search_tool, k=1)
    assert answer.exit_reason is ExitReason.ANSWERED
    assert answer.text == "Ines Okafor [1][2]"
    assert [c.evidence_id for c in answer.citations] == ["services/relay.md#0", "teams/harbor.md#0"]
    assert answer.usage.llm_calls == 3  # two judges and the answer
    assert answer.usage.tool_calls == 2
    assert [s.kind for s in answer.steps] == ["plan", "search", "judge", "refine", "search", "judge", "answer"]
    assert answer.steps[1].detail["query"] == "Who leads the team that owns the Relay service?"


def test_planner_chooses_the_first_searches_when_asked(search_tool):
    model = ScriptedChatModel(
        script=[
            plan("Relay service owner"),
            {"sources": [1], "answer": "", "next_query": "Harbor team lead"},
            {"sources": [1, 2], "answer": "", "next_query": ""},
            written("Ines Okafor", 2),
        ]
    )
    answer = run(model, search_tool, planner=True)
    assert answer.steps[1].detail["query"] == "Relay service owner"
    assert answer.text == "Ines Okafor [1]"  # markers are renumbered in order of use
    assert [c.evidence_id for c in answer.citations] == ["teams/harbor.md#0"]
    assert answer.usage.llm_calls == 4


def test_llm_budget_stops_loop_and_still_answers(search_tool):
    model = ScriptedChatModel(
        script=[
            {"sources": [1], "answer": "", "next_query": "Harbor team lead"},
            written("Harbor team", 1),
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
            {"sources": [1], "answer": "", "next_query": "Harbor team lead"},
            written("the Harbor team", 1),
        ]
    )
    answer = run(model, search_tool, max_rounds=1)
    assert answer.exit_reason is ExitReason.BUDGET_ROUNDS
    assert answer.usage.tool_calls == 1
    assert answer.text == "the Harbor team [1]"


def test_tool_call_budget(search_tool):
    model = ScriptedChatModel(
        script=[
            plan("Relay service owner", "Harbor team lead"),
            {"sources": [1], "answer": "", "next_query": "Atlas billing"},
            written("Harbor", 1),
        ]
    )
    answer = run(model, search_tool, planner=True, max_tool_calls=2)
    assert answer.usage.tool_calls == 2
    assert answer.exit_reason is ExitReason.BUDGET_TOOL_CALLS


def test_repeated_query_is_never_run_twice(search_tool):
    model = ScriptedChatModel(
        script=[
            plan("Relay service owner"),
            # the judge asks again for what was already searched, in other case and punctuation
            {"sources": [1], "answer": "", "next_query": "relay SERVICE owner?"},
            written("Harbor", 1),
        ]
    )
    answer = run(model, search_tool, planner=True)
    searches = [s for s in answer.steps if s.kind == "search"]
    assert len(searches) == 1
    assert answer.exit_reason is ExitReason.NO_NEW_EVIDENCE


def test_no_evidence_says_it_cannot_answer_without_calling_the_model_again(search_tool):
    model = ScriptedChatModel(script=[plan("zebra migration")])
    answer = run(model, search_tool, question="Where do zebras migrate?", planner=True)
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
            written("Harbor", 1),
        ]
    )
    answer = run(model, search_tool, planner=True)
    assert answer.exit_reason is ExitReason.ANSWERED
    assert answer.usage.llm_calls == 4  # plan twice, judge, answer
    assert answer.steps[0].detail["searches"] == [{"tool": "search_knowledge_base", "query": "Relay service owner"}]


def test_plan_that_keeps_failing_falls_back_to_the_question(search_tool):
    model = ScriptedChatModel(
        script=[
            "not json",
            "still not json",
            {"sources": [1], "answer": "Harbor", "next_query": ""},
            written("Harbor", 1),
        ]
    )
    answer = run(model, search_tool, planner=True)
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
            written("Harbor", 1),
        ]
    )
    graph = build_agentic_graph(model, [broken, search_tool], RAGConfig(planner=True, tool_retry_wait=0))
    answer = graph.invoke({"question": "Who owns Relay?"})["answer"]
    failed = [s for s in answer.steps if s.kind == "search" and "error" in s.detail]
    assert failed and "unreachable" in failed[0].detail["error"]
    assert answer.exit_reason is ExitReason.ANSWERED
    assert answer.citations[0].evidence_id == "services/relay.md#0"


def test_marker_pointing_at_nothing_is_caught(search_tool):
    model = ScriptedChatModel(
        script=[
            {"sources": [1], "answer": "", "next_query": ""},
            written("Harbor, founded in 1999", 1, 7),
        ]
    )
    answer = run(model, search_tool)
    assert answer.invalid_markers == [7]
    assert "[7]" not in answer.text
    assert [c.marker for c in answer.citations] == [1]


def test_planner_may_skip_search(search_tool):
    model = ScriptedChatModel(script=[{"searches": []}, "Hello! Ask me about the documents."])
    answer = run(model, search_tool, question="Hello there", planner=True)
    assert answer.exit_reason is ExitReason.NO_RETRIEVAL_NEEDED
    assert answer.usage.tool_calls == 0
    assert answer.usage.llm_calls == 2


def test_empty_question_is_rejected(search_tool):
    import pytest

    from agentic_rag.errors import ConfigurationError

    graph = build_agentic_graph(ScriptedChatModel(script=[]), [search_tool])
    with pytest.raises(ConfigurationError):
        graph.invoke({"question": "   "})


def test_an_answer_without_a_cited_passage_does_not_end_the_search(search_tool):
    model = ScriptedChatModel(
        script=[
            {"answer": "Harbor team", "sources": [], "missing": "its lead", "next_query": "Harbor team led by"},
            # nothing was cited in round 1, so round 2's judge reads only the new passage
            {"answer": "Ines Okafor", "sources": [1], "missing": "", "next_query": ""},
            written("Ines Okafor", 2),
        ]
    )
    answer = run(model, search_tool, k=1)
    judges = [s.detail for s in answer.steps if s.kind == "judge"]
    assert [j["sufficient"] for j in judges] == [False, True]
    assert answer.text == "Ines Okafor [1]" and answer.citations[0].evidence_id == "teams/harbor.md#0"
    assert answer.exit_reason is ExitReason.ANSWERED


def test_a_cited_answer_without_a_new_query_ends_the_search(search_tool):
    model = ScriptedChatModel(script=[{"answer": "Ines Okafor", "sources": [1], "next_query": ""}, written("Ines Okafor", 1)])
    answer = run(model, search_tool, k=1, question="Who leads the Harbor team?")
    assert answer.text == "Ines Okafor [1]"
    assert answer.usage.llm_calls == 2 and answer.usage.tool_calls == 1


def test_answer_from_judge_saves_the_answer_call(search_tool):
    model = ScriptedChatModel(script=[{"answer": "Ines Okafor", "sources": [1], "next_query": ""}])
    graph = build_agentic_graph(model, [search_tool], RAGConfig(k=1, answer_from_judge=True))
    answer = graph.invoke({"question": "Who leads the Harbor team?"})["answer"]
    assert answer.text == "Ines Okafor [1]" and answer.exit_reason is ExitReason.ANSWERED
    assert answer.usage.llm_calls == 1


def test_an_answer_beside_a_new_query_needs_a_second_round_to_confirm_it(search_tool):
    # the small model fills next_query even when it has answered: the same answer twice ends the search,
    # and the answer is then written from everything found
    model = ScriptedChatModel(
        script=[
            {"answer": "Harbor", "sources": [1], "next_query": "Harbor team led by"},
            {"answer": "harbor.", "sources": [1], "next_query": "Harbor messaging services"},
            written("the Harbor team", 1),
        ]
    )
    answer = run(model, search_tool, k=1, question="Which team owns the Relay service?")
    judges = [s.detail for s in answer.steps if s.kind == "judge"]
    assert [j["sufficient"] for j in judges] == [False, True]
    assert answer.text == "the Harbor team [1]" and answer.exit_reason is ExitReason.ANSWERED
    assert answer.usage.llm_calls == 3
    # the answer read both passages, in the order they were found
    assert answer.steps[-1].detail["passages"] == ["services/relay.md#0", "teams/harbor.md#0"]


def test_adaptive_a_question_one_passage_covers_costs_one_model_call(search_tool):
    # single-hop: the judge answers from a passage holding the question's words; its answer is final
    model = ScriptedChatModel(script=[{"answer": "the Harbor team", "sources": [1], "next_query": "Harbor team lead"}])
    answer = run(model, search_tool, k=1, question="Which team owns the Relay service?", adaptive=True)
    assert answer.text == "the Harbor team [1]" and answer.exit_reason is ExitReason.ANSWERED
    assert answer.usage.llm_calls == 1 and answer.usage.tool_calls == 1  # as many as the traditional graph
    judge = next(s.detail for s in answer.steps if s.kind == "judge")
    assert judge["coverage"] == 1.0 and judge["sufficient"] is True
    assert [c.evidence_id for c in answer.citations] == ["services/relay.md#0"]


def test_adaptive_an_answer_from_a_passage_missing_part_of_the_question_searches_on(search_tool):
    # multi-hop: passage 1 names the owning team but nothing about who leads it
    question = "Which person is leading the team that owns the Relay notification service?"
    model = harbor_then_ines()
    answer = run(model, search_tool, question=question, k=1, adaptive=True)
    judges = [s.detail for s in answer.steps if s.kind == "judge"]
    assert judges[0]["coverage"] < 0.75 and judges[0]["sufficient"] is False
    assert answer.text == "Ines Okafor [1][2]"  # written by the answer call over both rounds
    assert answer.usage.llm_calls == 3 and answer.usage.tool_calls == 2


def test_adaptive_a_passage_without_the_relation_asked_for_is_not_enough(search_tool):
    # "leads" is what is asked; passage 1 holds the rest of the question (team, owns, Relay, service)
    model = harbor_then_ines()
    answer = run(model, search_tool, k=1, adaptive=True)
    judge = next(s.detail for s in answer.steps if s.kind == "judge")
    assert judge["coverage"] >= 0.75 and judge["sufficient"] is False
    assert answer.text == "Ines Okafor [1][2]" and answer.usage.llm_calls == 3


def test_adaptive_coverage_in_a_later_round_ends_the_search_without_a_confirming_round(search_tool):
    model = ScriptedChatModel(
        script=[
            {"answer": "", "sources": [1], "next_query": "Harbor messaging"},
            {"answer": "the Harbor team", "sources": [1], "next_query": "Harbor team members"},
            written("the Harbor team", 1),
        ]
    )
    answer = run(model, search_tool, question="Which team owns the Relay service?", k=1, adaptive=True)
    judges = [s.detail for s in answer.steps if s.kind == "judge"]
    assert [j["sufficient"] for j in judges] == [False, True]
    assert answer.usage.llm_calls == 3  # two judges, then the answer call (only a first-round answer is final)


def shaped(model, search_tool, question, **settings):
    """Run the agentic graph with the adaptive path, one passage a search."""
    graph = build_agentic_graph(model, [search_tool], RAGConfig(k=1, **settings))
    return graph.invoke({"question": question})["answer"]


def test_adaptive_a_question_worded_as_one_hop_ends_after_one_call_though_the_passage_paraphrases_it(search_tool):
    # "group" and "responsible" are not in the passage (coverage 1/3), but nothing in the wording asks for a second hop
    model = ScriptedChatModel(script=[{"answer": "the Harbor team", "sources": [1], "next_query": "Harbor team"}])
    answer = shaped(model, search_tool, "Which group is responsible for Relay?")
    judge = next(s.detail for s in answer.steps if s.kind == "judge")
    assert judge["coverage"] < 0.75 and judge["single_hop"] is True and judge["multi_hop_signs"] == []
    assert answer.text == "the Harbor team [1]" and answer.exit_reason is ExitReason.ANSWERED
    assert answer.usage.llm_calls == 1 and answer.usage.tool_calls == 1


def test_adaptive_without_the_wording_check_the_same_question_searches_on(search_tool):
    model = ScriptedChatModel(
        script=[
            {"answer": "the Harbor team", "sources": [1], "next_query": "Harbor team led by"},
            {"answer": "the Harbor team", "sources": [1], "next_query": ""},
            written("the Harbor team", 1),
        ]
    )
    answer = shaped(model, search_tool, "Which group is responsible for Relay?", single_hop=None)
    judge = next(s.detail for s in answer.steps if s.kind == "judge")
    assert "single_hop" not in judge and judge["sufficient"] is False
    assert answer.usage.llm_calls == 3 and answer.usage.tool_calls == 2


def test_adaptive_a_relative_clause_marks_the_question_multi_hop(search_tool):
    model = harbor_then_ines()
    answer = shaped(model, search_tool, "Who leads the team that owns the Relay service?")
    judge = next(s.detail for s in answer.steps if s.kind == "judge")
    assert judge["single_hop"] is False and judge["multi_hop_signs"] == ["relative clause"]
    assert answer.text == "Ines Okafor [1][2]" and answer.usage.llm_calls == 3


def test_adaptive_a_one_hop_question_the_judge_cannot_answer_searches_on(search_tool):
    model = ScriptedChatModel(
        script=[
            {"answer": "", "sources": [], "next_query": "Harbor team led by"},
            {"answer": "the Harbor team", "sources": [1], "next_query": ""},
            written("the Harbor team", 1),
        ]
    )
    answer = shaped(model, search_tool, "Which group is responsible for Relay?")
    judges = [s.detail for s in answer.steps if s.kind == "judge"]
    assert judges[0]["sufficient"] is False and answer.usage.tool_calls == 2
    # in the second round the wording no longer decides; the answer call writes the answer
    assert "single_hop" not in judges[1] and answer.usage.llm_calls == 3


def test_adaptive_takes_a_single_hop_check_of_your_own(search_tool):
    asked = []

    def always_one_hop(question: str) -> bool:
        asked.append(question)
        return True

    model = ScriptedChatModel(script=[{"answer": "Harbor", "sources": [1], "next_query": "Harbor team led by"}])
    answer = shaped(model, search_tool, "Who leads the team that owns Relay?", single_hop=always_one_hop)
    judge = next(s.detail for s in answer.steps if s.kind == "judge")
    assert asked == ["Who leads the team that owns Relay?"]
    assert judge["single_hop"] is True and "multi_hop_signs" not in judge
    assert answer.text == "Harbor [1]" and answer.usage.llm_calls == 1


def test_adaptive_single_hop_check_must_be_a_plain_function(search_tool):
    async def asynchronous(question: str) -> bool:
        return True

    for check in ("yes", asynchronous):
        with pytest.raises(ConfigurationError, match="single_hop"):
            build_agentic_graph(ScriptedChatModel(script=[]), [search_tool], RAGConfig(single_hop=check))


@pytest.mark.parametrize(
    ("check", "error"),
    [
        (lambda question: 1 / 0, "ZeroDivisionError: division by zero"),
        (lambda question: 0.02, "returned float, not a bool"),
    ],
)
def test_adaptive_a_single_hop_check_that_fails_counts_as_no_and_the_run_goes_on(search_tool, check, error):
    answer = shaped(harbor_then_ines(), search_tool, "Who leads the team that owns the Relay service?", single_hop=check)
    judge = next(s.detail for s in answer.steps if s.kind == "judge")
    assert judge["single_hop"] is False and judge["single_hop_error"] == error
    assert answer.text == "Ines Okafor [1][2]" and answer.usage.llm_calls == 3


def test_adaptive_a_numpy_bool_from_a_classifier_works_with_a_checkpointer(search_tool):
    import numpy as np
    from langgraph.checkpoint.memory import InMemorySaver

    model = ScriptedChatModel(script=[{"answer": "Harbor", "sources": [1], "next_query": "Harbor team led by"}])
    graph = build_agentic_graph(model, [search_tool], RAGConfig(k=1, single_hop=lambda question: np.float64(0.9) > 0.5), checkpointer=InMemorySaver())
    answer = graph.invoke({"question": "Who owns Relay?"}, {"configurable": {"thread_id": "t"}})["answer"]
    judge = next(s.detail for s in answer.steps if s.kind == "judge")
    assert judge["single_hop"] is True and type(judge["single_hop"]) is bool
    assert answer.text == "Harbor [1]" and answer.usage.llm_calls == 1


def test_adaptive_the_single_hop_check_is_not_asked_without_a_cited_answer(search_tool):
    asked = []
    model = ScriptedChatModel(
        script=[
            {"answer": "", "sources": [], "next_query": "Harbor team led by"},
            {"answer": "the Harbor team", "sources": [1], "next_query": ""},
            written("the Harbor team", 1),
        ]
    )
    answer = shaped(model, search_tool, "Which group is responsible for Relay?", single_hop=lambda q: asked.append(q) or True)
    assert asked == [] and answer.usage.llm_calls == 3


def test_adaptive_coverage_must_be_a_share(search_tool):
    with pytest.raises(ConfigurationError, match="direct_coverage"):
        build_agentic_graph(ScriptedChatModel(script=[]), [search_tool], RAGConfig(direct_coverage=1.5))


def test_a_changed_answer_keeps_searching_until_the_budget_ends_it(search_tool):
    model = ScriptedChatModel(
        script=[
            {"answer": "Harbor team", "sources": [1], "next_query": "Harbor team led by"},
            {"answer": "Ines Okafor", "sources": [2], "next_query": "Ines Okafor role"},
            written("Ines Okafor", 2),
        ]
    )
    answer = run(model, search_tool, k=1, max_rounds=2)
    assert answer.exit_reason is ExitReason.BUDGET_ROUNDS
    assert answer.text == "Ines Okafor [1]" and answer.citations[0].evidence_id == "teams/harbor.md#0"
    assert answer.usage.llm_calls == 3 and answer.notice


def test_answer_reads_at_most_max_answer_passages_keeping_cited_ones(search_tool):
    model = ScriptedChatModel(
        script=[
            {"answer": "", "sources": [3], "next_query": ""},
            written("Tomas Reyes", 1),
        ]
    )
    graph = build_agentic_graph(model, [search_tool], RAGConfig(max_answer_passages=2))
    answer = graph.invoke({"question": "Who leads the team that owns the Relay service?"})["answer"]
    found = [s.detail["found"] for s in answer.steps if s.kind == "search"][0]
    assert len(found) == 3
    # the cited third passage is kept, then the earliest found; they are read in the order found
    assert answer.steps[-1].detail["passages"] == [found[0], found[2]]


def test_a_short_answer_reads_four_passages_and_a_detailed_one_eight():
    def six_teams(query: str, k: int = 4) -> list[Evidence]:
        """Six passages, whatever the query."""
        texts = [f"Team {n} is led by person {n}." for n in range(6)]
        return [Evidence(id=f"teams/{n}.md#0", source=f"teams/{n}.md", text=t, span=(0, len(t))) for n, t in enumerate(texts)]

    tool = StructuredTool.from_function(six_teams, name="search_knowledge_base")
    read = {}
    for style, reply in (("short", written("person 5", 1)), ("detailed", "Person 5 leads team 5 [6].")):
        model = ScriptedChatModel(script=[{"answer": "", "sources": [], "next_query": ""}, reply])
        graph = build_agentic_graph(model, [tool], RAGConfig(style=style, adaptive=False))
        answer = graph.invoke({"question": "Who leads team 5?"})["answer"]
        read[style] = answer.steps[-1].detail["passages"]
    assert len(read["short"]) == 4 and read["short"] == [f"teams/{n}.md#0" for n in range(4)]
    assert len(read["detailed"]) == 6
    assert RAGConfig(style="short", max_answer_passages=6).answer_passages() == 6


def test_relevance_accumulates_over_rounds(search_tool):
    model = ScriptedChatModel(
        script=[
            {"answer": "", "sources": [1], "missing": "its lead", "next_query": "Harbor team led by"},
            {"answer": "", "sources": [2], "missing": "", "next_query": ""},
            written("Ines Okafor", 2),
        ]
    )
    answer = run(model, search_tool, k=1)
    judges = [s.detail for s in answer.steps if s.kind == "judge"]
    assert judges[1]["relevant"] == ["services/relay.md#0", "teams/harbor.md#0"]
    assert answer.text == "Ines Okafor [1]" and answer.exit_reason is ExitReason.NO_NEW_EVIDENCE


def test_retries_count_against_the_llm_call_budget(search_tool):
    model = ScriptedChatModel(
        script=[
            "not json",  # the plan fails; with max_llm_calls=2 there is no room to retry it
            written("the Harbor team", 1),
        ]
    )
    answer = run(model, search_tool, planner=True, max_llm_calls=2)
    assert answer.usage.llm_calls == 2
    assert answer.exit_reason is ExitReason.BUDGET_LLM_CALLS


def test_a_model_without_structured_output_does_not_crash_the_run(search_tool):
    class PlainModel(ScriptedChatModel):
        def with_structured_output(self, schema, **kwargs):
            raise NotImplementedError("no structured output here")

    model = PlainModel(script=["the Harbor team [1]"])
    answer = run(model, search_tool, planner=True)
    assert answer.steps[0].detail["error"].startswith("NotImplementedError")
    # plan, judge and the structured answer fail without a call; the answer falls back to plain text
    assert answer.text == "the Harbor team [1]"
    assert answer.citations[0].evidence_id == "services/relay.md#0"
    assert answer.usage.llm_calls == 1  # only the plain-text answer was really called


def _flaky_tool(failures: list[BaseException]):
    """A search tool that raises the given errors in turn, then finds the Relay passage."""
    from langchain_core.tools import StructuredTool

    from agentic_rag.evidence import Evidence

    calls = []

    def flaky(query: str) -> list:
        """Search that may fail."""
        calls.append(query)
        if len(calls) <= len(failures):
            raise failures[len(calls) - 1]
        text = "Relay is owned by the Harbor team."
        return [Evidence(id="relay#0", source="relay.md", text=text, span=(0, len(text)))]

    return StructuredTool.from_function(flaky), calls


def test_a_transient_tool_error_is_retried_then_succeeds():
    tool, calls = _flaky_tool([ConnectionError("reset"), TimeoutError("slow")])
    model = ScriptedChatModel(script=[{"answer": "Harbor", "sources": [1], "next_query": ""}, written("Harbor", 1)])
    graph = build_agentic_graph(model, [tool], RAGConfig(tool_retry_wait=0))
    answer = graph.invoke({"question": "Who owns Relay?"})["answer"]
    assert len(calls) == 3
    assert answer.text == "Harbor [1]" and answer.usage.tool_calls == 1
    assert "error" not in [s for s in answer.steps if s.kind == "search"][0].detail


def test_a_tool_that_keeps_failing_is_an_observation_and_the_run_goes_on(search_tool):
    tool, calls = _flaky_tool([ConnectionError("down")] * 5)
    model = ScriptedChatModel(
        script=[
            {"searches": [{"tool": "flaky", "query": "Relay owner"}, {"tool": "search_knowledge_base", "query": "Relay service"}]},
            {"answer": "Harbor", "sources": [1], "next_query": ""},
            written("Harbor", 1),
        ]
    )
    graph = build_agentic_graph(model, [tool, search_tool], RAGConfig(planner=True, tool_attempts=3, tool_retry_wait=0))
    answer = graph.invoke({"question": "Who owns Relay?"})["answer"]
    assert len(calls) == 3  # bounded
    failed = [s.detail for s in answer.steps if s.kind == "search" and "error" in s.detail]
    assert failed[0]["tool"] == "flaky" and "ConnectionError: down" in failed[0]["error"]
    assert answer.text == "Harbor [1]" and answer.citations[0].evidence_id == "services/relay.md#0"


def test_a_permanent_tool_error_is_not_retried():
    tool, calls = _flaky_tool([ValueError("bad query syntax")])
    model = ScriptedChatModel(script=[])
    graph = build_agentic_graph(model, [tool], RAGConfig(tool_retry_wait=0))
    answer = graph.invoke({"question": "Who owns Relay?"})["answer"]
    assert len(calls) == 1
    # every search failed: an error that says why, not an empty store's "no evidence"
    assert answer.exit_reason is ExitReason.ERROR and model.calls == []
    assert answer.notice == "every search failed; flaky: ValueError: bad query syntax"


def test_the_model_citation_check_flags_what_the_passage_does_not_state(search_tool):
    model = ScriptedChatModel(
        script=[
            {"answer": "", "sources": [1, 2], "next_query": ""},
            written("Ines Okafor", 1, 2),
            {"supported": False},  # passage 1 (Relay) does not name the lead
            {"supported": True},
        ]
    )
    graph = build_agentic_graph(model, [search_tool], RAGConfig(k=2, citation_check="llm"))
    answer = graph.invoke({"question": "Who leads the team that owns the Relay service?"})["answer"]
    assert [(c.supported, c.checked_by) for c in answer.citations] == [(False, "llm"), (True, "llm")]
    assert answer.citations[0].claim == "Ines Okafor"
    assert "Answer: Ines Okafor" in model.prompts()[2]
    assert answer.usage.llm_calls == 4


def test_the_model_citation_check_stays_within_the_llm_budget(search_tool):
    model = ScriptedChatModel(script=[{"answer": "", "sources": [1], "next_query": ""}, written("Harbor", 1)])
    graph = build_agentic_graph(model, [search_tool], RAGConfig(k=1, citation_check="llm"))
    answer = graph.invoke({"question": "Who owns Relay?", "budget": Budget(max_llm_calls=2)})["answer"]
    assert answer.citations[0].checked_by == "lexical" and answer.usage.llm_calls == 2


def test_an_unknown_citation_check_is_a_configuration_error(search_tool):
    import pytest

    from agentic_rag.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="citation_check"):
        build_agentic_graph(ScriptedChatModel(script=[]), [search_tool], RAGConfig(citation_check="vibes"))


def test_a_second_run_on_the_same_thread_starts_from_nothing(search_tool):
    from langgraph.checkpoint.memory import InMemorySaver

    reply = [{"answer": "Harbor", "sources": [1], "next_query": ""}, written("Harbor", 1)]
    graph = build_agentic_graph(ScriptedChatModel(script=reply * 2), [search_tool], RAGConfig(k=1, adaptive=False), checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "studio"}}
    first = graph.invoke({"question": "Who owns Relay?"}, config)["answer"]
    second = graph.invoke({"question": "Who owns Relay?"}, config)["answer"]
    assert second.exit_reason is ExitReason.ANSWERED and second.text == first.text
    assert second.usage.llm_calls == 2 and second.usage.tool_calls == 1  # nothing carried over
    assert [s.kind for s in second.steps] == ["plan", "search", "judge", "answer"]


def test_a_used_up_tool_budget_does_not_stop_the_judge_or_the_answer(search_tool):
    model = ScriptedChatModel(script=[{"answer": "", "sources": [1], "next_query": "Harbor team led by"}, written("Harbor", 1)])
    graph = build_agentic_graph(model, [search_tool], RAGConfig(k=1))
    answer = graph.invoke({"question": "Who owns Relay?", "budget": Budget(max_tool_calls=1)})["answer"]
    assert [s.kind for s in answer.steps] == ["plan", "search", "judge", "refine", "answer"]
    assert answer.exit_reason is ExitReason.BUDGET_TOOL_CALLS and answer.text == "Harbor [1]"


def test_only_exceptions_are_transient():
    from agentic_rag.graphs.nodes import is_transient

    assert is_transient(ConnectionError()) and is_transient(TimeoutError())
    assert not is_transient(ValueError()) and not is_transient(KeyboardInterrupt()) and not is_transient(SystemExit())


def test_a_comparison_searches_each_name_it_compares_in_the_first_round(search_tool):
    question = "Which team has more services, Harbor or Atlas?"
    model = ScriptedChatModel(script=[{"sources": [1, 2], "answer": "Harbor", "next_query": ""}, written("Harbor", 1)])
    graph = build_agentic_graph(model, [search_tool], RAGConfig(k=1, adaptive=False, compare_values=False))
    answer = graph.invoke({"question": question})["answer"]
    searched = [s.detail["query"] for s in answer.steps if s.kind == "search"]
    assert searched == [question, "Harbor", "Atlas"]
    assert answer.usage.tool_calls == 3 and answer.usage.llm_calls == 2  # the extra searches cost no model call
    judge_prompt = model.prompts()[0]
    assert "teams/atlas.md" in judge_prompt  # the side one search of the question missed
    assert judge_prompt.index("services/relay.md") < judge_prompt.index("teams/atlas.md")  # the question's own first

    model = ScriptedChatModel(script=[{"sources": [1], "answer": "Harbor", "next_query": ""}, written("Harbor", 1)])
    graph = build_agentic_graph(model, [search_tool], RAGConfig(k=1, adaptive=False, entity_searches=False, compare_values=False))
    answer = graph.invoke({"question": question})["answer"]
    assert [s.detail["query"] for s in answer.steps if s.kind == "search"] == [question]


def test_each_prompt_of_a_run_extends_the_one_before(search_tool):
    """Passages in the order found, new ones after: llama.cpp reuses the cached prefix of the last call."""
    model = harbor_then_ines()
    run(model, search_tool, k=1)
    first_judge, second_judge, answer = model.prompts()
    passages = first_judge.split("Question:")[0]
    assert second_judge.startswith(passages.rstrip())
    assert answer.split("Question:")[0] == second_judge.split("Question:")[0]


def test_a_confirmed_answer_still_searches_a_name_no_search_has_named(search_tool):
    model = ScriptedChatModel(
        script=[
            {"answer": "Harbor", "sources": [1], "next_query": "Atlas team"},
            # the same answer again, but the judge now names a team no query has named
            {"answer": "Harbor", "sources": [1], "next_query": "Harbor messaging"},
            {"answer": "Ines Okafor", "sources": [1, 2], "next_query": ""},
            written("Ines Okafor", 2),
        ]
    )
    answer = run(model, search_tool, k=1)
    assert [s.detail["query"] for s in answer.steps if s.kind == "search"][-1] == "Harbor messaging"
    assert answer.text == "Ines Okafor [1]"


def test_cached_prompt_tokens_are_counted(search_tool):
    from langchain_core.messages import AIMessage
    import json

    def reply(content: dict, cached: int) -> AIMessage:
        usage = {"input_tokens": 100, "output_tokens": 5, "total_tokens": 105, "input_token_details": {"cache_read": cached}}
        return AIMessage(content=json.dumps(content), usage_metadata=usage)

    model = ScriptedChatModel(script=[reply({"answer": "Harbor", "sources": [1], "next_query": ""}, 0),
                                      reply(written("Harbor", 1), 80)])
    answer = run(model, search_tool, k=1)
    assert (answer.usage.prompt_tokens, answer.usage.cached_prompt_tokens) == (200, 80)
    assert answer.usage.computed_prompt_tokens == 120


def test_a_passage_whose_chunks_were_all_read_in_an_earlier_section_is_not_new():
    section = Evidence(id="guide.md#0", source="guide.md", text="Install it. Then restart.", span=(0, 25),
                       title="Guide > Install", parts=("guide.md#0", "guide.md#1"))
    inside = Evidence(id="guide.md#1", source="guide.md", text="Then restart.", span=(12, 25), title="Guide > Install")
    rounds = iter([[section], [inside]])

    def search_knowledge_base(query: str, k: int = 4) -> list[Evidence]:
        """Search."""
        return next(rounds)

    model = ScriptedChatModel(script=[
        {"sources": [1], "answer": "", "next_query": "restart after install"},
        written("Install it, then restart", 1),
    ])
    answer = run(model, StructuredTool.from_function(search_knowledge_base))
    searches = [s for s in answer.steps if s.kind == "search"]
    assert [s.detail["found"] for s in searches] == [["guide.md#0"], ["guide.md#1"]]
    # The second search found only what the first passage already holds: nothing new to judge.
    assert answer.exit_reason is ExitReason.NO_NEW_EVIDENCE
    assert answer.evidence_ids == ["guide.md#0"]
