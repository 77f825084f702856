"""Async runs await the model and the tools: ainvoke/astream call ``ainvoke``, not threads around ``invoke``."""

from __future__ import annotations

import asyncio
import threading

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.tools import StructuredTool

from agentic_rag import Agent
from agentic_rag.answer import ExitReason
from agentic_rag.evidence import Evidence
from agentic_rag.graphs import RAGConfig, build_agentic_graph, build_research_graph, build_traditional_graph
from agentic_rag.testing.service_world import ReadingModel, WritingModel, knowledge_base


class AsyncOnlyModel(ReadingModel):
    """A chat model with only an async implementation (as some provider clients are); records the thread it ran on."""

    threads: list = []

    def _generate(self, *args, **kwargs):
        raise NotImplementedError("this model is async only")

    async def _agenerate(self, messages, stop=None, run_manager=None, **kwargs):
        self.threads.append(threading.get_ident())
        return super()._generate(messages, stop=stop, **kwargs)


class ToolEvents(BaseCallbackHandler):
    def __init__(self):
        self.started: list[str] = []
        self.ended = 0

    def on_tool_start(self, serialized, input_str, **kwargs):
        self.started.append((serialized or {}).get("name"))

    def on_tool_end(self, output, **kwargs):
        self.ended += 1


def async_search_tool(threads: list[int]) -> StructuredTool:
    async def search_knowledge_base(query: str, k: int = 4) -> list[Evidence]:
        """Search the services."""
        threads.append(threading.get_ident())
        await asyncio.sleep(0)
        return knowledge_base().search(query, k=k)

    return StructuredTool.from_function(coroutine=search_knowledge_base)


def test_an_async_run_awaits_an_async_only_model_and_tool_on_the_event_loop():
    model, tool_threads = AsyncOnlyModel(threads=[]), []
    graph = build_agentic_graph(model, [async_search_tool(tool_threads)], RAGConfig(k=2))

    async def run():
        return threading.get_ident(), await graph.ainvoke({"question": "Who owns orbit07?"})

    loop_thread, state = asyncio.run(run())
    assert state["answer"].text == "Falcon07 [1]" and state["answer"].exit_reason is ExitReason.ANSWERED
    # the model and the tool ran on the event loop's own thread: awaited, not handed to a worker thread
    assert model.threads and set(model.threads) == {loop_thread}
    assert tool_threads and set(tool_threads) == {loop_thread}


def test_a_sync_run_of_the_same_graph_still_works_with_sync_parts(search_tool):
    graph = build_traditional_graph(ReadingModel(), [search_tool])
    assert graph.invoke({"question": "Who owns the Relay service?"})["answer"].exit_reason is not None
    assert asyncio.run(graph.ainvoke({"question": "Who owns orbit01?"}))["answer"] is not None


def test_the_runs_callbacks_see_every_search_in_an_async_stream():
    events = ToolEvents()
    agent = Agent(ReadingModel(), knowledge_base=knowledge_base(), style="short")

    async def run():
        return [chunk async for chunk in agent.graph.astream(
            {"question": "Which team owns more services, Orbit03 or Orbit04?"}, {"callbacks": [events]},
            stream_mode="values")][-1]["answer"]

    answer = asyncio.run(run())
    searches = [s for s in answer.steps if s.kind == "search"]
    assert len(searches) >= 3  # the question, then each compared name
    assert events.started.count("search_knowledge_base") == len(searches) and events.ended >= len(searches)


def test_a_failing_async_tool_is_an_observation_and_the_run_goes_on():
    async def search_knowledge_base(query: str) -> list[Evidence]:
        """Search the services."""
        raise ValueError("index offline")

    tool = StructuredTool.from_function(coroutine=search_knowledge_base)
    graph = build_agentic_graph(ReadingModel(), [tool])
    answer = asyncio.run(graph.ainvoke({"question": "Who owns orbit07?"}))["answer"]
    assert answer.exit_reason is ExitReason.ERROR and "index offline" in answer.notice


class AsyncOnlyWriter(WritingModel):
    def _generate(self, *args, **kwargs):
        raise NotImplementedError("this model is async only")

    async def _agenerate(self, messages, stop=None, run_manager=None, **kwargs):
        return super()._generate(messages, stop=stop, **kwargs)


def test_a_research_run_awaits_every_model_call_its_sub_questions_included():
    model = AsyncOnlyWriter()
    graph = build_research_graph(model, Agent(model, knowledge_base=knowledge_base()).tools)
    report = asyncio.run(graph.ainvoke({"question": "Compare orbit03 and orbit04"}))["answer"]
    assert report.style == "report" and report.exit_reason is ExitReason.ANSWERED
    assert "Falcon03" in report.text and "Falcon04" in report.text


def test_a_graph_of_your_own_wraps_the_node_methods_with_node():
    from langgraph.graph import END, START, StateGraph

    from agentic_rag.graphs import RAGNodes, RAGState, node

    nodes = RAGNodes(ReadingModel(), Agent(ReadingModel(), knowledge_base=knowledge_base()).tools)
    builder = StateGraph(RAGState, context_schema=RAGConfig)
    builder.add_node("start", nodes.start)
    builder.add_node("retrieve", node(nodes.retrieve))
    builder.add_node("answer", node(nodes.answer))
    builder.add_edge(START, "start")
    builder.add_edge("start", "retrieve")
    builder.add_edge("retrieve", "answer")
    builder.add_edge("answer", END)
    graph = builder.compile()
    assert graph.invoke({"question": "Who owns orbit05?"})["answer"].text == "Falcon05 [1]"
    assert asyncio.run(graph.ainvoke({"question": "Who owns orbit06?"}))["answer"].text == "Falcon06 [1]"
