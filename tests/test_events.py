"""Typed events from Agent.stream / astream, and the answer-text extractor behind the token events."""

from __future__ import annotations

import asyncio

import pytest

from agentic_rag import Agent
from agentic_rag import events as ev
from tests.fakes import ScriptedChatModel
from tests.graphs.conftest import _search


def _script():
    # tools of one's own turn the planner on: the first reply is the plan
    return [
        {"searches": [{"tool": "search_knowledge_base", "query": QUESTION}]},
        {"sources": [1], "answer": "", "next_query": "Harbor team led by"},
        {"sources": [1, 2], "answer": "Ines Okafor", "next_query": ""},
        {"answer": "Ines Okafor", "sources": [2]},
    ]


def _agent(model):
    from langchain_core.tools import StructuredTool

    tool = StructuredTool.from_function(_search, name="search_knowledge_base")
    return Agent(model, tools=[tool], k=1, style="short")


QUESTION = "Who leads the team that owns the Relay service?"
EXPECTED = [
    "plan", "tool_started", "tool_finished", "evidence", "verdict", "refine",
    "tool_started", "tool_finished", "evidence", "verdict", "token", "answer",
]


def _collapse(types):
    """Consecutive token events count once."""
    return [t for i, t in enumerate(types) if not (t == "token" and i and types[i - 1] == "token")]


def test_stream_yields_every_step_as_a_typed_event_then_the_answer():
    events = list(_agent(ScriptedChatModel(script=_script())).stream(QUESTION))
    assert _collapse([e.type for e in events]) == EXPECTED
    started = [e for e in events if isinstance(e, ev.ToolCallStarted)]
    assert [e.query for e in started] == [QUESTION, "Harbor team led by"]
    finished = [e for e in events if isinstance(e, ev.ToolCallFinished)]
    assert finished[1].found == ["teams/harbor.md#0"] and finished[1].seconds >= 0
    verdicts = [e for e in events if isinstance(e, ev.Verdict)]
    assert [v.sufficient for v in verdicts] == [False, True] and verdicts[0].next_query == "Harbor team led by"
    assert "".join(e.text for e in events if isinstance(e, ev.AnswerToken)) == "Ines Okafor"
    final = events[-1]
    assert isinstance(final, ev.FinalAnswer) and final.answer.text == "Ines Okafor [1]"


def test_astream_gives_the_same_events():
    async def collect():
        return [e async for e in _agent(ScriptedChatModel(script=_script())).astream(QUESTION)]

    events = asyncio.run(collect())
    assert _collapse([e.type for e in events]) == EXPECTED
    assert events[-1].answer.text == "Ines Okafor [1]"


def test_events_round_trip_through_json():
    events = list(_agent(ScriptedChatModel(script=_script())).stream(QUESTION))
    for event in events:
        again = ev.parse_event(event.model_dump_json())
        assert type(again) is type(event) and again == event


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        (['{"ans', 'wer": "Ines', ' Oka', 'for", "sources": [2]}'], ["", "Ines", " Oka", "for"]),
        (['{ "answer" : "a \\', '"b\\"', ' \\u00e9', '", "sources": []}'], ["a ", '"b"', " é", ""]),
        (['{"answer": "caf\\u00', 'e9"}'], ["caf", "é"]),
        (["Canberra", " [1]"], ["Canberra", " [1]"]),
        (['{"answer": "hi \\ud83d', '\\ude00!"}'], ["hi ", "\U0001F600!"]),
        (['{"answer": "a\\\\', '\\\\b"}'], ["a\\", "\\b"]),
    ],
)
def test_answer_text_stream_passes_on_only_the_growing_answer(chunks, expected):
    stream = ev.AnswerTextStream()
    assert [stream.feed(c) for c in chunks] == expected


def test_a_retried_answer_call_resets_the_streamed_text():
    from langchain_core.tools import StructuredTool

    from tests.graphs.conftest import _search

    tool = StructuredTool.from_function(_search, name="search_knowledge_base")
    model = ScriptedChatModel(script=[
        {"sources": [1], "answer": "", "next_query": ""},
        '{"answer": "Harbor team", "sources": [1',  # cut off: parsed as malformed, retried
        {"answer": "Harbor team", "sources": [1]},
    ])
    events = list(_agent_without_planner(model, tool).stream("Which team owns the Relay service?"))
    tokens = [e for e in events if isinstance(e, ev.AnswerToken)]
    resets = [i for i, e in enumerate(tokens) if e.reset]
    assert len(resets) == 1
    assert "".join(e.text for e in tokens[resets[0]:]) == "Harbor team"
    assert events[-1].answer.text == "Harbor team [1]"


def _agent_without_planner(model, tool):
    agent = Agent(model, tools=[tool], k=1, style="short")
    from agentic_rag.graphs import build_agentic_graph, RAGConfig

    agent.graph = build_agentic_graph(model, [tool], RAGConfig(k=1))  # the knowledge-base default: no planner call
    return agent
