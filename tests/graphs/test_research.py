"""The research graph on a scripted model: sub-questions in parallel, a shared budget, a checked report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentic_rag.agent.conversation import sqlite_checkpointer
from agentic_rag.answer import ExitReason
from agentic_rag.event_stream import stream_events
from agentic_rag.events import FinalAnswer, ResearchPlanned, SubquestionAnswered, SubquestionStarted, Verdict
from agentic_rag.graphs import Budget, RAGConfig, build_research_graph
from tests.fakes import ScriptedChatModel

QUESTION = "Compare the Harbor team and the Atlas team"
SUBS = ["Who leads the Harbor team?", "Who leads the Atlas team?"]


def _asked(messages) -> str:
    text = str(messages[-1].content)
    return text.rsplit("Question: ", 1)[-1].split("\n", 1)[0]


def reply(messages):
    """Answer each prompt by what it asks, so the parallel branches may call in any order."""
    text = str(messages[-1].content)
    if text.startswith("Question:") and "sub-questions" in text:
        return {"subquestions": SUBS}
    if text.startswith("Findings:"):
        return "Harbor is led by Ines Okafor [2] and Atlas by Tomas Reyes [1]."
    asked = _asked(messages)
    lead = "Ines Okafor" if "Harbor" in asked else "Tomas Reyes"
    team = "Harbor" if "Harbor" in asked else "Atlas"
    numbered = [line for line in text.splitlines() if line.startswith("[")]
    passage = next(n for n, line in enumerate(numbered, start=1) if lead in line)  # cite the passage naming the lead
    if "Give the numbers of the passages" in text:  # the judge
        return {"answer": lead, "sources": [passage], "missing": "", "next_query": ""}
    return f"The {team} team is led by {lead} [{passage}]."


def scripted(n: int = 20) -> ScriptedChatModel:
    return ScriptedChatModel(script=[reply] * n)


def run(model, search_tool, budget=None, **options):
    graph = build_research_graph(model, [search_tool], RAGConfig(k=2), **options)
    return graph.invoke({"question": QUESTION, "budget": budget or Budget(max_llm_calls=10)})["answer"]


def test_a_report_has_a_title_a_summary_a_section_per_subquestion_and_checked_references(search_tool):
    answer = run(scripted(), search_tool)
    assert answer.style == "report" and answer.exit_reason == ExitReason.ANSWERED
    text = answer.text
    assert text.startswith(f"# {QUESTION}\n\n")
    assert all(f"## {sub}" in text for sub in SUBS) and "## References" in text
    assert "Ines Okafor" in text and "Tomas Reyes" in text
    assert answer.claims and all(c.supported for c in answer.claims if c.markers)
    sources = {c.source for c in answer.citations}
    assert sources == {"teams/harbor.md", "teams/atlas.md"}
    for citation in answer.citations:  # every reference quotes the passage it points at
        assert f"[{citation.marker}] {citation.source}" in text and citation.quote in text
    assert answer.usage.llm_calls == 1 + 2 * 2 + 1  # plan, judge + answer per sub-question, summary


def test_a_subquestion_with_no_evidence_is_reported_as_not_found(search_tool):
    def nothing_on_zebras(messages):
        text = str(messages[-1].content)
        if text.startswith("Question:") and "sub-questions" in text:
            return {"subquestions": ["Who leads the Harbor team?", "zebra quokka?"]}
        return reply(messages)

    answer = build_research_graph(ScriptedChatModel(script=[nothing_on_zebras] * 10), [search_tool]).invoke(
        {"question": QUESTION, "budget": Budget(max_llm_calls=10)})["answer"]
    section = answer.text.split("## Zebra quokka?", 1)[-1] if "## Zebra" in answer.text else answer.text.split("## zebra quokka?", 1)[1]
    assert section.strip().startswith("Not found in the sources.")
    assert "1 of 2 sub-questions were not found" in (answer.notice or "")


def test_a_model_that_repeats_the_question_gets_the_questions_own_split(search_tool):
    def repeats(messages):
        text = str(messages[-1].content)
        if text.startswith("Question:") and "sub-questions" in text:
            return {"subquestions": [QUESTION]}
        return reply(messages)

    answer = build_research_graph(ScriptedChatModel(script=[repeats] * 10), [search_tool]).invoke(
        {"question": "Who leads Harbor and who leads Atlas?", "budget": Budget(max_llm_calls=10)})["answer"]
    plan = answer.steps[0].detail
    assert plan.source == "question" and plan.subquestions == ["Who leads Harbor?", "Who leads Atlas?"]


@pytest.mark.parametrize("calls", [1, 2, 3, 4, 7])
def test_the_branches_share_the_run_budget_and_the_run_always_ends_with_a_report(search_tool, calls):
    answer = run(scripted(), search_tool, budget=Budget(max_llm_calls=calls))
    assert answer.usage.llm_calls <= max(calls, 2)  # each planned branch needs at least its answer call
    assert answer.text.startswith("# ") and answer.exit_reason is not None


def test_the_stream_shows_the_plan_each_subquestion_and_its_steps(search_tool):
    graph = build_research_graph(scripted(), [search_tool], RAGConfig(k=2))
    events = list(stream_events(graph, {"question": QUESTION, "budget": Budget(max_llm_calls=10)}, None))
    assert isinstance(events[0], ResearchPlanned) and events[0].subquestions == SUBS
    started = [e.subquestion for e in events if isinstance(e, SubquestionStarted)]
    answered = [e for e in events if isinstance(e, SubquestionAnswered)]
    assert sorted(started) == [1, 2] and sorted(e.subquestion for e in answered) == [1, 2]
    assert all(e.found for e in answered)
    verdicts = [e for e in events if isinstance(e, Verdict)]
    assert sorted(v.subquestion for v in verdicts) == [1, 2]
    assert isinstance(events[-1], FinalAnswer) and events[-1].answer.style == "report"
    json.dumps([e.model_dump(mode="json") for e in events])  # every event goes to a browser as JSON


_KILLED_RUN = """
import os, sys, time
from langchain_core.tools import StructuredTool
from agentic_rag.agent.conversation import sqlite_checkpointer
from agentic_rag.graphs import Budget, RAGConfig, build_research_graph
from agentic_rag.testing import ScriptedChatModel
from tests.graphs.conftest import _search
from tests.graphs.test_research import QUESTION, _asked, reply

def dies_on_atlas(messages):
    if _asked(messages) == "Who leads the Atlas team?":
        time.sleep(1.0)  # meanwhile the other sub-question finishes and its result is saved
        os._exit(9)  # the process dies in the middle of the second sub-question
    return reply(messages)

graph = build_research_graph(ScriptedChatModel(script=[dies_on_atlas] * 20),
                             [StructuredTool.from_function(_search, name="search_knowledge_base")],
                             RAGConfig(k=2), checkpointer=sqlite_checkpointer(sys.argv[1]))
graph.invoke({"question": QUESTION, "budget": Budget(max_llm_calls=10)},
             {"configurable": {"thread_id": "r1"}}, durability="sync")
"""


def test_a_killed_run_resumes_without_redoing_a_finished_subquestion(search_tool, tmp_path):
    db = tmp_path / "threads.sqlite"
    root = Path(__file__).resolve().parents[2]
    killed = subprocess.run([sys.executable, "-c", _KILLED_RUN, str(db)], cwd=root, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(root)}, capture_output=True, text=True)
    assert killed.returncode == 9, killed.stderr[-2000:]
    model = scripted()
    graph = build_research_graph(model, [search_tool], RAGConfig(k=2), checkpointer=sqlite_checkpointer(db))
    answer = graph.invoke(None, {"configurable": {"thread_id": "r1"}}, durability="sync")["answer"]
    asked = [p.rsplit("Question: ", 1)[-1].split("\n", 1)[0] for p in model.prompts()]
    assert "Who leads the Harbor team?" not in asked  # the finished sub-question was not run again
    assert "Who leads the Atlas team?" in asked
    assert "Tomas Reyes" in answer.text and "Ines Okafor" in answer.text


def test_a_report_whose_findings_have_no_supported_claim_summarises_their_first_sentences(search_tool):
    def unsupported(messages):
        text = str(messages[-1].content)
        if "Give the numbers of the passages" in text or "sub-questions" in text or text.startswith("Findings:"):
            return reply(messages)
        return "Harbor has a purple office on the moon [1]."  # cited, but no passage says so

    answer = build_research_graph(ScriptedChatModel(script=[unsupported] * 20), [search_tool], RAGConfig(k=2)).invoke(
        {"question": QUESTION, "budget": Budget(max_llm_calls=10)})["answer"]
    summary = answer.text.split("\n\n")[1]
    assert summary.startswith("Harbor has a purple office on the moon")
    assert not any(c.supported for c in answer.claims if "moon" in c.text)
