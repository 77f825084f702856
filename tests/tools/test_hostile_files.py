"""Files that must not be read or must not stop a run: links out of the folder, FIFOs, deep JSON."""

from __future__ import annotations

import os
import threading

from typer.testing import CliRunner

from agentic_rag import cli
from agentic_rag.tools.knowledge_base import KnowledgeBase
from agentic_rag.tools.loaders import scan_paths
from tests.fakes import HashingEmbeddings


def docs(tmp_path):
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.md").write_text("# A\n\nThe alpha service is owned by Harbor.\n")
    (folder / "sub" / "b.md").write_text("# B\n\nThe beta service is owned by Atlas.\n")
    return folder


def test_a_symlink_out_of_the_folder_is_skipped_and_reported(tmp_path):
    folder = docs(tmp_path)
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:the secret password is hunter2\n")
    (folder / "x.txt").symlink_to(secret)
    (folder / "inside.md").symlink_to(folder / "sub" / "b.md")  # a link within the folder is fine
    kb = KnowledgeBase(HashingEmbeddings())
    report = kb.index_paths([folder])
    assert sorted(kb.sources) == ["a.md", "inside.md", "sub/b.md"]
    [(key, reason)] = report.skipped
    assert key == "x.txt" and "outside the folders indexed" in reason
    assert not any("hunter2" in e.text for e in kb.search("secret password", k=5))
    followed = KnowledgeBase(HashingEmbeddings())
    followed.index_paths([folder], follow_symlinks=True)
    assert "x.txt" in followed.sources


def test_a_fifo_is_never_opened(tmp_path):
    folder = docs(tmp_path)
    os.mkfifo(folder / "pipe.txt")
    done = threading.Event()

    def scan():
        scan_paths([folder])
        done.set()

    threading.Thread(target=scan, daemon=True).start()
    assert done.wait(10), "scanning blocked on the FIFO"
    scan = scan_paths([folder, folder / "pipe.txt"])
    assert ("pipe.txt", "not a regular file (a device, FIFO or socket)") in scan.skipped
    assert (str(folder / "pipe.txt"), "not a regular file (a device, FIFO or socket)") in scan.skipped


def test_deeply_nested_json_is_one_skipped_file_and_the_rest_is_indexed(tmp_path, monkeypatch):
    monkeypatch.setattr("agentic_rag.tools.embeddings.default_embeddings", lambda *a, **k: HashingEmbeddings())
    folder = docs(tmp_path)
    (folder / "deep.json").write_text("[" * 980 + "]" * 980)
    (folder / "deeper.jsonl").write_text('{"a": ' * 200 + "1" + "}" * 200 + "\n")
    result = CliRunner().invoke(cli.app, ["index", str(folder), "--index", str(tmp_path / "idx")])
    assert result.exit_code == 0, result.output
    assert "2 new" in result.stdout
    assert "deep.json" in result.stderr and "nested deeper than 64 levels" in result.stderr
    assert "deeper.jsonl" in result.stderr
    assert sorted(KnowledgeBase.load(tmp_path / "idx", HashingEmbeddings()).sources) == ["a.md", "sub/b.md"]


def test_lone_surrogates_nul_and_latin1_names_do_not_block_the_index(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "records.jsonl").write_text('{"title": "Odd", "text": "a \\ud800 b and \\u0000 c"}\n', encoding="utf-8")
    (docs / "front.md").write_text('---\ntitle: "\\ud800"\nteam: "\\ud800x"\n---\n# Heading\n\nBody text.\n', encoding="utf-8")
    with open(os.path.join(os.fsencode(docs), b"caf\xe9.txt"), "wb") as handle:
        handle.write(b"Latin-1 named file about espresso.")
    (docs / "plain.txt").write_text("An ordinary file.", encoding="utf-8")
    kb = KnowledgeBase(HashingEmbeddings())
    report = kb.index_paths(docs)
    assert sorted(report.added) == ["caf\\xe9.txt", "front.md", "plain.txt", "records.jsonl"] and not report.skipped
    kb.save(tmp_path / "index")  # every name and text can be written as UTF-8
    loaded = KnowledgeBase.load(tmp_path / "index", HashingEmbeddings())
    assert loaded.get("records.jsonl#0#0").text.endswith("a \ufffd b and \ufffd c")
    assert loaded.get("front.md#0").metadata["team"] == "\ufffdx"
    assert "espresso" in loaded.get("caf\\xe9.txt#0").text


def test_a_docx_of_nested_paragraphs_is_read_once_each(tmp_path):
    import io
    import zipfile

    from agentic_rag.tools.loaders import SourceFile, parse_file

    namespace = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    depth = 2000  # each paragraph nested in the one before: read naively, every level is walked again
    xml = (f"<w:document {namespace}><w:body>" + "<w:p><w:r><w:t>x</w:t></w:r>" * depth + "</w:p>" * depth
           + "</w:body></w:document>")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", xml)
    documents, skipped = parse_file(SourceFile(tmp_path / "nested.docx", "nested.docx"), buffer.getvalue())
    assert not skipped and documents[0].text == "x" * depth  # the outermost paragraph holds them all, once
