"""Typed step records: a detail model per kind, JSON round trips, read-only mapping access."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agentic_rag.answer import Answer
from agentic_rag.steps import JudgeDetail, PlanDetail, SearchDetail, SearchRequest, Step


def test_a_dict_detail_becomes_the_model_of_its_kind():
    step = Step(kind="search", detail={"tool": "kb", "query": "q", "found": ["a#0"]})
    assert isinstance(step.detail, SearchDetail) and step.detail.found == ["a#0"]
    assert isinstance(Step(kind="plan").detail, PlanDetail)


def test_a_detail_of_another_kind_is_refused():
    with pytest.raises(ValidationError):
        Step(kind="plan", detail=SearchDetail(tool="kb", query="q"))


def test_unset_fields_are_left_out_of_the_json_and_of_the_mapping_view():
    detail = JudgeDetail(relevant=["a#0"], sufficient=True)
    assert detail.model_dump() == {"relevant": ["a#0"], "sufficient": True}
    assert "relevant" in detail and "error" not in detail and "nonsense" not in detail
    assert detail["relevant"] == ["a#0"] and detail.get("error", "none") == "none"
    with pytest.raises(KeyError):
        detail["error"]


def test_an_answer_with_every_kind_of_step_survives_a_json_round_trip():
    steps = [
        Step(kind="plan", detail={"searches": [{"tool": "kb", "query": "q"}]}),
        Step(kind="search", detail={"tool": "kb", "query": "q", "found": ["a#0"], "seconds": 0.1}),
        Step(kind="judge", detail={"relevant": ["a#0"], "sufficient": True, "single_hop": True}),
        Step(kind="refine", detail={"stop": "no_new_evidence"}),
        Step(kind="answer", detail={"passages": ["a#0"], "invalid_markers": [4]}),
        Step(kind="rewrite", detail={"message": "and it?", "question": "And Relay?"}),
    ]
    answer = Answer(question="q", text="t", steps=steps)
    again = Answer.model_validate_json(answer.model_dump_json())
    assert again == answer
    assert [type(s.detail).__name__ for s in again.steps] == [
        "PlanDetail", "SearchDetail", "JudgeDetail", "RefineDetail", "AnswerDetail", "RewriteDetail"]
    assert again.steps[0].detail.searches == [SearchRequest(tool="kb", query="q")]


def test_a_search_request_equals_its_fields_and_keys_by_the_normalised_query():
    request = SearchRequest(tool="kb", query="Harbor lead?")
    assert request == {"tool": "kb", "query": "Harbor lead?"} and request != {"tool": "kb", "query": "other"}
    assert request.key() == SearchRequest(tool="kb", query="harbor  LEAD").key()
    assert len({request, SearchRequest(tool="kb", query="Harbor lead?")}) == 1
