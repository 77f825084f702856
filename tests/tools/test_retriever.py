from collections.abc import Mapping
from typing import Any

import pytest

import agentic_rag
import agentic_rag.tools
from agentic_rag.evidence import Evidence
from agentic_rag.tools.knowledge_base import KnowledgeBase
from agentic_rag.tools.retrieval import SEARCH_TOOL, retrieval_tools
from agentic_rag.tools.retriever import Retriever
from tests.fakes import HashingEmbeddings


class ListRetriever:
    """A retriever over a list of passages, by word overlap; records its calls."""

    def __init__(self, passages: list[Evidence]) -> None:
        self.passages = passages
        self.calls: list[tuple] = []

    def search(self, query: str, k: int = 4, *, filters: Mapping[str, Any] | None = None) -> list[Evidence]:
        self.calls.append(("search", query, k, filters))
        words = set(query.lower().split())
        hits = [p for p in self.passages if words & set(p.text.lower().split())]
        return hits[:k]

    def neighbours(self, evidence_id: str, window: int = 1) -> list[Evidence]:
        self.calls.append(("neighbours", evidence_id, window))
        ids = [p.id for p in self.passages]
        at = ids.index(evidence_id)
        return self.passages[max(0, at - window) : at + window + 1]


@pytest.fixture
def kb():
    kb = KnowledgeBase(HashingEmbeddings())
    kb.add_texts([(f"note{i}", f"Note {i} mentions code zx{i} and topic{i % 3}.", f"Note {i}") for i in range(12)])
    return kb


@pytest.fixture
def passages():
    texts = ["red apples grow here", "green pears grow there", "blue berries grow everywhere"]
    return [Evidence(id=f"p#{i}", source="p", text=t) for i, t in enumerate(texts)]


def test_knowledge_base_is_a_retriever(kb):
    assert isinstance(kb, Retriever)


def test_protocol_checks_for_both_methods(passages):
    assert isinstance(ListRetriever(passages), Retriever)

    class SearchOnly:
        def search(self, query, k=4, *, filters=None):
            return []

    assert not isinstance(SearchOnly(), Retriever)
    assert not isinstance(object(), Retriever)


def test_retriever_is_exported():
    assert agentic_rag.Retriever is Retriever and "Retriever" in agentic_rag.__all__
    assert agentic_rag.tools.Retriever is Retriever and "Retriever" in agentic_rag.tools.__all__


def test_tools_over_a_knowledge_base(kb):
    tools = retrieval_tools(kb, k=3)
    assert [t.name for t in tools] == [SEARCH_TOOL, "keyword_search", "read_chunk"]
    assert [t.description for t in tools] == [
        "Search the documents by meaning and keywords. Best for most questions.",
        "Exact-word search, only for codes, identifiers or error messages.",
        "Read a passage by its id, with the passages just before and after it.",
    ]
    search, keyword, read = tools
    assert search.invoke({"query": "code zx4 topic1"}) == kb.search("code zx4 topic1", k=3, mode="hybrid")
    assert keyword.invoke({"query": "zx7", "k": 2}) == kb.search("zx7", k=2, mode="keyword")
    assert read.invoke({"chunk_id": "note5#0"}) == kb.neighbours("note5#0", window=1)


def test_tools_over_another_retriever(passages):
    retriever = ListRetriever(passages)
    tools = retrieval_tools(retriever, k=2)
    assert [t.name for t in tools] == [SEARCH_TOOL, "read_chunk"]  # keyword_search needs a knowledge base
    search, read = tools
    assert [e.id for e in search.invoke({"query": "grow"})] == ["p#0", "p#1"]
    assert [e.id for e in read.invoke({"chunk_id": "p#2", "window": 1})] == ["p#1", "p#2"]
    assert retriever.calls == [("search", "grow", 2, None), ("neighbours", "p#2", 1)]


def test_the_search_tool_reads_each_match_with_its_section_around_it():
    from agentic_rag.tools.knowledge_base import KnowledgeBase
    from agentic_rag.tools.retrieval import read_sections, retrieval_tools
    from tests.fakes import HashingEmbeddings

    kb = KnowledgeBase(HashingEmbeddings(), chunk_size=120, chunk_overlap=0)
    steps = ("Runbook queue backlog alert fires when the queue backs up.\n\n"
             "1. Check the gateway status page. 2. Scale the sender workers to at most 24 replicas.\n\n"
             "Close the queue backlog incident when the queue depth is low again.")
    kb.add_texts([("runbook.md", steps), ("other.md", "Nothing about queues here at all, only lunch menus.")])
    assert len(kb) >= 3
    found = [kb.get("runbook.md#0"), kb.get("other.md#0"), kb.get("runbook.md#2")]
    kb.search = lambda query, k=4, **kw: found  # the search found the chunks around the steps, not the steps
    tool = retrieval_tools(kb, k=3, read_chars=400)[0]
    read = tool.invoke({"query": "queue backlog"})
    # The first match is read with what follows it in its section: the steps and the last chunk, once.
    assert [e.id for e in read] == ["runbook.md#0", "other.md#0"]
    assert read[0].text == steps and read[0].span == (0, len(steps))
    assert "Scale the sender workers" in read[0].text
    # A smaller budget reads less: the match and the chunk after it.
    narrow = read_sections(kb, found, max_chars=len(steps) - 10)
    assert [e.id for e in narrow] == ["runbook.md#0", "other.md#0", "runbook.md#2"]
    assert narrow[0].text == steps[: narrow[0].span[1]] and "Scale the sender" in narrow[0].text
    assert read_sections(kb, found[1:2]) == found[1:2]  # a one-chunk source: read as it is


def test_section_reading_stops_at_the_section_boundary(tmp_path):
    from agentic_rag.tools.knowledge_base import KnowledgeBase
    from agentic_rag.tools.retrieval import read_sections
    from tests.fakes import HashingEmbeddings

    (tmp_path / "guide.md").write_text(
        "# Guide\n\n## Install\n\nRun the installer first.\n\nThen restart the shell.\n\n"
        "## Remove\n\nDelete the folder.\n", encoding="utf-8")
    kb = KnowledgeBase(HashingEmbeddings(), chunk_size=30, chunk_overlap=0)
    kb.index_paths(tmp_path)
    titles = {e.id: e.title for e in (kb.get(f"guide.md#{n}") for n in range(len(kb)))}
    assert set(titles.values()) == {"Guide > Install", "Guide > Remove"}
    install = "Run the installer first.\n\nThen restart the shell."
    first = read_sections(kb, [kb.get("guide.md#0")], max_chars=1000)
    assert first[0].text == install and first[0].title == "Guide > Install"  # not the next section
    assert first[0].parts == ("guide.md#0", "guide.md#1") and first[0].chunk_ids == first[0].parts
    last = read_sections(kb, [kb.get(f"guide.md#{len(kb) - 1}")], max_chars=1000)
    assert last[0].text == "Delete the folder." and last[0].title == "Guide > Remove"