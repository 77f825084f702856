"""Document metadata from the loaders, kept through indexing and saving, and matched by search filters."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from langchain_core.documents import Document as LCDocument
from langchain_core.vectorstores import InMemoryVectorStore

from agentic_rag.errors import ConfigurationError
from agentic_rag.tools.knowledge_base import KnowledgeBase
from agentic_rag.tools.langchain_stores import VectorStoreSource
from agentic_rag.tools.loaders import load_paths
from tests.fakes import HashingEmbeddings

RUNBOOK = """---
title: Queue backlog runbook
team: signal-harbor
tags: [queues, on-call]
priority: 2
reviewed: 2025-03-04
---
# Backlog

Drain the parcel-pulse queue before restarting the consumers.
"""


def write_docs(root: Path) -> Path:
    (root / "runbooks").mkdir(parents=True)
    (root / "runbooks" / "backlog.md").write_text(RUNBOOK, encoding="utf-8")
    (root / "runbooks" / "restart.md").write_text(
        "---\nteam: mile-markers\ntags: on-call\n---\n# Restart\n\nRestart the consumers of the queue one at a time.\n",
        encoding="utf-8")
    (root / "broken.md").write_text("---\nteam: [unclosed\n---\n# Broken\n\nThe queue note with bad front matter.\n",
                                    encoding="utf-8")
    (root / "people.jsonl").write_text(
        '{"title": "Odalys", "text": "Odalys Fenwick drains queues.", "team": "signal-harbor", "active": true, "nested": {"a": 1}}\n'
        '{"title": "Bram", "text": "Bram Ode restarts queue consumers.", "team": "mile-markers", "active": false}\n',
        encoding="utf-8")
    (root / "rota.csv").write_text("week,primary,text\n2025-07-07,Ottoline Abara,queue duty week\n", encoding="utf-8")
    return root


def test_loaders_keep_front_matter_record_fields_type_and_modified_time(tmp_path):
    docs = {d.source: d for d in load_paths(write_docs(tmp_path / "docs")).documents}
    backlog = docs["runbooks/backlog.md"]
    assert backlog.title == "Queue backlog runbook"
    assert backlog.metadata["team"] == "signal-harbor" and backlog.metadata["tags"] == ["queues", "on-call"]
    assert backlog.metadata["priority"] == "2" and backlog.metadata["reviewed"] == "2025-03-04"
    assert backlog.metadata["type"] == "md"
    assert datetime.fromisoformat(backlog.metadata["modified"]).tzinfo is not None
    # The readable text: front matter and markup gone, the heading carried by the section.
    assert backlog.text == "Drain the parcel-pulse queue before restarting the consumers."
    assert [section.path for section in backlog.sections] == [("Backlog",)]
    broken = docs["broken.md"]
    assert broken.title == "Broken" and "team" not in broken.metadata and broken.metadata["type"] == "md"
    odalys = docs["people.jsonl#0"]
    assert odalys.metadata["team"] == "signal-harbor" and odalys.metadata["active"] == "true"
    assert "nested" not in odalys.metadata and "text" not in odalys.metadata and "title" not in odalys.metadata
    assert docs["rota.csv#0"].metadata["primary"] == "Ottoline Abara" and docs["rota.csv#0"].metadata["type"] == "csv"


@pytest.fixture
def kb(tmp_path):
    return KnowledgeBase.from_paths(write_docs(tmp_path / "docs"), HashingEmbeddings())


@pytest.mark.parametrize(("filters", "expected"), [
    ({"team": "signal-harbor"}, {"runbooks/backlog.md", "people.jsonl#0"}),
    ({"team": ["mile-markers"], "type": "md"}, {"runbooks/restart.md"}),
    ({"tags": "on-call"}, {"runbooks/backlog.md", "runbooks/restart.md"}),  # a list value or a single one
    ({"priority": 2}, {"runbooks/backlog.md"}),  # compared as text: 2 finds "2"
    ({"active": True}, {"people.jsonl#0"}),
    ({"team": "signal-harbor", "source": "runbooks/"}, {"runbooks/backlog.md"}),
    ({"team": "nobody"}, set()),
])
def test_metadata_filters_in_every_search_mode(kb, filters, expected):
    for mode in ("dense", "keyword", "hybrid"):
        assert {e.source for e in kb.search("queue", k=50, mode=mode, filters=filters)} <= expected
    assert {e.source for e in kb.search("queue", k=50, mode="dense", filters=filters)} == expected


def test_evidence_carries_its_documents_metadata_and_a_saved_index_keeps_it(kb, tmp_path):
    [hit] = kb.search("drain the queue", k=1, filters={"source": "runbooks/backlog.md"})
    assert hit.metadata["team"] == "signal-harbor" and hit.metadata["tags"] == ["queues", "on-call"]
    kb.save(tmp_path / "index")
    loaded = KnowledgeBase.load(tmp_path / "index", HashingEmbeddings())
    assert loaded.search("drain the queue", k=1, filters={"team": "signal-harbor", "type": "md"}) == [hit]


def test_a_filter_on_a_field_no_document_has_is_an_error_that_lists_the_fields(kb):
    with pytest.raises(ConfigurationError, match="unknown search filter 'teem'.*fields: .*team"):
        kb.search("queue", filters={"teem": "signal-harbor"})


def test_a_langchain_store_compares_typed_metadata_as_text():
    store = InMemoryVectorStore(HashingEmbeddings())
    store.add_documents([
        LCDocument("The queue runbook, priority two.", metadata={"source": "a.md", "priority": 2, "tags": ["ops"]}),
        LCDocument("The queue runbook, priority five.", metadata={"source": "b.md", "priority": 5}),
    ])
    source = VectorStoreSource(store)
    assert [e.source for e in source.search("queue runbook", k=4, filters={"priority": "2"})] == ["a.md"]
    assert [e.source for e in source.search("queue runbook", k=4, filters={"tags": "ops"})] == ["a.md"]


def test_metadata_filters_run_in_sql_on_postgres(postgres_url, tmp_path):
    from agentic_rag.tools.postgres_store import PostgresKnowledgeBase, _metadata_sql

    where, args = _metadata_sql({"team": ["a", "b"], "source": "x"})
    assert where.count("metadata @>") == 4 and len(args) == 4
    kb = PostgresKnowledgeBase(postgres_url, HashingEmbeddings())
    kb.index_paths([write_docs(tmp_path / "docs")])
    try:
        for mode in ("dense", "keyword", "hybrid"):
            found = {e.source for e in kb.search("queue", k=50, mode=mode, filters={"tags": "on-call", "type": "md"})}
            assert found == {"runbooks/backlog.md", "runbooks/restart.md"}, mode
        [hit] = kb.search("drain", k=5, filters={"team": "signal-harbor", "source": "runbooks/"})
        assert hit.source == "runbooks/backlog.md" and hit.metadata["priority"] == "2"
        assert kb.search("queue", k=5, filters={"team": "nobody"}) == []
        with pytest.raises(ConfigurationError, match="unknown search filter 'teem'"):
            kb.search("queue", filters={"teem": "x"})
    finally:
        kb.close()
