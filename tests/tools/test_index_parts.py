import numpy as np
import pytest

from agentic_rag.errors import EmbeddingMismatchError, RetrievalError
from agentic_rag.tools.chunk_table import ChunkTable, chunk_evidence
from agentic_rag.tools.chunking import Chunker
from agentic_rag.tools.dense_index import DenseIndex
from agentic_rag.tools.embedding_batches import embed_texts, embedding_text
from agentic_rag.tools.hybrid_search import ranked_hits
from agentic_rag.tools.keyword_index import LazyKeywordIndex
from agentic_rag.tools.source_filter import matches, source_predicate
from tests.fakes import HashingEmbeddings


def unit_rows(*rows):
    matrix = np.asarray(rows, dtype=np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def test_dense_index_keeps_ids_through_removals_and_honours_allowed_ids():
    index = DenseIndex()
    assert index.dimension is None and index.faiss_index is None
    index.add(unit_rows([1, 0], [0.8, 0.6], [0, 1]), np.asarray([10, 11, 12], dtype=np.int64))
    assert index.dimension == 2
    query = unit_rows([1, 0])
    assert [i for i, _ in index.search(query, 5)] == [10, 11, 12]
    assert [i for i, _ in index.search(query, 5, np.asarray([11, 12], dtype=np.int64))] == [11, 12]
    index.remove([10])
    hits = index.search(query, 5)
    assert [i for i, _ in hits] == [11, 12] and hits[0][1] == pytest.approx(0.8)


def test_chunk_table_never_reuses_ids_and_finds_neighbours():
    table = ChunkTable()
    chunks = Chunker(40, 0).split("doc", "One sentence here. Another sentence there. A third one to end.")
    assert len(chunks) >= 2
    for vid, chunk in zip(table.new_ids(len(chunks)).tolist(), chunks):
        table.add(vid, chunk)
    assert len(table) == len(chunks) and "doc#0" in table and list(table.sources) == ["doc"]
    assert [c.id for c in table.neighbours("doc#1", 1)] == [c.id for c in chunks[:3]]
    assert table.drop([c.id for c in chunks]) == list(range(len(chunks)))
    assert len(table) == 0 and table.new_ids(1).tolist() == [len(chunks)]
    with pytest.raises(RetrievalError, match="unknown chunk id 'doc#0'"):
        table.chunk("doc#0")
    evidence = chunk_evidence(chunks[0], 0.5)
    assert (evidence.id, evidence.span, evidence.score) == ("doc#0", (chunks[0].start, chunks[0].end), 0.5)


def test_lazy_keyword_index_rebuilds_only_after_reset():
    texts = {3: "apples and pears", 7: "pears only"}
    builds = []
    index = LazyKeywordIndex(lambda: builds.append(1) or dict(texts))
    assert sorted(i for i, _ in index.search("pears", 5)) == [3, 7]
    texts[9] = "apples galore"
    assert [i for i, _ in index.search("apples", 5)] == [3] and len(builds) == 1
    index.reset()
    assert sorted(i for i, _ in index.search("apples", 5)) == [3, 9] and len(builds) == 2
    assert [i for i, _ in index.search("apples", 5, np.asarray([9]))] == [9]


def test_ranked_hits_uses_a_wider_pool_for_hybrid():
    asked = []

    def side(hits):
        return lambda n: asked.append(n) or hits[:n]

    dense, keyword = side([(1, 0.9), (2, 0.8)]), side([(2, 5.0), (3, 1.0)])
    assert ranked_hits("dense", 1, dense, keyword) == [(1, 0.9)]
    assert ranked_hits("keyword", 2, dense, keyword) == [(2, 5.0), (3, 1.0)]
    assert [vid for vid, _ in ranked_hits("hybrid", 2, dense, keyword)] == [2, 1]
    assert asked == [1, 2, 30, 30]


def test_embed_texts_embeds_each_distinct_text_once_and_checks_the_dimension():
    emb = HashingEmbeddings(dim=16)
    matrix = embed_texts(emb, ["a b", "c", "a b"], batch_size=1, dimension=None, model_id="m")
    assert matrix.shape == (3, 16) and emb.calls == [1, 1]
    assert np.array_equal(matrix[0], matrix[2]) and np.allclose(np.linalg.norm(matrix, axis=1), 1)
    with pytest.raises(EmbeddingMismatchError, match="dimension 16.*dimension 8"):
        embed_texts(emb, ["d"], batch_size=4, dimension=8, model_id="m")
    titled = Chunker().split("s", "Body text.", "Title")[0]
    assert embedding_text(titled) == "Title\nBody text."


@pytest.mark.parametrize(
    ("source", "wanted", "expected"),
    [
        ("docs/a.md", "docs", True),
        ("docs/a.md", "docs/", True),
        ("docsx/a.md", "docs", False),
        ("d.jsonl#2", "d.jsonl", True),
    ],
)
def test_prefix_matching(source, wanted, expected):
    assert matches(source, wanted) is expected


def test_source_predicate_combines_sources_and_patterns():
    assert source_predicate(None, None) is None
    keep = source_predicate(["docs", "notes"], ["*.md"])
    sources = ("docs/a.md", "docs/b.txt", "notes/c.md", "other/d.md")
    assert [s for s in sources if keep(s)] == ["docs/a.md", "notes/c.md"]
