"""The Agent's answer styles, per-run settings and research reports, on a scripted model."""

from __future__ import annotations

import pytest
from langchain_core.tools import StructuredTool
from langgraph.checkpoint.memory import InMemorySaver

from agentic_rag import Agent
from agentic_rag.agent.conversation import state_serializer
from agentic_rag.errors import ConfigurationError
from agentic_rag.events import FinalAnswer, ResearchPlanned, SubquestionAnswered
from agentic_rag.graphs import Budget
from agentic_rag.testing import ScriptedChatModel
from tests.graphs.conftest import _search
from tests.graphs.test_research import QUESTION, SUBS, reply


def answers(messages):
    """The research test's replies, plus a plan that searches the question as asked."""
    text = str(messages[-1].content)
    if text.startswith("Tools:"):
        question = text.split("Question: ", 1)[1].split("\n", 1)[0]
        return {"searches": [{"tool": "search_knowledge_base", "query": question}]}
    return reply(messages)


def agent(**options) -> tuple[Agent, ScriptedChatModel]:
    model = ScriptedChatModel(script=[answers] * 30)
    tool = StructuredTool.from_function(_search, name="search_knowledge_base")
    return Agent(model, tools=[tool], k=2, **options), model


def test_the_agent_answers_detailed_by_default_with_checked_claims():
    chat, model = agent()
    answer = chat.ask("Who leads the Harbor team?")
    assert answer.style == "detailed"
    marker = answer.citations[0].marker
    assert answer.text == f"The Harbor team is led by Ines Okafor [{marker}]."  # the passage numbers stay inline
    assert answer.citations[0].source == "teams/harbor.md"
    assert [c.supported for c in answer.claims] == [True] and answer.claims[0].markers == [marker]
    assert "Start with one sentence that answers the question directly" in model.prompts()[-1]


def test_a_run_setting_changes_the_style_and_the_instructions_of_one_run_only():
    chat, model = agent()
    short = chat.ask("Who leads the Harbor team?", settings={"style": "short"})
    assert short.style == "short" and short.text == "Ines Okafor [1]"
    chat.ask("Who leads the Harbor team?", settings={"instructions": "Answer in French."})
    assert "The reader asks: Answer in French." in model.prompts()[-1]
    assert chat.ask("Who leads the Atlas team?").style == "detailed"  # the next run has the agent's own
    assert "The reader asks" not in model.prompts()[-1]


@pytest.mark.parametrize("settings, message", [
    ({"colour": "red"}, "unknown graph setting"), ({"style": "poem"}, "style"), ({"k": 0}, "k"),
])
def test_a_bad_run_setting_is_a_clear_error_before_any_model_call(settings, message):
    chat, model = agent()
    with pytest.raises(ConfigurationError, match=message):
        chat.ask("Who leads the Harbor team?", settings=settings)
    assert model.calls == []


def test_research_writes_a_report_and_streams_its_plan():
    chat, _ = agent()
    events = list(chat.stream_research(QUESTION, budget=Budget(max_llm_calls=10)))
    assert isinstance(events[0], ResearchPlanned) and events[0].subquestions == SUBS
    assert sorted(e.subquestion for e in events if isinstance(e, SubquestionAnswered)) == [1, 2]
    report = events[-1].answer
    assert isinstance(events[-1], FinalAnswer) and report.style == "report"
    assert report.text.startswith(f"# {QUESTION}") and "## References" in report.text
    assert chat.graph_name == "agentic" and chat.ask("Who leads the Atlas team?").style == "detailed"


def test_a_research_report_is_a_turn_of_a_thread_and_follow_ups_see_it():
    chat, model = agent(checkpointer=InMemorySaver(serde=state_serializer()))
    report = chat.research(QUESTION, thread_id="t1", budget=Budget(max_llm_calls=10))
    assert [turn["answer"] for turn in chat.history("t1")] == [report.text]
    with pytest.raises(ConfigurationError, match="no unfinished run"):
        chat.resume("t1")
    assert chat.conversation.pending("t1") is None
    assert report.usage.llm_calls == len(model.calls)


def test_research_on_a_thread_needs_a_checkpointer():
    chat, _ = agent()
    with pytest.raises(ConfigurationError, match="checkpointer"):
        chat.research(QUESTION, thread_id="t1")


def test_a_detailed_answer_the_model_left_uncited_gets_the_passage_that_states_it():
    def forgets_markers(messages):
        reply_ = answers(messages)
        return reply_.replace(" [1]", "").replace(" [2]", "") if isinstance(reply_, str) else reply_

    model = ScriptedChatModel(script=[forgets_markers] * 10)
    tool = StructuredTool.from_function(_search, name="search_knowledge_base")
    answer = Agent(model, tools=[tool], k=2).ask("Who leads the Harbor team?")
    [claim] = answer.claims
    assert claim.attributed and claim.supported and answer.citations[0].source == "teams/harbor.md"
    assert answer.text == f"The Harbor team is led by Ines Okafor [{claim.markers[0]}]."


def test_a_question_with_line_breaks_reaches_the_prompts_on_one_line():
    chat, model = agent()
    answer = chat.ask("Who leads the Harbor team?\n\nQuestion: who leads Atlas?")
    assert answer.question == "Who leads the Harbor team? Question: who leads Atlas?"
    assert all(prompt.count("Question: ") == 2 for prompt in model.prompts() if "Passages:" in prompt)
