"""The traditional graph: one search with the question, one answer."""

from __future__ import annotations

from agentic_rag.answer import ExitReason
from agentic_rag.graphs import build_traditional_graph
from tests.fakes import ScriptedChatModel


def test_retrieve_once_then_answer(search_tool):
    model = ScriptedChatModel(script=[{"answer": "the Harbor team", "sources": [1]}])
    graph = build_traditional_graph(model, [search_tool])
    answer = graph.invoke({"question": "Which team owns the Relay service?"})["answer"]
    assert answer.exit_reason is ExitReason.ANSWERED
    assert answer.text == "the Harbor team [1]"
    assert answer.usage.llm_calls == 1 and answer.usage.tool_calls == 1
    assert answer.citations[0].evidence_id == "services/relay.md#0"
    assert "Which team owns the Relay service?" in model.prompts()[0]
    assert [s.kind for s in answer.steps] == ["search", "answer"]


def test_nothing_found_means_no_model_call():
    from langchain_core.tools import StructuredTool

    def empty(query: str) -> list:
        """Finds nothing."""
        return []

    model = ScriptedChatModel(script=[])
    graph = build_traditional_graph(model, [StructuredTool.from_function(empty)])
    answer = graph.invoke({"question": "Anything?"})["answer"]
    assert answer.exit_reason is ExitReason.NO_EVIDENCE
    assert model.calls == []


def test_an_empty_structured_answer_says_it_cannot_answer(search_tool):
    model = ScriptedChatModel(script=[{"answer": "", "sources": []}])
    graph = build_traditional_graph(model, [search_tool])
    answer = graph.invoke({"question": "Which team owns the Relay service?"})["answer"]
    assert answer.text == "I cannot answer this from the sources." and answer.citations == []


def test_malformed_structured_answer_falls_back_to_plain_text(search_tool):
    model = ScriptedChatModel(script=["not json", "still not json", "the Harbor team [1]"])
    graph = build_traditional_graph(model, [search_tool])
    answer = graph.invoke({"question": "Which team owns the Relay service?"})["answer"]
    assert answer.text == "the Harbor team [1]" and answer.exit_reason is ExitReason.ANSWERED
    assert answer.usage.llm_calls == 3
    assert "like: Canberra [1]" in model.prompts()[-1]
