"""A follow-up's rewrite resolves its references and keeps what it asks, or the follow-up itself is searched."""

from __future__ import annotations

import pytest

from agentic_rag.agent.conversation import keeps_the_ask, rewrite_follow_up
from agentic_rag.testing import ScriptedChatModel

TURNS = [{"message": "Which team owns parcel-pulse?", "question": "Which team owns parcel-pulse?",
          "answer": "The **Signal Harbor** team owns parcel-pulse [1]."}]


@pytest.mark.parametrize("message, rewritten, kept", [
    ("Who leads it, and how do I reach them out of hours?",
     "Who leads Signal Harbor, and how do I reach them out of hours?", True),
    ("Who leads it, and how do I reach them out of hours?",
     "Which team owns Signal Harbor and how can I reach them out of hours?", False),  # "who leads" lost
    ("And who leads that team?", "Who leads the Signal Harbor team?", True),
    ("What about its on-call rota?", "What is the on-call rota of parcel-pulse?", True),
    ("What about its on-call rota?", "What is parcel-pulse?", False),
])
def test_a_rewrite_must_keep_the_question_words_and_every_content_word(message, rewritten, kept):
    assert keeps_the_ask(message, rewritten) is kept


def test_a_rewrite_that_loses_the_ask_falls_back_to_the_follow_up_with_the_previous_answers_names():
    model = ScriptedChatModel(script=["Which team owns Signal Harbor and how can I reach them out of hours?"])
    question, usage = rewrite_follow_up(model, "Who leads it, and how do I reach them out of hours?", TURNS)
    assert question == "Who leads it, and how do I reach them out of hours? (Signal Harbor)"
    assert usage.llm_calls == 1


def test_a_good_rewrite_is_used():
    model = ScriptedChatModel(script=["Who leads the Signal Harbor team?"])
    assert rewrite_follow_up(model, "And who leads that team?", TURNS)[0] == "Who leads the Signal Harbor team?"


@pytest.mark.parametrize(("message", "previous", "expected"), [
    ("What about INC-0441?", "Who was the incident commander for INC-0419?", "Who was the incident commander for INC-0441?"),
    ("And for a SEV2?", "How soon after a SEV1 does the postmortem have to be published?",
     "How soon after a SEV2 does the postmortem have to be published?"),
    ("And in Halifax?", "Who is the office manager at the Porto office?", "Who is the office manager at the Halifax office?"),
    ("What about someone in Halifax?", "How much is the weekly stipend for a primary based in Leeds?",
     "How much is the weekly stipend for a primary based in Halifax?"),
    ("how about Mile Markers", "Who leads Signal Harbor?", "Who leads Mile Markers?"),
    ("And who leads it?", "Which team owns parcel-pulse?", None),  # asks something itself
    ("What about it?", "Who leads Signal Harbor?", None),  # nothing named
    ("And INC-0441?", "Who leads Signal Harbor?", None),  # no code of that form before
    ("What about Leeds?", "Who is the office manager in Leeds?", None),  # the same thing again
    ("What about Q3?", "What was the revenue in Q2 for Acme?", "What was the revenue in Q3 for Acme?"),
    ("What about the deadline for INC-0441?", "Who was the incident commander for INC-0419?", None),  # asks more
    ("What about Porto's budget?", "Who is the office manager at the Lisbon office?", None),
    ("And I disagree.", "Who leads Signal Harbor?", None),
    ("And OK thanks!", "Who leads Signal Harbor?", None),
    ("And INC-0500?", "What about INC-0441?", None),  # after an ellipsis, the model resolves the thread
])
def test_an_ellipsis_is_the_previous_question_about_the_thing_it_names(message, previous, expected):
    from agentic_rag.agent.conversation import ellipsis_question

    assert ellipsis_question(message, previous) == expected


def test_an_ellipsis_follow_up_costs_no_model_call():
    from agentic_rag.agent.conversation import rewrite_follow_up

    model = ScriptedChatModel(script=[])  # any call would fail the test: the script is empty
    turns = [{"question": "Who was the incident commander for INC-0419?", "answer": "Yusra Kadeer [1]"}]
    question, cost = rewrite_follow_up(model, "What about INC-0441?", turns)
    assert question == "Who was the incident commander for INC-0441?" and cost.llm_calls == 0
