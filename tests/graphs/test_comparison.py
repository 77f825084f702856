"""Comparisons the model reads and the code decides: the wording, the values, the decision, the answer node."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from agentic_rag import KnowledgeBase, build_agentic_graph, build_traditional_graph, retrieval_tools
from agentic_rag.graphs import Budget, RAGConfig
from agentic_rag.graphs.comparison import Comparison, comparison_of, compare_schema, decide, parse_date, parse_number
from tests.fakes import HashingEmbeddings, ScriptedChatModel


@pytest.mark.parametrize("question, expected", [
    ("Who was born first, Krzysztof Zanussi or Thom Andersen?", ("date", "min")),
    ("Which film is newer, The Apple Dumpling Gang or Heavyweights?", ("date", "max")),
    ("Which has the larger population, Shanghai or Hanggin Rear Banner?", ("number", "max")),
    ("Which service has fewer incidents, Relay or Atlas?", ("number", "min")),
    ("Who is the oldest, Sid Haig or Vic Darchinyan?", ("date", "min")),
    ("Are Frozen and Escape from the Dark both animated features?", None),  # yes/no: the answer call's
    ("Are Yingkou and Fuding the same level of city?", None),  # "same": not decided here
    ("Which tennis player is from a country closer to Canada, Ken Flach or Lucie Šafářová?", None),  # no date or number
    ("Who leads the team that owns the Relay service?", None),  # compares nothing
    ("Which was the first album of Relay?", None),  # one name
])
def test_which_wordings_are_comparisons_the_code_decides(question, expected):
    comparison = comparison_of(question)
    assert (None if comparison is None else (comparison.kind, comparison.pick)) == expected


@pytest.mark.parametrize("text, expected", [
    ("17 July 1939", (1939, 7, 17)), ("July 4, 1776", (1776, 7, 4)), ("March 2004", (2004, 3, 0)),
    ("1995", (1995, 0, 0)), ("founded in 1868 in Paris", (1868, 0, 0)), ("the 1990s", None), ("unknown", None),
])
def test_dates_as_passages_write_them(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("1,900", 1900.0), ("24.15 million", 24_150_000.0), ("3.5 km", 3.5), ("about 12 members", 12.0), ("many", None),
])
def test_numbers_as_passages_write_them(text, expected):
    assert parse_number(text) == expected


def _values(*entries):
    return [SimpleNamespace(name=n, value=v, source=s) for n, v, s in entries]


BORN_FIRST = Comparison(("Zanussi", "Andersen"), "date", "min")


@pytest.mark.parametrize("comparison, entries, expected", [
    (BORN_FIRST, [("Zanussi", "17 July 1939", 1), ("Andersen", "1943", 2)], ("Zanussi", [1])),
    (Comparison(("A", "B"), "date", "max"), [("A", "1975", 1), ("B", "1995", 3)], ("B", [3])),
    (BORN_FIRST, [("Zanussi", "July 1939", 1), ("Andersen", "March 1939", 2)], ("Andersen", [2])),
    (BORN_FIRST, [("Zanussi", "17 July 1939", 1), ("Andersen", "1939", 2)], None),  # the same year: a tie
    (BORN_FIRST, [("Zanussi", "long ago", 1), ("Andersen", "1943", 2)], None),  # unreadable
    (BORN_FIRST, [("Zanussi", "1939", 1), ("Zanussi", "1943", 2)], None),  # a name twice, the other missing
    (BORN_FIRST, [("Zanussi", "1939", 9), ("Andersen", "1943", 2)], None),  # a passage not shown
    (Comparison(("A", "B"), "number", "max"), [("A", "24.15 million", 1), ("B", "144,000", 2)], ("A", [1])),
])
def test_the_code_decides_only_what_the_values_settle(comparison, entries, expected):
    decision = decide(comparison, _values(*entries), passages=4)
    assert (None if decision is None else (decision.answer, decision.sources)) == expected


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
    assert answer.text.startswith("Atlas [") and [c.source for c in answer.citations] == ["services/atlas.md"]
    assert answer.usage.llm_calls == 2  # the judge, then the values: no answer call
    assert "For each of Relay, Atlas" in model.prompts()[1]
    assert model.prompts()[1].split("Question:")[0] == model.prompts()[0].split("Question:")[0]  # the cached prefix
    step = answer.steps[-1].detail
    assert step.compared.startswith("compared Relay: March 2019")


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


def test_a_detailed_answer_is_written_as_usual(tools):
    model = ScriptedChatModel(script=[judge("Relay"), "Atlas started first, in 2016 [2]."])
    answer = build_agentic_graph(model, tools, RAGConfig(style="detailed")).invoke({"question": QUESTION})["answer"]
    assert answer.usage.llm_calls == 2 and answer.steps[-1].detail.compared is None
