"""A short answer to a comparison: the fact about each compared name first, then the comparison of the facts."""

from __future__ import annotations

from agentic_rag.graphs import Budget, RAGConfig, build_agentic_graph, build_traditional_graph
from tests.fakes import ScriptedChatModel

QUESTION = "Which team is led by Tomas Reyes, Harbor or Atlas?"


def judged(answer: str = "Harbor") -> dict:
    return {"answer": answer, "sources": [1], "next_query": ""}


def facts(*items: tuple[str, str, int]) -> dict:
    return {"facts": [{"name": name, "fact": fact, "source": source} for name, fact, source in items]}


def ask(model, search_tool, budget: Budget | None = None, **settings):
    graph = build_agentic_graph(model, [search_tool], RAGConfig(**{"k": 1, "adaptive": False, **settings}))
    return graph.invoke({"question": QUESTION, **({"budget": budget} if budget else {})})["answer"]


def test_the_facts_are_read_from_the_passages_then_compared_alone(search_tool):
    model = ScriptedChatModel(script=[
        judged("Harbor"),  # the draft takes the wrong side
        facts(("Harbor", "owns the Relay service", 2), ("Atlas", "led by Tomas Reyes", 1)),
        {"answer": "Atlas", "sources": [2]},
    ])
    answer = ask(model, search_tool)
    assert answer.text == "Atlas [1]" and answer.usage.llm_calls == 3
    assert [c.evidence_id for c in answer.citations] == ["teams/atlas.md#0"]  # fact 2 came from passage 1
    judge_prompt, facts_prompt, compare_prompt = model.prompts()
    assert facts_prompt.split("Question:")[0] == judge_prompt.split("Question:")[0]  # the cached prefix carries over
    assert '"Harbor" and "Atlas"' in facts_prompt
    assert "Passages:" not in compare_prompt and "Atlas: led by Tomas Reyes" in compare_prompt
    assert answer.steps[-1].detail["facts"] == ["Harbor: owns the Relay service", "Atlas: led by Tomas Reyes"]


def test_no_fact_stated_or_no_comparison_falls_back_to_the_plain_answer(search_tool):
    model = ScriptedChatModel(script=[judged(), facts(("Harbor", "", 0), ("Atlas", "led by Tomas Reyes", 9)),
                                      {"answer": "Atlas", "sources": [1]}])
    answer = ask(model, search_tool)  # an empty fact and a passage number past the passages count for nothing
    assert answer.text == "Atlas [1]" and answer.usage.llm_calls == 3
    assert "Passages:" in model.prompts()[2]  # the plain answer over the passages

    model = ScriptedChatModel(script=[judged(), facts(("Harbor", "owns the Relay service", 2), ("Atlas", "", 0)),
                                      {"answer": "", "sources": []}, {"answer": "Atlas", "sources": [1]}])
    answer = ask(model, search_tool)  # an empty comparison: the plain answer is written
    assert answer.text == "Atlas [1]" and answer.usage.llm_calls == 4

    model = ScriptedChatModel(script=[judged(), facts(("Harbor", "owns the Relay service", 2)),
                                      {"answer": "Atlas", "sources": [1]}])
    answer = ask(model, search_tool)  # one fact for two names does not fit the reply's schema
    assert answer.text == "Atlas [1]" and answer.usage.llm_calls == 3 and "Passages:" in model.prompts()[2]


def test_the_comparison_needs_its_two_calls_in_the_budget(search_tool):
    model = ScriptedChatModel(script=[judged(), {"answer": "Atlas", "sources": [1]}])
    answer = ask(model, search_tool, budget=Budget(max_llm_calls=2))
    assert answer.text == "Atlas [1]" and answer.usage.llm_calls == 2 and answer.steps[-1].detail.get("facts") is None


def test_only_the_agentic_graph_short_answers_compare_by_facts(search_tool):
    traditional = ScriptedChatModel(script=[{"answer": "Atlas", "sources": [1]}])
    graph = build_traditional_graph(traditional, [search_tool], RAGConfig(k=3))
    assert graph.invoke({"question": QUESTION})["answer"].usage.llm_calls == 1  # one search, one answer

    model = ScriptedChatModel(script=[judged(), {"answer": "Atlas", "sources": [1]}])
    assert ask(model, search_tool, compare_by_facts=False).usage.llm_calls == 2

    detailed = ScriptedChatModel(script=[judged(), "The Atlas team is led by Tomas Reyes [1]."])
    answer = ask(detailed, search_tool, style="detailed")
    assert answer.usage.llm_calls == 2 and "Tomas Reyes" in answer.text


def test_a_comparison_that_the_judge_answered_in_one_round_still_compares_the_facts(search_tool):
    model = ScriptedChatModel(script=[judged("Harbor"), facts(("Harbor", "led by Ines Okafor", 2),
                                                             ("Atlas", "led by Tomas Reyes", 3)),
                                      {"answer": "Atlas", "sources": [2]}])
    answer = ask(model, search_tool, adaptive=True)  # the judge's draft would have been final
    assert answer.text == "Atlas [1]" and answer.usage.llm_calls == 3
