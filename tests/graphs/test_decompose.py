"""Sub-questions: the model's plan is checked, and the question's own wording is the fallback."""

from __future__ import annotations

import pytest

from agentic_rag.graphs.decompose import checked_subquestions, compared_things, subquestions_from_wording

COMPARISON = "Compare the Signal Harbor and Mile Markers teams: who leads each, and how each ships changes."


def test_a_comparison_of_two_named_things_is_asked_once_per_thing_with_every_aspect():
    assert compared_things(COMPARISON) == [
        "The Signal Harbor teams: who leads each, and how each ships changes?",
        "The Mile Markers teams: who leads each, and how each ships changes?",
    ]
    assert compared_things("What do I do when the parcel-pulse queue backs up?") == []


def test_a_plan_that_runs_out_before_the_second_thing_gets_its_aspects_is_replaced():
    plan = ["Who leads the Signal Harbor team?", "How does the Signal Harbor team ship?", "Who leads the Mile Markers team?"]
    subs, from_model = checked_subquestions(plan, COMPARISON, most=4)
    assert not from_model and subs == compared_things(COMPARISON)


@pytest.mark.parametrize("plan", [
    ["Who leads the Signal Harbor team?", "Who leads the Mile Markers team?"],
    ["Who leads Signal Harbor and how does it ship?", "Who leads Mile Markers and how does it ship?"],
])
def test_a_balanced_plan_is_kept(plan):
    assert checked_subquestions(plan, COMPARISON, most=4) == (plan, True)


def test_a_plan_for_a_question_that_compares_nothing_is_kept_as_written():
    plan = ["What alerts fire when the queue backs up?", "Who approves a queue purge?"]
    assert checked_subquestions(plan, "What do I do when the parcel-pulse queue backs up?", most=4) == (plan, True)


def test_a_plan_that_repeats_the_question_falls_back_to_its_clauses():
    question = "Summarise incident INC-0419, and how long did INC-0441 last?"
    subs, from_model = checked_subquestions([question, "INC-0441?"], question, most=4)
    assert not from_model and subs == subquestions_from_wording(question, 4) and len(subs) >= 2
