"""The loop's decisions, table-driven, apart from any graph or model."""

from __future__ import annotations

import pytest

from agentic_rag.graphs import decisions
from agentic_rag.steps import SearchRequest

JUDGE_DEFAULTS = dict(
    draft_answer="Ines Okafor", cited=1, asks_more=True, previous_answer="", adaptive=False, first_round=True,
    single_hop=False, passages_cover_question=False,
)


@pytest.mark.parametrize(
    "change, answered, sufficient, final",
    [
        ({}, True, False, False),  # answered, but the judge asks for more and nothing confirms it
        ({"asks_more": False}, True, True, False),  # asks for nothing more: the search ends
        ({"draft_answer": ""}, False, False, False),  # no answer
        ({"cited": 0, "asks_more": False}, False, False, False),  # an answer without a cited passage is none
        ({"previous_answer": "ines okafor!"}, True, True, False),  # the previous round gave the same answer
        ({"previous_answer": "Harbor"}, True, False, False),  # a different earlier answer confirms nothing
        ({"adaptive": True, "single_hop": True}, True, True, True),  # single-hop wording: final in round one
        ({"adaptive": True, "passages_cover_question": True}, True, True, True),  # passages hold the question
        ({"adaptive": True, "passages_cover_question": True, "first_round": False}, True, True, False),
        ({"adaptive": False, "single_hop": True, "passages_cover_question": True}, True, False, False),
        ({"adaptive": True, "single_hop": True, "cited": 0}, False, False, False),
        ({"adaptive": True, "single_hop": True, "draft_answer": "Yes."}, True, True, False),  # the answer call writes a yes/no
        ({"adaptive": True, "passages_cover_question": True, "draft_answer": "no"}, True, True, False),
        ({"adaptive": True, "single_hop": True, "draft_answer": "Yes Minister"}, True, True, True),  # a title, not a yes
    ],
)
def test_judge_outcome(change, answered, sufficient, final):
    outcome = decisions.judge_outcome(**{**JUDGE_DEFAULTS, **change})
    assert (outcome.answered, outcome.sufficient, outcome.final) == (answered, sufficient, final)


@pytest.mark.parametrize(
    "query, searched, expected",
    [
        ("Heron team lead", ["Who leads the team that owns Atlas?"], True),  # a name a passage gave
        ("Atlas owner", ["Who leads the team that owns Atlas?"], False),  # the question named Atlas
        ("team lead", ["Atlas"], False),  # no name at all
        ("Heron lead", ["Atlas", "heron team"], False),  # searched in an earlier round, any case
        ("Big Hero 6 label", ["Never Cry Wolf"], True),
        ("Jean-Luc Godard films", ["Who influenced Jean-Luc Godard?"], False),  # hyphenated, searched before
        ("COVID-19 vaccine maker", ["covid 19 vaccine"], False),
    ],
)
def test_names_unsearched(query, searched, expected):
    assert decisions.names_unsearched(query, searched) is expected


def test_the_reading_order_keeps_what_a_later_round_found_past_the_limit():
    found = ["a#0", "b#0", "c#0", "a#1", "d#0", "e#0"]
    # a judge cited b; the last round found d and e: they stay, the earliest found fill the rest (a#1 is dropped)
    assert decisions.reading_order(found, ["b#0", "d#0", "e#0"], 5) == ["a#0", "b#0", "c#0", "d#0", "e#0"]
    assert decisions.reading_order(found, [], 8) == ["a#0", "a#1", "b#0", "c#0", "d#0", "e#0"]  # chunks of a together


def test_a_confirmed_answer_does_not_stop_a_search_for_a_name_never_searched():
    confirmed = {**JUDGE_DEFAULTS, "previous_answer": "Ines Okafor"}
    assert decisions.judge_outcome(**confirmed).sufficient
    assert not decisions.judge_outcome(**confirmed, asks_unsearched=True).sufficient
    assert decisions.judge_outcome(**{**confirmed, "asks_more": False}, asks_unsearched=True).sufficient


def s(query: str, tool: str = "kb") -> SearchRequest:
    return SearchRequest(tool=tool, query=query)


@pytest.mark.parametrize(
    "candidates, done, expected",
    [
        ([s("Harbor lead")], [], [s("Harbor lead")]),
        ([s("Harbor lead")], [s("harbor LEAD?")], []),  # the same query after normalising was run
        ([s("Harbor lead", "other")], [s("Harbor lead")], [s("Harbor lead", "other")]),  # on another tool it is new
        ([s("  ?! ")], [], []),  # nothing to search for
        ([s("a"), s("b")], [], [s("a")]),  # one query a round...
        ([s("a"), s("a", "other"), s("b")], [], [s("a"), s("a", "other")]),  # ...on each of its tools
    ],
)
def test_fresh_searches(candidates, done, expected):
    assert decisions.fresh_searches(candidates, done) == expected


@pytest.mark.parametrize(
    "found, cited, limit, expected",
    [
        (["a", "b", "c"], ["c"], 8, ["a", "b", "c"]),  # everything found, in the order found
        (["a", "b", "c", "d"], ["d"], 2, ["a", "d"]),  # past the limit the cited come first, then the earliest
        (["a", "b", "c", "d"], ["d", "c", "x"], 2, ["c", "d"]),  # kept in the order found; unknown ids ignored
        (["a", "b", "c"], [], 2, ["a", "b"]),
    ],
)
def test_answer_passage_ids(found, cited, limit, expected):
    assert decisions.answer_passage_ids(found, cited, limit) == expected


ANSWER_DEFAULTS = dict(
    sufficient=True, draft_is_final=False, draft_asks_nothing_more=False, answer_from_judge=False,
    draft_sources_found=True, has_passages=True, retrieval_needed=True,
)


@pytest.mark.parametrize(
    "change, path",
    [
        ({}, "from_passages"),
        ({"draft_is_final": True}, "judge_draft"),
        ({"draft_is_final": True, "sufficient": False}, "from_passages"),  # a budget stop: the answer call
        ({"draft_is_final": True, "draft_sources_found": False}, "from_passages"),
        ({"draft_asks_nothing_more": True}, "from_passages"),
        ({"draft_asks_nothing_more": True, "answer_from_judge": True}, "judge_draft"),
        ({"has_passages": False}, "not_found"),
        ({"has_passages": False, "retrieval_needed": False}, "without_passages"),
    ],
)
def test_answer_path(change, path):
    assert decisions.answer_path(**{**ANSWER_DEFAULTS, **change}) == path


@pytest.mark.parametrize("ids, expected", [
    (["rb.md#3", "rb.md#0", "svc.md#2", "rb.md#2", "rb.md#1"], ["rb.md#0", "rb.md#1", "rb.md#2", "rb.md#3", "svc.md#2"]),
    (["b#1", "a#0", "b#0"], ["b#0", "b#1", "a#0"]),  # sources in the order their first chunk came
    (["tool:abc", "x#2", "tool:def"], ["tool:abc", "x#2", "tool:def"]),  # ids without chunk numbers keep their place
    ([], []),
])
def test_longer_answers_read_each_documents_chunks_in_order(ids, expected):
    assert decisions.in_document_order(ids) == expected
