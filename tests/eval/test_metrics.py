"""Metric functions against hand-worked cases."""

from __future__ import annotations

import pytest

from agentic_rag.answer import Answer, Citation, Claim, Step
from agentic_rag.eval.metrics import (
    answer_evidence_ids,
    bootstrap_ci,
    claims_supported,
    exact_match,
    gold_in_answer,
    f1_score,
    normalize_answer,
    precision,
    question_metrics,
    recall,
    recall_by_round,
    source_of_evidence_id,
    strip_markers,
)


def test_normalisation_follows_squad():
    assert normalize_answer("The  Harbor Team!") == "harbor team"
    assert normalize_answer("An apple, a day.") == "apple day"
    assert normalize_answer("Ines-Okafor") == "inesokafor"  # punctuation is deleted, not spaced
    assert normalize_answer("theatre") == "theatre"  # articles only as whole words


def test_exact_match_and_f1_hand_worked():
    assert exact_match("the Harbor team.", "Harbor Team") == 1.0
    assert exact_match("Harbor", "Harbor team") == 0.0
    # pred tokens: ines okafor leads harbor team (5); gold: ines okafor (2); overlap 2
    # precision 2/5, recall 1 -> F1 = 2 * 0.4 * 1 / 1.4
    assert f1_score("Ines Okafor leads the Harbor team", "Ines Okafor") == pytest.approx(0.8 / 1.4)
    # repeated tokens count per occurrence: "x y y" vs "y y z" -> overlap 2, p = r = 2/3
    assert f1_score("x y y", "y y z") == pytest.approx(2 / 3)


def test_a_long_answer_counts_when_a_gold_answer_appears_in_it_as_whole_words():
    text = "The Harbor team is led by Ines Okafor, who joined in 2019 [1]."
    assert gold_in_answer(text, ["Ines Okafor"]) == 1.0
    assert gold_in_answer(text, ["nope", "the harbor TEAM"]) == 1.0  # any alias, normalised
    assert gold_in_answer(text, ["Ines Okafor-Reid"]) == 0.0
    assert gold_in_answer("in 20190 [1]", ["2019"]) == 0.0  # whole words, not a substring of one
    assert gold_in_answer(text, [""]) == 0.0


def test_the_supported_claim_rate_counts_cited_claims_only():
    claims = [Claim(text="a", markers=[1], supported=True), Claim(text="b", markers=[2], supported=False),
              Claim(text="c", markers=[], supported=False)]
    assert claims_supported(Answer(question="q", text="a [1]. b [2]. c.", claims=claims)) == 0.5
    assert claims_supported(Answer(question="q", text="c.", claims=claims[2:])) is None


def test_aliases_take_the_best_gold():
    golds = ["G. Stanley Hall", "Stanley Hall"]
    assert exact_match("Stanley Hall", golds) == 1.0
    assert f1_score("Stanley Hall", golds) == 1.0
    # against the main answer only: g stanley hall vs stanley hall -> p 1, r 2/3 -> F1 0.8
    assert f1_score("Stanley Hall", golds[:1]) == pytest.approx(0.8)
    assert exact_match("Hall", golds) == 0.0


def test_zero_overlap_and_empty():
    assert f1_score("Paris", "London") == 0.0
    assert exact_match("Paris", "London") == 0.0
    assert f1_score("", "London") == 0.0
    assert f1_score("the a an", "London") == 0.0  # only articles: nothing left
    assert f1_score("anything", []) == 0.0


def test_yes_no_only_match_themselves():
    assert f1_score("yes it is", "yes") == 0.0
    assert f1_score("no", "no") == 1.0
    assert f1_score("no", "no way out") == 0.0


def test_markers_are_stripped_before_scoring():
    assert strip_markers("Okafor leads it [1][2].") == "Okafor leads it."
    assert strip_markers("A [1, 2] and B [3; 4]") == "A and B"


def test_recall_precision_and_sources():
    assert recall(["a", "b", "x"], ["a", "b", "c", "d"]) == 0.5
    assert recall([], []) == 1.0
    assert precision(["a", "x", "y", "z"], ["a"]) == 0.25
    assert precision([], ["a"]) is None
    assert source_of_evidence_id("C# (language)#3") == "C# (language)"
    assert source_of_evidence_id("tool:abc") == "tool:abc"


def _agentic_answer(text="Hall [1].", cited=("B#0",), steps=None) -> Answer:
    steps = steps or [
        Step(kind="plan", detail={"searches": [{"tool": "s", "query": "q1"}]}),
        Step(kind="search", detail={"tool": "s", "query": "q1", "found": ["A#0", "X#0"]}),
        Step(kind="judge", detail={"relevant": ["A#0"], "sufficient": False, "missing": "m", "next_query": "q2"}),
        Step(kind="refine", detail={"searches": [{"tool": "s", "query": "q2"}]}),
        Step(kind="search", detail={"tool": "s", "query": "q2", "found": ["B#0", "B#1"]}),
        Step(kind="search", detail={"tool": "k", "query": "q2", "found": ["Y#0"]}),
        Step(kind="judge", detail={"relevant": ["B#1"], "sufficient": True, "missing": "", "next_query": ""}),
        Step(kind="answer", detail={"invalid_markers": []}),
    ]
    return Answer(
        question="q",
        text=text,
        citations=[Citation(marker=i + 1, evidence_id=e, source=e.split("#")[0], quote="") for i, e in enumerate(cited)],
        evidence_ids=["A#0", "X#0", "B#0", "B#1", "Y#0"],
        steps=steps,
    )


def test_question_metrics_agentic():
    answer = _agentic_answer()
    m = question_metrics(answer, ["G. Stanley Hall", "Stanley Hall"], ["A", "B", "C"], "agentic")
    assert m["em"] == 0.0 and m["f1"] == pytest.approx(2 * 1 * 0.5 / 1.5)  # "hall" vs "stanley hall"
    assert m["supporting_recall"] == pytest.approx(2 / 3)
    # cited B#0 and last judge's relevant B#1: both source B -> 1 of 3 gold paragraphs
    assert m["answer_recall"] == pytest.approx(1 / 3)
    assert m["citation_precision"] == 1.0
    assert m["rounds"] == 2
    assert m["recall_by_round"] == pytest.approx([1 / 3, 2 / 3])


def test_traditional_answer_evidence_is_everything_retrieved():
    answer = Answer(
        question="q", text="I cannot answer this from the sources.", evidence_ids=["A#0", "X#0"],
        steps=[Step(kind="search", detail={"tool": "s", "query": "q", "found": ["A#0", "X#0"]}), Step(kind="answer")],
    )
    m = question_metrics(answer, ["Hall"], ["A", "B"], "traditional")
    assert m["answer_recall"] == 0.5 == m["supporting_recall"]
    assert m["citation_precision"] is None
    assert m["recall_by_round"] == [0.5]


def test_skipped_judge_passes_on_relevant_and_new_evidence():
    steps = [
        Step(kind="search", detail={"found": ["A#0", "X#0"]}),
        Step(kind="judge", detail={"relevant": ["A#0"], "sufficient": False}),
        Step(kind="search", detail={"found": ["B#0"]}),
        Step(kind="judge", detail={"skipped": "budget_llm_calls"}),
        Step(kind="answer"),
    ]
    answer = _agentic_answer(cited=(), steps=steps)
    assert answer_evidence_ids(answer, "agentic") == ["A#0", "B#0"]
    recorded = [*steps[:-1], Step(kind="answer", detail={"passages": ["X#0"]})]
    assert answer_evidence_ids(_agentic_answer(cited=(), steps=recorded), "agentic") == ["X#0"]
    assert recall_by_round(answer, ["B"]) == [0.0, 1.0]


def test_bootstrap_interval_is_seeded_and_sane():
    values = [0.0, 1.0] * 50
    first = bootstrap_ci(values, seed=3)
    assert first == bootstrap_ci(values, seed=3)
    assert first["mean"] == 0.5 and first["n"] == 100
    assert 0.35 < first["low"] < 0.5 < first["high"] < 0.65
    assert bootstrap_ci([1.0, 1.0, 1.0]) == {"mean": 1.0, "low": 1.0, "high": 1.0, "n": 3}
    assert bootstrap_ci([None, 2.0]) == {"mean": 2.0, "low": None, "high": None, "n": 1}
    assert bootstrap_ci([]) == {"mean": None, "low": None, "high": None, "n": 0}
