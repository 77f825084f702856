import json
import os

import pytest

from agentic_rag.errors import EmbeddingMismatchError, KnowledgeBaseError
from agentic_rag.tools import store
from agentic_rag.tools.knowledge_base import KnowledgeBase
from tests.fakes import HashingEmbeddings

QUERIES = ["capital of France", "install with pip", "topic3 detail17", "rivers"]


@pytest.fixture
def corpus(tmp_path):
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "install.md").write_text("# Install\n\nUse pip to install the package. Rivers are unrelated.\n")
    (root / "facts.jsonl").write_text(
        '{"title": "Paris", "text": "Paris is the capital of France."}\n{"text": "Rome is in Italy."}\n'
    )
    (root / "long.txt").write_text(" ".join(f"Line {i} on topic{i % 5} with detail{i}." for i in range(80)))
    return root


@pytest.fixture
def kb(corpus):
    kb = KnowledgeBase.from_paths(corpus, HashingEmbeddings(), chunk_size=150, chunk_overlap=30)
    kb.add_texts([("note/1", "A free-standing note about rivers and lakes.", "Note")])
    return kb


def _results(kb):
    return {
        (q, mode): [(e.id, round(e.score, 6), e.span, e.title, e.text) for e in kb.search(q, k=5, mode=mode)]
        for q in QUERIES
        for mode in ("dense", "keyword", "hybrid")
    }


def test_round_trip_gives_the_same_results(kb, tmp_path):
    target = tmp_path / "index"
    assert kb.save(target) == target
    assert sorted(p.name for p in target.iterdir()) == [".lock", "chunks-000001.jsonl", "index-000001.faiss", "manifest.json"]
    loaded = KnowledgeBase.load(target, HashingEmbeddings())
    assert len(loaded) == len(kb) and loaded.sources == kb.sources
    assert loaded.files == kb.files
    assert (loaded.chunk_size, loaded.chunk_overlap) == (150, 30)
    assert _results(loaded) == _results(kb)
    assert loaded.neighbours("long.txt#2") == kb.neighbours("long.txt#2")
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["format_version"] == store.FORMAT_VERSION
    assert manifest["embedding"] == {"model_id": "hashing-test", "dimension": 64}
    assert manifest["files"]["install.md"]["chunks"] == ["install.md#0"]
    assert manifest["texts"]["note/1"]["chunks"] == ["note/1#0"]
    assert len(manifest["roots"]) == 1


def test_loaded_index_stays_incremental(kb, corpus, tmp_path):
    kb.save(tmp_path / "index")
    emb = HashingEmbeddings()
    loaded = KnowledgeBase.load(tmp_path / "index", emb)
    (corpus / "install.md").write_text("# Install\n\nUse conda now.\n")
    report = loaded.index_paths(corpus)
    assert report.updated == ["install.md"] and sorted(report.unchanged) == ["facts.jsonl", "long.txt"]
    assert sum(emb.calls) == 1
    same_note = loaded.add_texts([("note/1", "A free-standing note about rivers and lakes.", "Note")])
    assert same_note.unchanged == ["note/1"]
    # New vector ids do not collide with loaded ones.
    assert loaded.search("conda", k=1, mode="keyword")[0].id == "install.md#0"
    loaded.save(tmp_path / "index")
    again = KnowledgeBase.load(tmp_path / "index", HashingEmbeddings())
    assert _results(again) == _results(loaded)


def test_second_save_replaces_the_previous_generation(kb, tmp_path):
    target = tmp_path / "index"
    kb.save(target)
    kb.add_texts([("note/2", "Another note.", None)])
    kb.save(target)
    assert sorted(p.name for p in target.iterdir()) == [".lock", "chunks-000002.jsonl", "index-000002.faiss", "manifest.json"]
    assert "note/2" in KnowledgeBase.load(target, HashingEmbeddings()).sources


@pytest.mark.parametrize("step", ["_write_index", "_write_chunks", "_write_manifest"])
def test_crash_during_save_leaves_previous_index_intact(kb, tmp_path, monkeypatch, step):
    target = tmp_path / "index"
    kb.save(target)
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    expected = _results(kb)
    kb.add_texts([("note/2", "Text that never reaches the disk.", None)])

    real = getattr(store, step)

    def crash(*args, **kwargs):
        if step != "_write_manifest":
            real(*args, **kwargs)  # the file is written completely, then the process "dies"
        raise OSError("disk on fire")

    monkeypatch.setattr(store, step, crash)
    with pytest.raises(KnowledgeBaseError, match="disk on fire"):
        kb.save(target)
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    loaded = KnowledgeBase.load(target, HashingEmbeddings())
    assert "note/2" not in loaded.sources and _results(loaded) == expected


def test_crash_leftovers_are_ignored_and_cleaned_up(kb, tmp_path, monkeypatch):
    target = tmp_path / "index"
    kb.save(target)
    (target / "index-000002.faiss").write_bytes(b"half-written")  # a crash that left a partial file behind
    assert len(KnowledgeBase.load(target, HashingEmbeddings())) == len(kb)
    kb.save(target)
    assert sorted(p.name for p in target.iterdir()) == [".lock", "chunks-000003.jsonl", "index-000003.faiss", "manifest.json"]


def test_embedding_mismatch_is_refused(kb, tmp_path):
    kb.save(tmp_path / "index")
    with pytest.raises(EmbeddingMismatchError, match="built with embedding model 'hashing-test'"):
        KnowledgeBase.load(tmp_path / "index", HashingEmbeddings(model_name="other-model"))
    with pytest.raises(EmbeddingMismatchError, match="dimension 64.*dimension 32"):
        KnowledgeBase.load(tmp_path / "index", HashingEmbeddings(dim=32))
    # An explicit id override is honoured.
    loaded = KnowledgeBase.load(
        tmp_path / "index", HashingEmbeddings(model_name="renamed"), embedding_model_id="hashing-test"
    )
    assert len(loaded) == len(kb)


def test_missing_index_directory(tmp_path):
    with pytest.raises(KnowledgeBaseError, match="no knowledge base at .*does not exist"):
        KnowledgeBase.load(tmp_path / "absent", HashingEmbeddings())
    (tmp_path / "empty").mkdir()
    with pytest.raises(KnowledgeBaseError, match="manifest.json not found"):
        KnowledgeBase.load(tmp_path / "empty", HashingEmbeddings())


def _single_line(exc_info) -> str:
    message = str(exc_info.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    "damage,expected",
    [
        (lambda d: (d / "manifest.json").write_text("{not json"), "manifest.json is not valid JSON"),
        (lambda d: (d / "manifest.json").write_text("[]"), "not an agentic-rag knowledge base manifest"),
        (lambda d: (d / "index-000001.faiss").unlink(), "index-000001.faiss is missing"),
        (lambda d: (d / "chunks-000001.jsonl").write_text("garbage\n"), "does not match its checksum"),
        (lambda d: (d / "index-000001.faiss").write_bytes(b"\x00" * 64), "does not match its checksum"),
    ],
)
def test_corrupt_index_directory(kb, tmp_path, damage, expected):
    target = tmp_path / "index"
    kb.save(target)
    damage(target)
    with pytest.raises(KnowledgeBaseError) as exc_info:
        KnowledgeBase.load(target, HashingEmbeddings())
    assert expected in _single_line(exc_info) and "corrupt knowledge base" in str(exc_info.value)


def _edit_manifest(directory, change):
    manifest = json.loads((directory / "manifest.json").read_text())
    change(manifest)
    (directory / "manifest.json").write_text(json.dumps(manifest))


def test_unreadable_files_without_checksums_are_still_caught(kb, tmp_path):
    target = tmp_path / "index"
    kb.save(target)

    def drop_checksums(m):
        for entry in m["generation_files"].values():
            entry.pop("sha256")

    _edit_manifest(target, drop_checksums)
    (target / "index-000001.faiss").write_bytes(b"not a faiss index")
    with pytest.raises(KnowledgeBaseError, match="not a readable FAISS index"):
        KnowledgeBase.load(target, HashingEmbeddings())


def test_chunk_count_mismatch_is_caught(kb, tmp_path):
    target = tmp_path / "index"
    kb.save(target)
    _edit_manifest(target, lambda m: m.update(count=m["count"] + 1))
    with pytest.raises(KnowledgeBaseError, match=r"manifest.json counts (\d+) chunks, chunks-000001.jsonl holds (?!\1)\d+"):
        KnowledgeBase.load(target, HashingEmbeddings())


def test_newer_format_version_is_refused(kb, tmp_path):
    target = tmp_path / "index"
    kb.save(target)
    _edit_manifest(target, lambda m: m.update(format_version=store.FORMAT_VERSION + 1))
    with pytest.raises(KnowledgeBaseError, match="newer than this agentic-rag supports") as exc_info:
        KnowledgeBase.load(target, HashingEmbeddings())
    _single_line(exc_info)


def test_empty_knowledge_base_round_trip(tmp_path):
    KnowledgeBase(HashingEmbeddings()).save(tmp_path / "empty")
    loaded = KnowledgeBase.load(tmp_path / "empty", HashingEmbeddings())
    assert len(loaded) == 0 and loaded.dimension == 64 and loaded.search("x") == []


def test_no_pickle_in_saved_files(kb, tmp_path):
    kb.save(tmp_path / "index")
    for path in (tmp_path / "index").iterdir():
        data = path.read_bytes()
        assert not data.startswith(b"\x80"), f"{path.name} looks like a pickle"
    for line in (tmp_path / "index" / "chunks-000001.jsonl").read_text().splitlines():
        json.loads(line)


def _set(path: str, value):
    """A change of the manifest that puts ``value`` at a dotted ``path`` (``*`` = every entry of a mapping)."""
    def change(manifest):
        *parents, last = path.split(".")
        nodes = [manifest]
        for part in parents:
            nodes = [child for node in nodes for child in (node.values() if part == "*" else [node[part]])]
        for node in nodes:
            if last == "*":
                for key in node:
                    node[key] = value
            else:
                node[last] = value
    return change


@pytest.mark.parametrize("field, value", [
    ("chunking.chunk_size", "abc"), ("chunking.chunk_size", 0), ("chunking.chunk_overlap", -5),
    ("chunking.chunk_size", True), ("roots", 5), ("roots", "/tmp"), ("roots", [1, 2]),
    ("embedding.model_id", 7), ("embedding.dimension", "384"), ("embedding.dimension", -1),
    ("generation", "two"), ("count", "3"), ("count", -1), ("generation_files.index", "index-000001.faiss"),
    ("generation_files.chunks.name", 12), ("generation_files.index.bytes", "many"), ("files", []),
    ("files.*", "hash"), ("files.*.chunks", "abc"), ("files.*.hash", None), ("texts.*.chunks", [1, 2]),
    ("texts.*.root", 3), ("embedding", None), ("chunking", []), ("format_version", "1"),
])
def test_a_manifest_field_of_the_wrong_type_is_an_error_naming_it(kb, tmp_path, field, value):
    target = tmp_path / "index"
    kb.save(target)
    _edit_manifest(target, _set(field, value))
    with pytest.raises(KnowledgeBaseError) as exc_info:
        KnowledgeBase.load(target, HashingEmbeddings())
    message = _single_line(exc_info)
    named = field.split(".*")[0].split(".")[0]
    assert named in message or "format_version" in message, message


@pytest.mark.parametrize("field, value", [
    ("title", 5), ("vid", "x"), ("n", -1), ("text", None), ("source", ["a"]), ("start", 1.5),
])
def test_a_chunk_record_of_the_wrong_type_is_an_error_naming_it(kb, tmp_path, field, value):
    target = tmp_path / "index"
    kb.save(target)
    chunks_file = next(target.glob("chunks-*.jsonl"))
    lines = chunks_file.read_text().splitlines()
    record = json.loads(lines[0])
    record[field] = value
    chunks_file.write_text("\n".join([json.dumps(record), *lines[1:]]) + "\n")
    _edit_manifest(target, lambda m: m["generation_files"]["chunks"].pop("sha256"))
    with pytest.raises(KnowledgeBaseError, match=f"line 1 is not a valid chunk \\(field {field}"):
        KnowledgeBase.load(target, HashingEmbeddings())


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc to tell which file is being flushed")
def test_a_crash_while_the_manifest_is_written_leaves_the_previous_one(kb, tmp_path, monkeypatch):
    target = tmp_path / "index"
    kb.save(target)
    before = (target / "manifest.json").read_bytes()
    real_fsync = os.fsync

    def crash_on_the_manifest(fd):
        if os.readlink(f"/proc/self/fd/{fd}").rsplit("/", 1)[-1].startswith("manifest.json"):
            raise OSError(5, "simulated crash while writing the manifest")
        real_fsync(fd)

    kb.add_texts([("note/2", "Another note about mountains.", "Note 2")])
    monkeypatch.setattr(os, "fsync", crash_on_the_manifest)
    with pytest.raises(KnowledgeBaseError, match="simulated crash"):
        kb.save(target)
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert (target / "manifest.json").read_bytes() == before  # written aside and moved in, never in place
    assert len(KnowledgeBase.load(target, HashingEmbeddings())) == len(kb) - 1
    assert not [p.name for p in target.iterdir() if p.name.endswith(".tmp")]


def test_an_index_from_the_earlier_chunking_is_refused_naming_the_rebuild_command(kb, tmp_path):
    target = tmp_path / "index"
    kb.save(target)
    _edit_manifest(target, lambda m: m.update(format_version=1, roots=["/srv/docs", "/srv/my notes"]))
    with pytest.raises(KnowledgeBaseError) as exc_info:
        KnowledgeBase.load(target, HashingEmbeddings())
    _single_line(exc_info)
    assert f"agentic-rag index /srv/docs '/srv/my notes' --index {target} --rebuild" in str(exc_info.value)
