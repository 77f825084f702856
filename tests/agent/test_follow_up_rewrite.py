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
