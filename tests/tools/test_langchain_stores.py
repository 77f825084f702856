"""The user's own LangChain store, retriever or retriever tool as the knowledge source: each document its own citation."""

from __future__ import annotations

import re

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.tools import create_retriever_tool
from langchain_core.vectorstores import InMemoryVectorStore

from agentic_rag import Agent
from agentic_rag.answer import ExitReason
from agentic_rag.errors import ConfigurationError, RetrievalError
from agentic_rag.tools.langchain_stores import DocumentRetriever, VectorStoreSource, as_retriever
from tests.fakes import HashingEmbeddings, ScriptedChatModel

QUESTION = "Who leads the team that owns the Relay service?"
DOCS = [
    Document("The Relay service is owned by the Harbor team.", id="relay", metadata={"source": "services/relay.md"}),
    Document("Ines Okafor leads the Harbor team.", id="harbor", metadata={"source": "teams/harbor.md", "kind": "team"}),
    Document("The canteen opens at noon on weekdays.", metadata={"source": "handbook/canteen.md", "kind": "handbook"}),
]


def in_memory_store() -> InMemoryVectorStore:
    store = InMemoryVectorStore(HashingEmbeddings())
    store.add_documents(DOCS)
    return store


def numbers_of(prompt: str, *sources: str) -> list[int]:
    """The passage numbers the prompt gives the named sources."""
    return [int(re.search(rf"\[(\d+)\][^\n]*{re.escape(s)}", prompt).group(1)) for s in sources]


def judge_then_answer() -> ScriptedChatModel:
    """A judge that cites the Relay and Harbor passages wherever the prompt numbered them, then the answer."""

    def judge(messages):
        numbers = numbers_of(messages[-1].content, "services/relay.md", "teams/harbor.md")
        return {"sources": numbers, "answer": "Ines Okafor", "next_query": ""}

    def answer(messages):
        return {"answer": "Ines Okafor", "sources": numbers_of(messages[-1].content, "teams/harbor.md", "services/relay.md")}

    return ScriptedChatModel(script=[judge, answer])


class KeywordRetriever(BaseRetriever):
    """A user's own retriever: documents sharing a word with the query."""

    docs: list[Document]

    def _get_relevant_documents(self, query, *, run_manager):
        words = set(query.lower().split())
        return [d for d in self.docs if words & set(d.page_content.lower().rstrip(".").split())]


def faiss_store():
    from langchain_community.vectorstores import FAISS

    return FAISS.from_documents(DOCS, HashingEmbeddings())


def chroma_store():
    """A real embedded Chroma store (chromadb in process, nothing persisted)."""
    import uuid

    import chromadb
    from langchain_chroma import Chroma

    client = chromadb.EphemeralClient(settings=chromadb.config.Settings(anonymized_telemetry=False))
    store = Chroma(f"docs-{uuid.uuid4().hex[:8]}", embedding_function=HashingEmbeddings(), client=client)
    store.add_documents(DOCS, ids=[d.id or f"doc-{n}" for n, d in enumerate(DOCS)])
    return store


@pytest.mark.parametrize("source", [
    pytest.param(in_memory_store, id="InMemoryVectorStore"),
    pytest.param(faiss_store, id="langchain-community FAISS"),
    pytest.param(chroma_store, id="Chroma"),
    pytest.param(lambda: KeywordRetriever(docs=DOCS), id="BaseRetriever"),
    pytest.param(lambda: in_memory_store().as_retriever(search_kwargs={"k": 3}), id="VectorStoreRetriever"),
])
def test_a_langchain_store_or_retriever_answers_with_one_citation_per_document(source):
    answer = Agent(judge_then_answer(), knowledge_base=source(), style="short").ask(QUESTION)
    assert answer.exit_reason is ExitReason.ANSWERED and "Ines Okafor" in answer.text
    assert {c.source for c in answer.citations} == {"teams/harbor.md", "services/relay.md"}
    by_source = {c.source: c for c in answer.citations}
    assert by_source["teams/harbor.md"].quote == "Ines Okafor leads the Harbor team."


@pytest.mark.parametrize("make_tool", [
    pytest.param(lambda: in_memory_store().as_retriever(search_kwargs={"k": 3}).as_tool(), id="retriever.as_tool()"),
    pytest.param(lambda: create_retriever_tool(in_memory_store().as_retriever(search_kwargs={"k": 3}), "team_docs",
                                               "Search the team documents."), id="create_retriever_tool"),
    pytest.param(lambda: create_retriever_tool(in_memory_store().as_retriever(search_kwargs={"k": 3}), "team_docs",
                                               "Search the team documents.", response_format="content_and_artifact"),
                 id="create_retriever_tool(content_and_artifact)"),
])
def test_a_retriever_tool_keeps_each_document_as_its_own_passage(make_tool):
    tool = make_tool()
    plan = {"searches": [{"tool": tool.name, "query": QUESTION}]}
    model = judge_then_answer()
    model.script.insert(0, plan)
    answer = Agent(model, tools=[tool], style="short").ask(QUESTION)
    assert "Ines Okafor" in answer.text
    assert {c.source for c in answer.citations} == {"teams/harbor.md", "services/relay.md"}
    search = next(s for s in answer.steps if s.kind == "search")
    assert search.detail["tool"] == tool.name and len(search.detail["found"]) == 3


def test_documents_keep_their_ids_scores_and_metadata_and_filters_apply_to_metadata_and_source():
    source = VectorStoreSource(in_memory_store())
    found = source.search("Harbor team lead", k=3)
    harbor = next(e for e in found if e.source == "teams/harbor.md")
    assert harbor.id == "harbor" and harbor.score is not None and harbor.metadata["kind"] == "team"
    canteen = next(e for e in found if e.source == "handbook/canteen.md")
    assert canteen.id in {e.id for e in source.search("canteen noon", k=3)}  # the id the store gave it, stable
    unnamed = DocumentRetriever(KeywordRetriever(docs=DOCS)).search("canteen", k=3)
    assert [e.id for e in unnamed] == [unnamed[0].id] and unnamed[0].id.startswith("handbook/canteen.md#")  # source#hash
    assert [e.id for e in source.search("Harbor team", k=3, filters={"kind": "team"})] == ["harbor"]
    assert {e.source for e in source.search("team", k=3, filters={"source": "services/*"})} == {"services/relay.md"}
    assert [e.text for e in source.neighbours("harbor")] == [harbor.text]  # a document seen is readable again; no order around it
    assert source.neighbours("unknown") == []


def test_a_chroma_store_keeps_ids_metadata_and_scores_and_filters_apply():
    source = VectorStoreSource(chroma_store())
    found = source.search("Harbor team lead", k=3)
    harbor = next(e for e in found if e.source == "teams/harbor.md")
    assert harbor.id == "harbor" and harbor.metadata["kind"] == "team" and harbor.score is not None
    assert [e.id for e in source.search("Harbor team", k=3, filters={"kind": "team"})] == ["harbor"]
    assert {e.source for e in source.search("team", k=3, filters={"source": "services/*"})} == {"services/relay.md"}


class BrokenStore(InMemoryVectorStore):
    def similarity_search_with_score(self, query, k=4, **kwargs):
        raise ConnectionError("connection refused by 10.0.0.9:6333")


def test_a_store_that_fails_to_search_is_an_error_that_names_it_not_a_quiet_cannot_answer():
    with pytest.raises(RetrievalError, match="BrokenStore failed to search: ConnectionError"):
        VectorStoreSource(BrokenStore(HashingEmbeddings())).search("anything")
    # through the agent: the run goes on to an answer that says what broke
    model = ScriptedChatModel(script=[{"sources": [], "answer": "", "next_query": ""}, {"answer": "", "sources": []}])
    answer = Agent(model, knowledge_base=BrokenStore(HashingEmbeddings()), style="short").ask(QUESTION)
    assert answer.exit_reason is ExitReason.ERROR
    assert "every search failed" in answer.notice and "BrokenStore" in answer.notice and "connection refused" in answer.notice


def test_what_is_not_a_store_is_refused_when_the_agent_is_built():
    with pytest.raises(ConfigurationError, match="knowledge_base must be .* got dict"):
        as_retriever({"docs": DOCS})
    retriever = KeywordRetriever(docs=DOCS)
    assert isinstance(as_retriever(retriever), DocumentRetriever)
    kb_like = VectorStoreSource(in_memory_store())
    assert as_retriever(kb_like) is kb_like


class ToolEvents(BaseCallbackHandler):
    def __init__(self):
        self.started, self.ended = [], []

    def on_tool_start(self, serialized, input_str, **kwargs):
        self.started.append((serialized or {}).get("name"))

    def on_tool_end(self, output, **kwargs):
        self.ended.append(output)


def test_the_runs_callbacks_see_every_search():
    events = ToolEvents()
    agent = Agent(judge_then_answer(), knowledge_base=in_memory_store(), style="short")
    answer = agent.graph.invoke({"question": QUESTION}, {"callbacks": [events]})["answer"]
    searches = [s for s in answer.steps if s.kind == "search"]
    assert searches and events.started.count("search_knowledge_base") == len(searches)
    assert len(events.ended) >= len(searches)


@pytest.mark.parametrize("run", ["sync", "async"])
def test_the_runs_callbacks_see_a_retriever_tools_calls_and_its_documents_stay_separate(run):
    import asyncio

    tool = create_retriever_tool(in_memory_store().as_retriever(search_kwargs={"k": 3}), "team_docs", "Search the team documents.")
    model = judge_then_answer()
    model.script.insert(0, {"searches": [{"tool": "team_docs", "query": QUESTION}]})
    from langchain_core.tracers.run_collector import RunCollectorCallbackHandler

    events, tracer = ToolEvents(), RunCollectorCallbackHandler()
    graph = Agent(model, tools=[tool], style="short").graph
    call = {"callbacks": [events, tracer], "tags": ["mine"], "run_name": "my-run"}
    out = graph.invoke({"question": QUESTION}, call) if run == "sync" else asyncio.run(graph.ainvoke({"question": QUESTION}, call))
    answer = out["answer"]
    assert events.started == ["team_docs"] and len(events.ended) == 1
    # in a trace the tool call and its retriever sit inside the named run, with the run's tags
    (root,) = [r for r in tracer.traced_runs if r.parent_run_id is None]

    def descendants(run):
        return [run, *(d for child in run.child_runs for d in descendants(child))]

    inside = {r.name: r for r in descendants(root)}
    assert root.name == "my-run" and "team_docs" in inside and "mine" in inside["team_docs"].tags
    assert any(r.run_type == "retriever" for r in inside.values())
    assert {c.source for c in answer.citations} == {"teams/harbor.md", "services/relay.md"}


def test_an_async_only_tool_is_searched_in_sync_and_async_runs():
    import asyncio

    from langchain_core.tools import StructuredTool

    async def team_docs(query: str) -> list[Document]:
        """Search the team documents."""
        await asyncio.sleep(0)
        return DOCS

    tool = StructuredTool.from_function(coroutine=team_docs)
    plan = {"searches": [{"tool": "team_docs", "query": QUESTION}]}
    for run in ("sync", "async"):
        model = judge_then_answer()
        model.script.insert(0, plan)
        agent = Agent(model, tools=[tool], style="short")
        answer = agent.ask(QUESTION) if run == "sync" else asyncio.run(agent.graph.ainvoke({"question": QUESTION}))["answer"]
        assert "Ines Okafor" in answer.text, run
        assert {c.source for c in answer.citations} == {"teams/harbor.md", "services/relay.md"}


def test_a_misspelt_filter_on_a_langchain_store_is_reported_not_a_quiet_cannot_answer():
    source = VectorStoreSource(in_memory_store())
    with pytest.raises(ConfigurationError, match="unknown search filter 'knd': none of the 3 documents the store "
                                                 "InMemoryVectorStore returned has that metadata field .*kind"):
        source.search("Harbor team", k=3, filters={"knd": "team"})
    assert source.search("Harbor team", k=3, filters={"kind": "nothing"}) == []  # a known field: nothing matches, no error
    model = ScriptedChatModel(script=[{"sources": [], "answer": "", "next_query": ""}, {"answer": "", "sources": []}])
    answer = Agent(model, knowledge_base=in_memory_store(), style="short").ask(QUESTION, settings={"filters": {"knd": "team"}})
    assert answer.exit_reason is ExitReason.ERROR and "unknown search filter 'knd'" in answer.notice


class StoreThatBreaksAfterOneSearch(InMemoryVectorStore):
    searches = 0

    def similarity_search_with_score(self, query, k=4, **kwargs):
        self.searches += 1
        if self.searches > 1:
            raise ConnectionError("connection reset by 10.0.0.9:6333")
        return super().similarity_search_with_score(query, k=k, **kwargs)


def test_a_store_that_breaks_in_a_later_round_is_said_beside_the_answer():
    store = StoreThatBreaksAfterOneSearch(HashingEmbeddings())
    store.add_documents(DOCS)
    model = ScriptedChatModel(script=[
        {"sources": [], "answer": "", "next_query": "Harbor team lead"},  # round 2's search fails: no judge
        lambda messages: {"answer": "Ines Okafor", "sources": numbers_of(messages[-1].content, "teams/harbor.md")},
    ])
    answer = Agent(model, knowledge_base=store, style="short", adaptive=False).ask(QUESTION)
    assert "Ines Okafor" in answer.text and answer.citations  # what the first round found still answers
    assert answer.notice and "1 of 2 searches failed" in answer.notice and "connection reset" in answer.notice
    assert answer.exit_reason is not ExitReason.ERROR


def test_an_empty_store_is_said_not_a_bare_cannot_answer():
    empty = InMemoryVectorStore(HashingEmbeddings())
    answer = Agent(ScriptedChatModel(script=[]), knowledge_base=empty, style="short").ask(QUESTION)
    assert answer.exit_reason is ExitReason.NO_EVIDENCE
    assert "no passage was found" in answer.notice and "search_knowledge_base" in answer.notice
    filtered = Agent(ScriptedChatModel(script=[]), knowledge_base=in_memory_store(), style="short").ask(
        QUESTION, settings={"filters": {"source": "nowhere/"}})
    assert "with the filters source=nowhere/" in filtered.notice


class AsyncOnlyStore(InMemoryVectorStore):
    """A store with only an async search (as some remote stores' clients are)."""

    def similarity_search_with_score(self, *args, **kwargs):
        raise NotImplementedError

    def similarity_search(self, *args, **kwargs):
        raise NotImplementedError

    async def asimilarity_search_with_score(self, query, k=4, **kwargs):
        return super().similarity_search_with_score(query, k=k, **kwargs)


@pytest.mark.parametrize("run", ["sync", "async"])
def test_a_store_with_only_an_async_search_answers_in_sync_and_async_runs(run):
    import asyncio

    store = AsyncOnlyStore(HashingEmbeddings())
    store.add_documents(DOCS)
    agent = Agent(judge_then_answer(), knowledge_base=store, style="short")
    answer = agent.ask(QUESTION) if run == "sync" else asyncio.run(agent.aask(QUESTION))
    assert answer.exit_reason is ExitReason.ANSWERED
    assert {c.source for c in answer.citations} == {"teams/harbor.md", "services/relay.md"}


def test_a_failing_store_behind_as_retriever_is_named_and_dense_only_stores_say_so():
    class Down(InMemoryVectorStore):
        def similarity_search(self, *args, **kwargs):
            raise ConnectionError("no route to host")

    source = as_retriever(Down(HashingEmbeddings()).as_retriever())
    with pytest.raises(RetrievalError, match=r"the store Down \(through VectorStoreRetriever\) failed"):
        source.search("anything")
    agent = Agent(ScriptedChatModel(script=[]), knowledge_base=in_memory_store())
    assert agent.tools[0].description == "Search the documents by meaning. Best for most questions."


def test_the_agents_run_config_reaches_every_search_in_one_off_and_thread_runs():
    import asyncio

    from langgraph.checkpoint.memory import InMemorySaver

    for how in ("ask", "aask", "chat"):
        events = ToolEvents()
        checkpointer = InMemorySaver() if how == "chat" else None
        agent = Agent(judge_then_answer(), knowledge_base=in_memory_store(), style="short", checkpointer=checkpointer)
        config = {"callbacks": [events], "tags": ["mine"]}
        if how == "ask":
            answer = agent.ask(QUESTION, config=config)
        elif how == "aask":
            answer = asyncio.run(agent.aask(QUESTION, config=config))
        else:
            answer = agent.ask(QUESTION, thread_id="t1", config=config)
        searches = [s for s in answer.steps if s.kind == "search"]
        assert searches and events.started.count("search_knowledge_base") == len(searches), how
    with pytest.raises(ConfigurationError, match="not configurable"):
        Agent(judge_then_answer(), knowledge_base=in_memory_store()).ask(QUESTION, config={"configurable": {"k": 2}})
