"""Prompt placeholders match what the nodes pass; the graphs' shapes match their snapshots."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentic_rag.graphs import build_agentic_graph, build_traditional_graph, prompts
from tests.fakes import ScriptedChatModel

SNAPSHOTS = Path(__file__).parent / "snapshots"


@pytest.mark.parametrize(
    ("template", "names"),
    [
        (prompts.PLAN, {"tools", "question"}),
        (prompts.JUDGE, {"passages", "question", "answer_rule", "previous"}),
        (prompts.JUDGE_PREVIOUS, {"queries"}),
        (prompts.ANSWER, {"passages", "question", "answer_rule"}),
        (prompts.ANSWER_TEXT, {"passages", "question", "answer_rule", "no_answer"}),
        (prompts.PASSAGE, {"number", "source", "text"}),
        (prompts.BUDGET_NOTICE, {"reason"}),
        (prompts.SYSTEM, set()),
        (prompts.SUPPORT, {"passage", "question", "claim"}),
        (prompts.CONDENSE, {"history", "message"}),
        (prompts.HISTORY_TURN, {"question", "answer"}),
        (prompts.ANSWER_DETAILED, {"passages", "question", "form"}),
        (prompts.READER_FORM, {"instructions"}),
        (prompts.DECOMPOSE, {"question", "most"}),
        (prompts.SUMMARY, {"findings", "question"}),
    ],
)
def test_placeholders(template, names):
    assert prompts.placeholders(template) == names


@pytest.mark.parametrize("builder", [build_agentic_graph, build_traditional_graph])
def test_mermaid_snapshot(builder, search_tool):
    graph = builder(ScriptedChatModel(script=[]), [search_tool])
    drawing = graph.get_graph().draw_mermaid()
    snapshot = SNAPSHOTS / f"{builder.__name__}.mmd"
    assert drawing == snapshot.read_text(encoding="utf-8")
