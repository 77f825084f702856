"""The pooled corpus: deduplication, unique source names, built once and reused from disk."""

from __future__ import annotations

import json

from agentic_rag.eval.corpus import load_or_build_corpus, pool_paragraphs
from agentic_rag.eval.datasets import Paragraph, QAExample, read_dataset
from tests.fakes import HashingEmbeddings

from .test_datasets import HOTPOT, write_json


def _example(qid: str, *paragraphs: tuple[str, str]) -> QAExample:
    pool = tuple(Paragraph(t, x) for t, x in paragraphs)
    return QAExample(id=qid, question="q?", answers=("a",), supporting=pool[:1], paragraphs=pool)


def test_pool_deduplicates_by_title_and_text_and_disambiguates_titles():
    examples = [
        _example("1", ("Relay", "Relay sends notifications."), ("Atlas", "Atlas owns billing.")),
        _example("2", ("Relay", "Relay  sends notifications. "), ("Atlas", "Atlas is led by Tomas.")),
        _example("3", ("Atlas (2)", "A real page titled Atlas (2)."), ("Atlas", "A third Atlas text.")),
    ]
    documents = pool_paragraphs(examples)
    assert [(d.source, d.title) for d in documents] == [
        ("Relay", "Relay"),  # the second Relay differs only in whitespace: the same paragraph
        ("Atlas", "Atlas"),
        ("Atlas (3)", "Atlas"),  # "Atlas (2)" is a real title elsewhere in the file
        ("Atlas (2)", "Atlas (2)"),
        ("Atlas (4)", "Atlas"),
    ]
    assert documents[2].text == "Atlas is led by Tomas."


def test_corpus_is_built_once_and_reused(tmp_path, caplog):
    dataset = read_dataset(write_json(tmp_path / "hotpot.json", HOTPOT), "hotpotqa")
    embeddings = HashingEmbeddings()
    corpus = load_or_build_corpus(dataset, embeddings, cache_dir=tmp_path / "cache")
    assert not corpus.reused
    assert corpus.directory.parent == tmp_path / "cache" and corpus.directory.name.startswith("hotpot-")
    assert corpus.kb.sources == ["Atlas", "Atlas (2)", "Comet", "Harbor", "Relay"]
    assert len(corpus.kb) == 5
    assert corpus.gold_sources(dataset.examples[2]) == ["Atlas (2)"]  # h3's Atlas is the second Atlas text
    assert corpus.gold_sources(dataset.examples[1]) == ["Relay", "Harbor"]
    meta = json.loads((corpus.directory / "corpus.json").read_text())
    assert meta["documents"] == 5 and meta["embedding_model"] == "hashing-test"
    calls = len(embeddings.calls)

    again = load_or_build_corpus(dataset, embeddings, cache_dir=tmp_path / "cache")
    assert again.reused and again.directory == corpus.directory
    assert len(embeddings.calls) == calls  # nothing embedded again
    hits = again.kb.search("Tomas Reyes leads Atlas", k=1)
    assert hits[0].id == "Atlas (2)#0" and hits[0].title == "Atlas"

    other_model = load_or_build_corpus(dataset, HashingEmbeddings(model_name="other"), cache_dir=tmp_path / "cache")
    assert not other_model.reused and other_model.directory != corpus.directory


def test_damaged_cache_is_rebuilt(tmp_path):
    dataset = read_dataset(write_json(tmp_path / "hotpot.json", HOTPOT), "hotpotqa")
    corpus = load_or_build_corpus(dataset, HashingEmbeddings(), cache_dir=tmp_path)
    for chunks in (corpus.directory / "index").glob("chunks-*.jsonl"):
        chunks.write_text("garbage\n")
    rebuilt = load_or_build_corpus(dataset, HashingEmbeddings(), cache_dir=tmp_path)
    assert not rebuilt.reused and len(rebuilt.kb) == 5
    assert load_or_build_corpus(dataset, HashingEmbeddings(), cache_dir=tmp_path).reused
