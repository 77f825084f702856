"""Comparisons the model reads and the code decides: the wording, the values, the decision, the answer node."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from agentic_rag import KnowledgeBase, build_agentic_graph, build_traditional_graph, retrieval_tools
from agentic_rag.graphs import Budget, RAGConfig
from agentic_rag.graphs.comparison import (
    Comparison, comparison_of, compare_schema, decide, parse_date, parse_number, written_in,
)
from tests.fakes import HashingEmbeddings, ScriptedChatModel


@pytest.mark.parametrize("question, expected", [
    ("Who was born first, Krzysztof Zanussi or Thom Andersen?", ("date", "min")),
    ("Which film is newer, The Apple Dumpling Gang or Heavyweights?", ("date", "max")),
    ("Which has the larger population, Shanghai or Hanggin Rear Banner?", ("number", "max")),
    ("Which service has fewer incidents, Relay or Atlas?", ("number", "min")),
    ("Who is the oldest, Sid Haig or Vic Darchinyan?", ("date", "min")),
    ("Are Frozen and Escape from the Dark both animated features?", None),  # yes/no: the answer call's
    ("Which film came out more recently, The Apple Dumpling Gang or Heavyweights?", ("date", "max")),
    ("Which of The Last Emperor or Gandhi was released earlier?", ("date", "min")),  # "Last" is in a name
    ("Which band has more members, Muse or Coldplay?", ("number", "max")),
    ("Which year was the older of Harvard University or Yale University founded?", None),  # asks a year
    ("Who was the first president of Harvard or Yale?", None),  # "first" qualifies "president"
    ("What was the last film of Kubrick or Hitchcock?", None),
    ("Which author was more popular in the 70s, Richard Wright or Richard Bach?", None),  # no number measures it
    ("Are Yingkou and Fuding the same level of city?", None),  # "same": not decided here
    ("Which tennis player is from a country closer to Canada, Ken Flach or Lucie Šafářová?", None),  # no date or number
    ("Who leads the team that owns the Relay service?", None),  # compares nothing
    ("Which was the first album of Relay?", None),  # one name
])
def test_which_wordings_are_comparisons_the_code_decides(question, expected):
    comparison = comparison_of(question)
    assert (None if comparison is None else (comparison.kind, comparison.pick)) == expected


def test_birth_dates_are_asked_for_only_when_the_question_compares_ages():
    assert comparison_of("Who is the oldest, Sid Haig or Vic Darchinyan?").born
    assert not comparison_of("Who died first, Krzysztof Zanussi or Thom Andersen?").born


@pytest.mark.parametrize("text, expected", [
    ("17 July 1939", (1939, 7, 17)), ("July 4, 1776", (1776, 7, 4)), ("March 2004", (2004, 3, 0)),
    ("1995", (1995, 0, 0)), ("founded in 1868 in Paris", (1868, 0, 0)), ("the 1990s", None), ("unknown", None),
    ("500 bc", None), ("may have been 1920", (1920, 0, 0)), ("10:30, 5 May 1920", (1920, 5, 5)),
    ("Sept. 3, 1901", (1901, 9, 3)),
])
def test_dates_as_passages_write_them(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("1,900", 1900.0), ("24.15 million", 24_150_000.0), ("3.5 km", 3.5), ("about 12 members", 12.0), ("many", None),
    ("1.85 m", 1.85), ("2010 census: 24,000", 24_000.0), ("-5 °C", -5.0), ("1995", 1995.0),
])
def test_numbers_as_passages_write_them(text, expected):
    assert parse_number(text) == expected


def _values(*entries):
    return [SimpleNamespace(name=n, value=v, source=s) for n, v, s in entries]


BORN_FIRST = Comparison(("Zanussi", "Andersen"), "date", "min")


@pytest.mark.parametrize("comparison, entries, expected", [
    (BORN_FIRST, [("Zanussi", "17 July 1939", 1), ("Andersen", "1943", 2)], ("Zanussi", [1, 2])),
    (Comparison(("A", "B"), "date", "max"), [("A", "1975", 1), ("B", "1995", 3)], ("B", [3, 1])),
    (BORN_FIRST, [("Zanussi", "July 1939", 1), ("Andersen", "March 1939", 2)], ("Andersen", [2, 1])),
    (BORN_FIRST, [("Zanussi", "17 July 1939", 1), ("Andersen", "1939", 2)], None),  # the same year: a tie
    (BORN_FIRST, [("Zanussi", "long ago", 1), ("Andersen", "1943", 2)], None),  # unreadable
    (BORN_FIRST, [("Zanussi", "1939", 1), ("Zanussi", "1943", 2)], None),  # a name twice, the other missing
    (BORN_FIRST, [("Zanussi", "1939", 9), ("Andersen", "1943", 2)], None),  # a passage not shown
    (Comparison(("A", "B"), "number", "max"), [("A", "24.15 million", 1), ("B", "144,000", 2)], ("A", [1, 2])),
    (Comparison(("A", "B"), "number", "max"), [("A", "2 km", 1), ("B", "1,500 m", 2)], None),  # units differ
    (Comparison(("A", "B"), "number", "min"), [("A", "3,000 people", 1), ("B", "1.2 million", 2)], ("A", [1, 2])),
])
def test_the_code_decides_only_what_the_values_settle(comparison, entries, expected):
    # four passages shown, each writing the values said to come from it
    texts = [" ".join(str(v) for _, v, source in entries if source == n) for n in range(1, 5)]
    decision = decide(comparison, _values(*entries), passages=texts)
    assert (None if decision is None else (decision.answer, decision.sources)) == expected


@pytest.mark.parametrize("value, kind, passage, expected", [
    ("17 July 1939", "date", "Zanussi (born 17 July 1939) is a director.", True),
    ("17 July 1939", "date", "Dinosaur is a 2000 film.", False),  # the prompt's example, copied
    ("2010-05-18", "date", "formed on May 18, 2010", True),
    ("1,900", "number", "about 1900 species", True),
    ("1,900", "number", "some 19,000 species", False),
    ("24.15 million", "number", "a population of 24.15 million", True),
    ("3", "number", "13 members", False),
    ("24,000,000", "number", "a population of more than 24 million", True),  # the same quantity, other words
    ("24,150,000", "number", "a population of more than 24 million", False),
    ("2,400", "number", "2.4 thousand seats", True),
])
def test_a_value_counts_only_when_its_passage_writes_it(value, kind, passage, expected):
    assert written_in(value, kind, passage) is expected


def test_a_value_its_passage_does_not_write_decides_nothing():
    entries = _values(("Zanussi", "17 July 1939", 1), ("Andersen", "1943", 2))
    assert decide(BORN_FIRST, entries, ["Zanussi is a Polish director.", "Andersen was born in 1943."]) is None


def test_a_value_cited_to_the_wrong_passage_is_cited_to_the_one_that_names_it_and_writes_it():
    desks = Comparison(("Harbourlight Building", "Casa Gaivota"), "number", "max")
    passages = [
        "Staff directory: who sits where in both offices.",
        "The Harbourlight Building has 45 desks on two floors.",
        "Casa Gaivota has 70 desks and a roof terrace.",
    ]
    entries = _values(("Harbourlight Building", "45", 2), ("Casa Gaivota", "70", 1))
    decision = decide(desks, entries, passages)
    assert decision is not None and (decision.answer, decision.sources) == ("Casa Gaivota", [3, 2])
    assert decision.support == {3: "Casa Gaivota: 70", 2: "Harbourlight Building: 45"}
    # a passage that writes the value but does not name the compared entity is not taken in its place
    entries = _values(("Harbourlight Building", "45", 2), ("Casa Gaivota", "70", 2))
    assert decide(desks, entries, ["Staff directory: 70 people work across both offices.", passages[1]]) is None


def test_the_reply_schema_holds_one_value_for_each_compared_name_and_no_other():
    schema = compare_schema(BORN_FIRST)
    reply = schema.model_validate({"values": [{"name": "Zanussi", "value": "1939", "source": 1},
                                              {"name": "Andersen", "value": "1943", "source": 2}]})
    assert [v.name for v in reply.values] == ["Zanussi", "Andersen"]
    for bad in ([{"name": "Zanussi", "value": "1939", "source": 1}],
                [{"name": "Zanussi", "value": "1939", "source": 1}, {"name": "Godard", "value": "1930", "source": 2}]):
        with pytest.raises(ValueError):
            schema.model_validate({"values": bad})


QUESTION = "Which service started first, Relay or Atlas?"


@pytest.fixture
def tools():
    kb = KnowledgeBase(HashingEmbeddings())
    kb.add_texts([("services/relay.md", "Relay is the mail service. It started in March 2019."),
                  ("services/atlas.md", "Atlas is the map service. It started in 2016."),
                  ("handbook/canteen.md", "The canteen opens at noon.")])
    return retrieval_tools(kb, k=2)


def _number(prompt: str, source: str) -> int:
    return int(re.search(rf"\[(\d+)\] \({re.escape(source)}\)", prompt).group(1))


def judge(answer="Relay"):
    return lambda m: {"answer": answer, "sources": [_number(m[-1].content, "services/relay.md")], "next_query": ""}


def values(relay: str, atlas: str):
    return lambda m: {"values": [{"name": "Relay", "value": relay, "source": _number(m[-1].content, "services/relay.md")},
                                 {"name": "Atlas", "value": atlas, "source": _number(m[-1].content, "services/atlas.md")}]}


def test_the_answer_to_a_comparison_is_the_codes_decision_from_the_values_the_model_read(tools):
    model = ScriptedChatModel(script=[judge("Relay"), values("March 2019", "2016")])
    answer = build_agentic_graph(model, tools, RAGConfig(style="short")).invoke({"question": QUESTION})["answer"]
    # the answer cites both values it rests on, the winner's first
    assert answer.text.startswith("Atlas [") and [c.source for c in answer.citations] == ["services/atlas.md", "services/relay.md"]
    assert answer.usage.llm_calls == 2  # the judge, then the values: no answer call
    assert "For each of Relay, Atlas" in model.prompts()[1]
    assert model.prompts()[1].split("Question:")[0] == model.prompts()[0].split("Question:")[0]  # the cached prefix
    step = answer.steps[-1].detail
    assert step.compared.startswith("compared Relay: March 2019")
    # each citation supports the value its passage writes, the loser's too (it does not name the answer)
    relay = answer.citations[1]
    assert relay.supported and relay.claim == "Relay: March 2019" and "March 2019" in relay.quote
    assert answer.citations[0].supported and answer.citations[0].claim == "Atlas: 2016"


def test_values_that_settle_nothing_leave_the_answer_to_the_usual_path(tools):
    model = ScriptedChatModel(script=[judge("Relay"), values("recently", "2016"),
                                      lambda m: {"answer": "Relay", "sources": [_number(m[-1].content, "services/relay.md")]}])
    answer = build_agentic_graph(model, tools, RAGConfig(style="short", adaptive=False)).invoke({"question": QUESTION})["answer"]
    assert answer.text.startswith("Relay [") and answer.usage.llm_calls == 3
    assert answer.steps[-1].detail.compared.startswith("undecided")


def test_no_comparison_call_when_the_budget_cannot_pay_for_it_nor_in_the_traditional_graph(tools):
    model = ScriptedChatModel(script=[judge("Relay"), {"answer": "Relay", "sources": [1]}])
    graph = build_agentic_graph(model, tools, RAGConfig(style="short", adaptive=False))
    answer = graph.invoke({"question": QUESTION, "budget": Budget(max_llm_calls=2)})["answer"]
    assert answer.text.startswith("Relay") and answer.usage.llm_calls == 2 and answer.steps[-1].detail.compared is None

    model = ScriptedChatModel(script=[{"answer": "Relay", "sources": [1]}])
    answer = build_traditional_graph(model, tools, RAGConfig(style="short")).invoke({"question": QUESTION})["answer"]
    assert answer.usage.llm_calls == 1 and answer.steps[-1].detail.compared is None


def test_the_comparison_and_the_answer_after_it_stay_within_the_llm_call_budget(tools):
    undecided = values("recently", "2016")
    written = lambda m: {"answer": "Relay", "sources": [_number(m[-1].content, "services/relay.md")]}  # noqa: E731
    graph = build_agentic_graph(ScriptedChatModel(script=[judge("Relay"), undecided, written]), tools,
                                RAGConfig(style="short", adaptive=False))
    answer = graph.invoke({"question": QUESTION, "budget": Budget(max_llm_calls=3)})["answer"]
    assert answer.usage.llm_calls == 3 and answer.text.startswith("Relay [")  # exactly fits: judge, values, answer
    assert answer.steps[-1].detail.compared.startswith("undecided")

    # a malformed answer after the comparison gets no retry nor plain-text call past the budget
    graph = build_agentic_graph(ScriptedChatModel(script=[judge("Relay"), undecided, "not json", "not json", "Relay [1]"]),
                                tools, RAGConfig(style="short", adaptive=False))
    answer = graph.invoke({"question": QUESTION, "budget": Budget(max_llm_calls=3)})["answer"]
    assert answer.usage.llm_calls == 3


def test_a_failed_comparison_call_is_recorded_and_the_answer_written_as_usual(tools):
    written = lambda m: {"answer": "Relay", "sources": [_number(m[-1].content, "services/relay.md")]}  # noqa: E731
    model = ScriptedChatModel(script=[judge("Relay"), "not json", "not json", written])
    answer = build_agentic_graph(model, tools, RAGConfig(style="short", adaptive=False)).invoke({"question": QUESTION})["answer"]
    assert answer.text.startswith("Relay [") and answer.steps[-1].detail.compared.startswith("failed")


def test_a_detailed_answer_is_written_as_usual(tools):
    model = ScriptedChatModel(script=[judge("Relay"), "Atlas started first, in 2016 [2]."])
    answer = build_agentic_graph(model, tools, RAGConfig(style="detailed")).invoke({"question": QUESTION})["answer"]
    assert answer.usage.llm_calls == 2 and answer.steps[-1].detail.compared is None
