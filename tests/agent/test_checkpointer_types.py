"""A checkpointer the user built, without the project's serializer, stores and reads the project's types quietly."""

from __future__ import annotations

import logging

from langgraph.checkpoint.memory import InMemorySaver

from agentic_rag import Agent
from tests.tools.test_langchain_stores import QUESTION, in_memory_store, judge_then_answer


def test_a_plain_checkpointer_reads_back_every_state_type_without_unregistered_type_warnings(caplog, tmp_path):
    from langgraph.checkpoint.sqlite import SqliteSaver
    import sqlite3

    for checkpointer in (InMemorySaver(), SqliteSaver(sqlite3.connect(str(tmp_path / "t.sqlite"), check_same_thread=False))):
        agent = Agent(judge_then_answer(), knowledge_base=in_memory_store(), style="short", checkpointer=checkpointer)
        with caplog.at_level(logging.WARNING):
            caplog.clear()
            agent.chat(QUESTION, thread_id="t")
            history = agent.history("t")
            thread = {"configurable": {"thread_id": "graph"}}  # the graph itself on a thread, as Studio runs it
            Agent(judge_then_answer(), knowledge_base=in_memory_store(), style="short",
                  checkpointer=checkpointer).graph.invoke({"question": QUESTION}, thread)
            state = agent.graph.get_state(thread).values
        assert history[0]["message"] == QUESTION and "Ines Okafor" in history[0]["answer"]
        assert state["answer"].citations and state["steps"] and all(hasattr(e, "text") for e in state["evidence"].values())
        noisy = [r.getMessage() for r in caplog.records if "unregistered" in r.getMessage() or "Blocked" in r.getMessage()]
        assert noisy == []


def test_a_serializer_of_the_users_own_is_left_alone_and_langgraphs_keeps_its_other_choices():
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    from agentic_rag.agent.conversation import with_state_types

    class MySerializer(JsonPlusSerializer):
        pass

    mine = MySerializer()
    assert with_state_types(InMemorySaver(serde=mine)).serde is mine
    theirs = InMemorySaver(serde=JsonPlusSerializer(allowed_msgpack_modules=[("my.module", "Thing")]))
    allowed = with_state_types(theirs).serde._allowed_msgpack_modules
    assert ("my.module", "Thing") in allowed and ("agentic_rag.answer", "Answer") in allowed
