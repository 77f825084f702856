"""The graphs as LangGraph parts: JSON schemas, ``as_tool()``, a subgraph of a messages-based parent graph."""

from __future__ import annotations

import warnings

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, MessagesState, StateGraph

from agentic_rag import Agent
from tests.fakes import ScriptedChatModel
from tests.tools.test_langchain_stores import QUESTION, in_memory_store, judge_then_answer


@pytest.fixture
def graph():
    return Agent(judge_then_answer(), knowledge_base=in_memory_store(), style="short").graph


def test_the_graph_publishes_its_input_and_output_schemas(graph):
    schema = graph.get_input_jsonschema()
    assert {"question", "budget", "messages"} <= set(schema["properties"])
    assert set(graph.get_output_jsonschema()["properties"]) == {"answer", "messages"}


def test_the_graph_becomes_a_tool_of_langgraph_and_the_agent_a_tool_that_takes_only_the_question(graph):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # as_tool() is a beta API of langchain-core
        tool = graph.as_tool(name="team_docs", description="Answer questions about the teams.")
    assert "question" in tool.args  # LangGraph's own: every input key required
    result = tool.invoke({"question": QUESTION, "budget": {"max_rounds": 2}, "messages": []})
    assert "Ines Okafor" in result["answer"].text

    agent_tool = Agent(judge_then_answer(), knowledge_base=in_memory_store(), style="short").as_tool()
    assert list(agent_tool.args) == ["question"]
    message = agent_tool.invoke({"type": "tool_call", "name": agent_tool.name, "args": {"question": QUESTION}, "id": "1"})
    assert message.content.splitlines()[0].startswith("Ines Okafor")
    assert 'teams/harbor.md: "Ines Okafor leads the Harbor team."' in message.content
    assert message.artifact.citations


def test_as_a_subgraph_of_a_messages_graph_it_answers_the_last_human_message_with_an_ai_message(graph):
    parent = StateGraph(MessagesState)
    parent.add_node("rag", graph)
    parent.add_edge(START, "rag")
    out = parent.compile().invoke({"messages": [HumanMessage(QUESTION)]})
    human, reply = out["messages"]
    assert isinstance(reply, AIMessage) and reply.content.startswith("Ines Okafor")
    record = reply.response_metadata["agentic_rag"]
    assert {c["source"] for c in record["citations"]} == {"teams/harbor.md", "services/relay.md"}
    assert record["exit_reason"] == "answered" and [s["kind"] for s in record["steps"]][-1] == "answer"


def test_a_parent_graphs_checkpointer_with_the_state_serializer_reads_the_subgraphs_state_quietly(graph):
    from langgraph.checkpoint.serde.event_hooks import register_serde_event_listener

    from agentic_rag.graphs import state_serializer

    events = []
    remove = register_serde_event_listener(events.append)
    try:
        parent = StateGraph(MessagesState)
        parent.add_node("rag", graph)
        parent.add_edge(START, "rag")
        saver = InMemorySaver(serde=state_serializer())
        app = parent.compile(checkpointer=saver)
        thread = {"configurable": {"thread_id": "p"}}
        app.invoke({"messages": [HumanMessage(QUESTION)]}, thread)
        assert app.get_state(thread).values["messages"][-1].content.startswith("Ines Okafor")
        # the subgraph's own checkpoints (its namespace) hold the answer, the steps and the evidence
        inner = [c.checkpoint["channel_values"] for c in saver.list(thread) if c.config["configurable"]["checkpoint_ns"]]
        assert any(v.get("answer") is not None and v["answer"].citations for v in inner)
    finally:
        remove()
    assert events == []


def two_turn_thread():
    """A scripted model for two turns (judge and answer each), the graph on a checkpointed thread, the thread."""
    answers = iter(["Ines Okafor", "Harbor"])

    def judge(messages):
        return {"sources": [1], "answer": next(answers), "next_query": ""}

    model = ScriptedChatModel(script=[judge, {"answer": "Ines Okafor", "sources": [1]}, judge, {"answer": "Harbor", "sources": [1]}])
    graph = Agent(model, knowledge_base=in_memory_store(), style="short", checkpointer=InMemorySaver()).graph
    return model, graph, {"configurable": {"thread_id": "t"}}


def test_on_a_checkpointed_thread_each_new_human_message_is_the_next_question():
    model, graph, thread = two_turn_thread()
    graph.invoke({"messages": [HumanMessage(QUESTION)]}, thread)
    out = graph.invoke({"messages": [HumanMessage("Which team owns the Relay service?")]}, thread)
    assert [type(m).__name__ for m in out["messages"]] == ["HumanMessage", "AIMessage", "HumanMessage", "AIMessage"]
    assert out["answer"].question == "Which team owns the Relay service?"
    assert "Which team owns the Relay service?" in model.prompts()[2]


def test_a_question_given_directly_adds_no_message(graph):
    out = graph.invoke({"question": QUESTION})
    assert "messages" not in out or out["messages"] == []


def test_a_blank_message_left_on_a_thread_does_not_block_the_questions_after_it():
    model = ScriptedChatModel(script=[{"sources": [1], "answer": "Ines Okafor", "next_query": ""},
                                      {"answer": "Ines Okafor", "sources": [1]}])
    graph = Agent(model, knowledge_base=in_memory_store(), style="short", checkpointer=InMemorySaver()).graph
    thread = {"configurable": {"thread_id": "t"}}
    with pytest.raises(Exception, match="the question is empty"):
        graph.invoke({"messages": [HumanMessage("   ")]}, thread)
    out = graph.invoke({"question": QUESTION}, thread)
    assert out["answer"].question == QUESTION and "Ines Okafor" in out["answer"].text
    assert out.get("messages", [])[-1].type == "human"  # a question given directly adds no reply message


def test_after_a_messages_turn_a_question_given_directly_is_the_question():
    model, graph, thread = two_turn_thread()
    graph.invoke({"messages": [HumanMessage(QUESTION)]}, thread)
    out = graph.invoke({"question": "Which team owns the Relay service?"}, thread)
    assert out["answer"].question == "Which team owns the Relay service?"
    assert len(out["messages"]) == 2  # no reply appended for a question given directly


def test_the_readmes_parent_app_answers_each_turn_of_a_thread_with_its_own_question():
    """The README's messages-based example, two turns on one thread: each turn reads its own last human message."""
    import re

    from agentic_rag.graphs import state_serializer

    def judge(messages):
        prompt = messages[-1].content
        source = "teams/harbor.md" if "Harbor" in prompt.split("Question:")[-1] else "handbook/canteen.md"
        number = int(re.search(rf"\[(\d+)\][^\n]*{re.escape(source)}", prompt).group(1))
        answer = "Ines Okafor" if source == "teams/harbor.md" else "at noon"
        return {"answer": answer, "sources": [number], "next_query": ""}

    agent = Agent(ScriptedChatModel(script=[judge, judge]), knowledge_base=in_memory_store(), style="short")
    parent = StateGraph(MessagesState)
    parent.add_node("docs", agent.graph)
    parent.add_edge(START, "docs")
    app = parent.compile(checkpointer=InMemorySaver(serde=state_serializer()))
    thread = {"configurable": {"thread_id": "t1"}}
    first = app.invoke({"messages": [("human", "Who leads the Harbor team?")]}, thread)["messages"][-1]
    second = app.invoke({"messages": [("human", "When does the canteen open?")]}, thread)["messages"]
    assert first.content.startswith("Ines Okafor")
    assert len(second) == 4 and second[-1].content.startswith("at noon")
    assert [c["source"] for c in second[-1].response_metadata["agentic_rag"]["citations"]] == ["handbook/canteen.md"]
