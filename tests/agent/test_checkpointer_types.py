"""A checkpointer the user built, without the project's serializer, stores and reads the project's types quietly."""

from __future__ import annotations

import sqlite3

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.serde.event_hooks import register_serde_event_listener
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver

from agentic_rag import Agent
from agentic_rag.graphs import RAGConfig, build_agentic_graph
from agentic_rag.graphs.checkpoints import with_state_types
from agentic_rag.graphs.research import build_research_graph
from agentic_rag.tools.langchain_stores import as_retriever
from agentic_rag.tools.retrieval import retrieval_tools
from tests.tools.test_langchain_stores import QUESTION, in_memory_store, judge_then_answer


@pytest.fixture
def serde_events():
    """Every type LangGraph's serializer loaded unregistered or blocked (each load, not once a process as its log)."""
    events = []
    remove = register_serde_event_listener(lambda event: events.append(event))
    yield events
    remove()


def test_a_plain_checkpointer_reads_back_every_state_type_without_unregistered_type_warnings(serde_events, tmp_path):
    for checkpointer in (InMemorySaver(), SqliteSaver(sqlite3.connect(str(tmp_path / "t.sqlite"), check_same_thread=False))):
        serde = checkpointer.serde
        agent = Agent(judge_then_answer(), knowledge_base=in_memory_store(), style="short", checkpointer=checkpointer)
        agent.chat(QUESTION, thread_id="t")
        history = agent.history("t")
        thread = {"configurable": {"thread_id": "graph"}}  # the graph itself on a thread, as Studio runs it
        Agent(judge_then_answer(), knowledge_base=in_memory_store(), style="short",
              checkpointer=checkpointer).graph.invoke({"question": QUESTION}, thread)
        state = agent.graph.get_state(thread).values
        assert history[0]["message"] == QUESTION and "Ines Okafor" in history[0]["answer"]
        assert state["answer"].citations and state["steps"] and all(hasattr(e, "text") for e in state["evidence"].values())
        assert checkpointer.serde is serde  # the user's checkpointer is left as it was
    assert serde_events == []


def test_a_graph_compiled_with_a_plain_checkpointer_reads_its_state_back_quietly(serde_events):
    tools = retrieval_tools(as_retriever(in_memory_store()))
    saver = InMemorySaver()
    graph = build_agentic_graph(judge_then_answer(), tools, RAGConfig(style="short"), checkpointer=saver)
    thread = {"configurable": {"thread_id": "t"}}
    graph.invoke({"question": QUESTION}, thread)
    assert "Ines Okafor" in graph.get_state(thread).values["answer"].text
    history = list(graph.get_state_history(thread))
    assert len(history) > 3 and all(isinstance(s.values, dict) for s in history)
    research = build_research_graph(judge_then_answer(), tools, RAGConfig(), checkpointer=saver)
    assert research.checkpointer is not saver and research.checkpointer.storage is saver.storage  # same threads
    assert serde_events == []


def test_a_serializer_of_the_users_own_is_left_alone_and_langgraphs_keeps_its_other_choices():
    class MySerializer(JsonPlusSerializer):
        pass

    mine = MySerializer()
    assert with_state_types(InMemorySaver(serde=mine)).serde is mine
    theirs = InMemorySaver(serde=JsonPlusSerializer(allowed_msgpack_modules=[("my.module", "Thing")]))
    allowed = with_state_types(theirs).serde._allowed_msgpack_modules
    assert ("my.module", "Thing") in allowed and ("agentic_rag.answer", "Answer") in allowed
    assert theirs.serde._allowed_msgpack_modules == {("my.module", "Thing")}  # a copy was changed, not theirs
    assert with_state_types(None) is None and with_state_types(False) is False
