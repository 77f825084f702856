import pytest

from agentic_rag.errors import ConfigurationError, EmbeddingMismatchError, KnowledgeBaseError, RetrievalError
from agentic_rag.evidence import Evidence
from agentic_rag.tools.knowledge_base import IndexReport, KnowledgeBase
from tests.fakes import HashingEmbeddings

LONG = " ".join(f"Sentence number {i} talks about topic{i % 7} and detail{i}." for i in range(60))


@pytest.fixture
def docs(tmp_path):
    root = tmp_path / "docs"
    (root / "guides").mkdir(parents=True)
    (root / "guides" / "install.md").write_text("# Installing\n\nUse pip to install the package on Linux.\n")
    (root / "guides" / "usage.md").write_text("# Usage\n\nCall the search function with a query string.\n")
    (root / "long.txt").write_text(LONG)
    (root / "facts.jsonl").write_text(
        '{"title": "Paris", "text": "Paris is the capital of France."}\n'
        '{"title": "Berlin", "text": "Berlin is the capital of Germany."}\n'
    )
    return root


@pytest.fixture
def kb(docs):
    return KnowledgeBase.from_paths(docs, HashingEmbeddings(), chunk_size=200, chunk_overlap=40)


def test_from_paths_indexes_everything(kb):
    assert kb.sources == ["facts.jsonl#0", "facts.jsonl#1", "guides/install.md", "guides/usage.md", "long.txt"]
    assert len(kb) > 5
    assert kb.embedding_model_id == "hashing-test" and kb.dimension == 64
    assert set(kb.files) == {"facts.jsonl", "guides/install.md", "guides/usage.md", "long.txt"}


@pytest.mark.parametrize("mode", ["dense", "keyword", "hybrid"])
def test_search_returns_evidence_with_spans(kb, mode):
    results = kb.search("capital of Germany", k=3, mode=mode)
    assert results and results[0].id == "facts.jsonl#1#0"
    top = results[0]
    assert isinstance(top, Evidence)
    assert top.source == "facts.jsonl#1" and top.title == "Berlin" and top.tool is None
    assert top.span == (0, len("Berlin is the capital of Germany."))
    assert isinstance(top.score, float)
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)
    assert len(results) <= 3


def test_hybrid_finds_rare_exact_term_that_dense_misses():
    emb = HashingEmbeddings()
    kb = KnowledgeBase(emb)
    noise = " ".join(f"word{i}" for i in range(10))
    records = [(f"err{i}", f"What does the error code mean when server {i} fails?", None) for i in range(6)]
    records.append(("manual", f"{noise} The identifier zx4071 marks a calibration fault. {noise}", None))
    kb.add_texts(records)
    query = "what does error code zx4071 mean"
    dense = [e.source for e in kb.search(query, k=5, mode="dense")]
    keyword = [e.source for e in kb.search(query, k=5, mode="keyword")]
    hybrid = [e.source for e in kb.search(query, k=5, mode="hybrid")]
    assert "manual" not in dense
    assert keyword[0] == "manual"
    assert "manual" in hybrid


def test_source_filter_exact_and_prefix(kb):
    everywhere = kb.search("capital install query", k=20, mode="hybrid")
    assert {e.source for e in everywhere} >= {"facts.jsonl#0", "guides/install.md"}
    for mode in ("dense", "keyword", "hybrid"):
        only_guides = kb.search("capital install query", k=20, mode=mode, sources="guides")
        assert only_guides and {e.source for e in only_guides} <= {"guides/install.md", "guides/usage.md"}
        exact = kb.search("capital", k=20, mode=mode, sources=["facts.jsonl#0"])
        assert {e.source for e in exact} == {"facts.jsonl#0"}
        records = kb.search("capital", k=20, mode=mode, sources="facts.jsonl")
        assert {e.source for e in records} == {"facts.jsonl#0", "facts.jsonl#1"}
    assert kb.search("capital", sources="guide") == []  # a prefix must end at a path boundary
    assert kb.search("capital", sources=["nowhere"]) == []


ALL_SOURCES = {"facts.jsonl#0", "facts.jsonl#1", "guides/install.md", "guides/usage.md", "long.txt"}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (None, ALL_SOURCES),
        ({}, ALL_SOURCES),
        ({"source": "guides"}, {"guides/install.md", "guides/usage.md"}),
        ({"source": "guides/"}, {"guides/install.md", "guides/usage.md"}),
        ({"source": "facts.jsonl"}, {"facts.jsonl#0", "facts.jsonl#1"}),
        ({"source": "facts.jsonl#1"}, {"facts.jsonl#1"}),
        ({"source": "guide"}, set()),  # a prefix ends at a path boundary
        ({"source": "guides/*.md"}, {"guides/install.md", "guides/usage.md"}),
        ({"source": "*.jsonl"}, {"facts.jsonl#0", "facts.jsonl#1"}),  # a glob may match up to a '#'
        ({"source": "*/us?ge.md"}, {"guides/usage.md"}),
        ({"source": "*.pdf"}, set()),
        ({"source": ["long.txt", "guides/i*"]}, {"long.txt", "guides/install.md"}),
        ({"source": []}, set()),
    ],
)
def test_search_filters_by_source(kb, filters, expected):
    found = kb.search("capital install query", k=100, mode="dense", filters=filters)
    assert {e.source for e in found} == expected
    for mode in ("keyword", "hybrid"):
        assert {e.source for e in kb.search("capital install query", k=100, mode=mode, filters=filters)} <= expected


def test_search_filters_and_sources_both_apply(kb):
    found = kb.search("install usage", k=100, mode="dense", sources="guides", filters={"source": "*usage*"})
    assert {e.source for e in found} == {"guides/usage.md"}


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"author": "me"}, "unknown search filter 'author': no indexed document has that metadata field"),
        ({"source": "docs", "year": 2020}, "unknown search filter 'year'"),
        ({"year": {"from": 2020}}, "metadata filter 'year' takes a string"),
        ({"year": None}, "metadata filter 'year' takes a string"),
        ({3: "x"}, "metadata field name"),
        ({"source": 3}, "'source' filter"),
        ({"source": [1, 2]}, "'source' filter"),
        ("guides", "must be a mapping"),
    ],
)
def test_bad_search_filters_are_configuration_errors(kb, filters, message):
    with pytest.raises(ConfigurationError, match=message):
        kb.search("capital", filters=filters)
    with pytest.raises(ConfigurationError, match=message):
        KnowledgeBase(HashingEmbeddings()).search("capital", filters=filters)


def test_get_and_neighbours(kb):
    ids = [e.id for e in kb.neighbours("long.txt#0", window=100)]
    n = len(ids)
    assert n >= 5 and ids == [f"long.txt#{i}" for i in range(n)]
    middle = kb.neighbours("long.txt#2", window=1)
    assert [e.id for e in middle] == ["long.txt#1", "long.txt#2", "long.txt#3"]
    assert [e.id for e in kb.neighbours("long.txt#0", window=2)] == ["long.txt#0", "long.txt#1", "long.txt#2"]
    assert [e.id for e in kb.neighbours(f"long.txt#{n - 1}")] == [f"long.txt#{n - 2}", f"long.txt#{n - 1}"]
    assert [e.id for e in kb.neighbours("long.txt#3", window=0)] == ["long.txt#3"]
    chunk = kb.get("long.txt#2")
    assert chunk.text == LONG[chunk.span[0] : chunk.span[1]] and chunk.title == "long"
    assert "long.txt#2" in kb and "long.txt#999" not in kb
    with pytest.raises(RetrievalError, match="unknown chunk id 'long.txt#999'"):
        kb.get("long.txt#999")
    with pytest.raises(RetrievalError):
        kb.neighbours("nope#0")
    with pytest.raises(ConfigurationError):
        kb.neighbours("long.txt#0", window=-1)


def test_search_argument_checks(kb):
    with pytest.raises(ConfigurationError):
        kb.search("  ")
    with pytest.raises(ConfigurationError):
        kb.search("q", k=0)
    with pytest.raises(ConfigurationError):
        kb.search("q", mode="fuzzy")


def test_empty_knowledge_base_returns_nothing():
    kb = KnowledgeBase(HashingEmbeddings())
    assert len(kb) == 0 and kb.sources == []
    for mode in ("dense", "keyword", "hybrid"):
        assert kb.search("anything", mode=mode) == []


def test_add_texts_embeds_in_batches_and_skips_unchanged():
    emb = HashingEmbeddings()
    kb = KnowledgeBase(emb, batch_size=128)
    records = [(f"para/{i}", f"Paragraph {i} about subject{i} and more words.", f"Title {i}") for i in range(1000)]
    seen: list[tuple[int, int]] = []
    report = kb.add_texts(records, progress=lambda done, total: seen.append((done, total)))
    assert report.added == [r[0] for r in records] and report.embedded == 1000 and report.chunks == 1000
    assert sum(emb.calls) == 1000 and max(emb.calls) <= 128 and len(emb.calls) == 8
    assert seen[0] == (0, 1000) and seen[-1] == (1000, 1000)
    assert kb.search("subject512", k=1, mode="keyword")[0].id == "para/512#0"
    assert kb.get("para/7#0").title == "Title 7"

    emb.calls.clear()
    again = kb.add_texts(records[:10])
    assert again.unchanged == [r[0] for r in records[:10]] and emb.calls == []
    changed = kb.add_texts([("para/3", "Completely new text about volcanoes.", "Title 3")])
    assert changed.updated == ["para/3"] and emb.calls == [1]
    assert kb.search("volcanoes", k=1, mode="keyword")[0].id == "para/3#0"
    assert len(kb) == 1000


def test_add_texts_deduplicates_and_reports_problems(docs):
    emb = HashingEmbeddings()
    kb = KnowledgeBase.from_paths(docs, emb)
    emb.calls.clear()
    report = kb.add_texts(
        [
            ("a", "same text", "T"),
            ("b", "same text", "T"),  # identical embedding input: embedded once
            ("a", "different text", "T"),  # same source twice in one call
            ("c", "   ", None),
            ("long.txt", "clashes with a file", None),
            ("d", "two-tuple record"),
        ]
    )
    assert report.added == ["a", "b", "d"]
    assert sum(emb.calls) == 2
    assert dict(report.skipped) == {
        "a": "source repeated with different text in one call",
        "c": "empty text",
        "long.txt": "source name already used by an indexed file",
    }
    with pytest.raises(ConfigurationError):
        kb.add_texts([("only-source",)])
    assert kb.remove("a") == 1 and "a#0" not in kb and kb.remove("a") == 0


def test_incremental_reindex(tmp_path):
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "a.txt").write_text("Apples grow on trees in orchards.")
    (root / "b.txt").write_text("Bananas grow in tropical plantations.")
    (root / "c.md").write_text("# Cherries\n\nCherries are small stone fruit.")
    emb = HashingEmbeddings()
    kb = KnowledgeBase(emb)
    first = kb.index_paths(root)
    assert sorted(first.added) == ["a.txt", "b.txt", "c.md"] and sum(emb.calls) == 3

    emb.calls.clear()
    second = kb.index_paths(root)
    assert sorted(second.unchanged) == ["a.txt", "b.txt", "c.md"]
    assert emb.calls == [] and second.embedded == 0 and second.added == second.updated == second.removed == []

    (root / "b.txt").write_text("Blueberries replaced the bananas entirely.")
    (root / "c.md").unlink()
    (root / "d.txt").write_text("Dates are sweet.")
    third = kb.index_paths(root)
    assert third.updated == ["b.txt"] and third.removed == ["c.md"] and third.added == ["d.txt"]
    assert third.unchanged == ["a.txt"] and sum(emb.calls) == 2
    assert kb.sources == ["a.txt", "b.txt", "d.txt"] and len(kb) == third.chunks == 3
    assert "Blueberries" in kb.get("b.txt#0").text
    with pytest.raises(RetrievalError):
        kb.get("c.md#0")
    assert all(e.source != "c.md" for e in kb.search("cherries stone fruit", k=10, mode="dense"))
    assert kb.search("cherries", mode="keyword") == []


def test_reindex_keeps_other_roots_and_handles_direct_files(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    (one / "x.txt").write_text("x marks the spot")
    (one / "y.txt").write_text("y is a letter")
    (two / "z.txt").write_text("z is the last letter")
    emb = HashingEmbeddings()
    kb = KnowledgeBase(emb)
    kb.index_paths([one, two])
    assert kb.sources == ["one/x.txt", "one/y.txt", "two/z.txt"]  # several folders: named from their parent
    (one / "y.txt").unlink()
    report = kb.index_paths(one)  # indexed alone later, a folder keeps the names it was given
    assert report.removed == ["one/y.txt"] and kb.sources == ["one/x.txt", "two/z.txt"]

    # A file given directly under a folder indexed before keeps its name; changed content is re-embedded.
    (one / "x.txt").write_text("x was moved elsewhere")
    emb.calls.clear()
    report = kb.index_paths([one / "x.txt"])
    assert report.updated == ["one/x.txt"] and emb.calls == [1]

    # A file that becomes empty is dropped and reported.
    (two / "z.txt").write_text("")
    report = kb.index_paths(two)
    assert report.removed == ["two/z.txt"] and report.skipped == [("two/z.txt", "empty file")]
    assert kb.sources == ["one/x.txt"]


def test_saved_index_inside_the_corpus_is_not_indexed(tmp_path):
    (tmp_path / "a.txt").write_text("alpha")
    kb = KnowledgeBase.from_paths(tmp_path, HashingEmbeddings())
    kb.save(tmp_path / "index")
    report = kb.index_paths(tmp_path)
    assert report.unchanged == ["a.txt"] and report.added == [] and report.skipped == []


def test_index_report_summary():
    report = IndexReport(added=["a"], skipped=[("b", "empty file")], chunks=3)
    assert report.summary() == "1 added, 0 updated, 0 removed, 0 unchanged, 1 skipped; 3 chunks"


def test_progress_callback_and_embedding_failures(tmp_path):
    (tmp_path / "a.txt").write_text(" ".join(f"word{i}" for i in range(300)))
    calls: list[tuple[int, int]] = []
    kb = KnowledgeBase(HashingEmbeddings(), chunk_size=100, chunk_overlap=10, batch_size=4)
    kb.index_paths(tmp_path, progress=lambda done, total: calls.append((done, total)))
    total = calls[0][1]
    assert calls[0] == (0, total) and calls[-1] == (total, total) and total > 4

    class Broken(HashingEmbeddings):
        def embed_documents(self, texts):
            raise RuntimeError("service down")

    broken = KnowledgeBase(Broken())
    with pytest.raises(KnowledgeBaseError, match="service down"):
        broken.index_paths(tmp_path)
    assert len(broken) == 0

    other_dim = KnowledgeBase(HashingEmbeddings(dim=64))
    other_dim.add_texts([("a", "alpha")])
    other_dim._embeddings = HashingEmbeddings(dim=32)
    with pytest.raises(EmbeddingMismatchError):
        other_dim.add_texts([("b", "beta")])
