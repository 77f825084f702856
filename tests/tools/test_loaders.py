import hashlib
import json
import os
from pathlib import Path

import pytest

from agentic_rag.tools import loaders
from agentic_rag.tools.loaders import load_paths, scan_paths


def make_pdf(path: Path, lines: list[str], title: str | None = None) -> Path:
    """A minimal one-page PDF with Helvetica text (no PDF writer library needed)."""
    stream = "BT /F1 12 Tf 72 720 Td " + " ".join(f"({line}) Tj 0 -16 Td" for line in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    if title:
        objects.append(f"<< /Title ({title}) >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    info = f" /Info {len(objects)} 0 R" if title else ""
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R{info} >>\nstartxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(bytes(out))
    return path


def _by_source(result):
    return {d.source: d for d in result.documents}


def test_text_and_markdown(tmp_path):
    (tmp_path / "notes.txt").write_text("Plain text about rivers.\r\nSecond line.\n")
    (tmp_path / "guide.md").write_text("Intro line\n\n## Getting Started\n\nRun the thing.\n\n# Later\n")
    (tmp_path / "plain.md").write_text("no heading here\n")
    docs = _by_source(load_paths(tmp_path))
    assert docs["notes.txt"].text == "Plain text about rivers.\nSecond line.\n"
    assert docs["notes.txt"].title == "notes"
    assert docs["guide.md"].title == "Getting Started"
    assert docs["plain.md"].title == "plain"


def test_sources_are_relative_posix_paths_and_hidden_entries_are_ignored(tmp_path):
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / "sub" / "deeper" / "a.txt").write_text("deep file")
    (tmp_path / ".hidden.txt").write_text("secret")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "b.txt").write_text("git internals")
    result = load_paths(tmp_path)
    assert [d.source for d in result.documents] == ["sub/deeper/a.txt"]
    assert result.skipped == []


def test_file_given_directly_is_named_by_its_file_name(tmp_path):
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "one.txt"
    path.write_bytes(b"one file")
    result = load_paths([path])
    (doc,) = result.documents
    assert doc.source == doc.file == "one.txt"
    assert doc.content_hash == hashlib.sha256(b"one file").hexdigest()


def test_html_title_and_text_without_scripts(tmp_path):
    (tmp_path / "page.html").write_text(
        "<html><head><title>The Page</title><style>p {color: red}</style></head>"
        "<body><h1>Heading</h1><script>var x = 1;</script><p>First   paragraph.</p><p>Second.</p></body></html>"
    )
    (tmp_path / "untitled.htm").write_text("<body><h1>Only Heading</h1><p>Body text.</p></body>")
    docs = _by_source(load_paths(tmp_path))
    page = docs["page.html"]
    assert page.title == "The Page"
    assert "First paragraph." in page.text and "Second." in page.text
    assert "var x" not in page.text and "color" not in page.text
    assert docs["untitled.htm"].title == "Only Heading"


def test_pdf_text_and_title(tmp_path):
    make_pdf(tmp_path / "paper.pdf", ["Transformers use attention.", "Second line of the paper."], title="A Paper")
    make_pdf(tmp_path / "untitled.pdf", ["Just text."])
    docs = _by_source(load_paths(tmp_path))
    assert "Transformers use attention." in docs["paper.pdf"].text
    assert docs["paper.pdf"].title == "A Paper"
    assert docs["untitled.pdf"].title == "untitled"


def test_json_list_records(tmp_path):
    records = [
        {"title": "Paris", "text": "Paris is the capital of France."},
        {"content": "Content field is used."},
        {"name": "Joined", "note": "string fields", "n": 3},
        "a bare string record",
    ]
    raw = json.dumps(records).encode()
    (tmp_path / "data.json").write_bytes(raw)
    result = load_paths(tmp_path)
    docs = _by_source(result)
    assert list(docs) == ["data.json#0", "data.json#1", "data.json#2", "data.json#3"]
    assert docs["data.json#0"].title == "Paris" and docs["data.json#0"].text == "Paris is the capital of France."
    assert docs["data.json#1"].text == "Content field is used." and docs["data.json#1"].title == "data"
    assert docs["data.json#2"].text == "name: Joined\nnote: string fields\nn: 3"  # keys and numbers kept
    assert docs["data.json#3"].text == "a bare string record"
    assert {d.file for d in result.documents} == {"data.json"}
    assert {d.content_hash for d in result.documents} == {hashlib.sha256(raw).hexdigest()}


def test_json_single_record_and_wrapped_list(tmp_path):
    (tmp_path / "one.json").write_text(json.dumps({"title": "Solo", "body": "A single record."}))
    (tmp_path / "wrapped.json").write_text(json.dumps({"records": [{"text": "r0"}, {"text": "r1"}]}))
    docs = _by_source(load_paths(tmp_path))
    assert docs["one.json"].title == "Solo" and docs["one.json"].text == "A single record."
    assert docs["wrapped.json#1"].text == "r1"


def test_json_object_holding_a_list_of_records(tmp_path):
    directory = {
        "directory": "Staff directory",
        "note": "x" * 200,  # long context is not repeated into every record
        "people": [
            {"name": "Ada Byrne", "office": "Leeds", "extension": 1001},
            {"name": "Bo Lind", "office": "Porto", "extension": 2002},
        ],
    }
    (tmp_path / "staff.json").write_text(json.dumps(directory))
    docs = _by_source(load_paths(tmp_path))
    assert docs["staff.json#1"].text == "directory: Staff directory\nname: Bo Lind\noffice: Porto\nextension: 2002"


def test_record_keeps_fields_beside_its_main_text(tmp_path):
    (tmp_path / "log.jsonl").write_text('{"id": "INC-7", "commander": "Ada Byrne", "minutes": 42, "summary": "Queue stalled."}\n')
    text = _by_source(load_paths(tmp_path))["log.jsonl#0"].text
    assert "commander: Ada Byrne" in text and "minutes: 42" in text and text.endswith("Queue stalled.")


def test_jsonl_records(tmp_path):
    (tmp_path / "rows.jsonl").write_text(
        '{"title": "A", "text": "first"}\n\n{"title": "B", "text": "second"}\n{"body": "third"}\n'
    )
    docs = _by_source(load_paths(tmp_path))
    assert [(s, d.title, d.text) for s, d in docs.items()] == [
        ("rows.jsonl#0", "A", "first"),
        ("rows.jsonl#1", "B", "second"),
        ("rows.jsonl#2", "rows", "third"),
    ]


@pytest.mark.parametrize(
    "name,content,reason",
    [
        ("empty.txt", b"", "empty file"),
        ("blank.md", b"  \n\n\t ", "empty file"),
        ("binary.txt", b"abc\x00\x01\x02\xff" * 10, "binary file"),
        ("latin1.txt", "caf\xe9 cr\xe8me".encode("latin-1"), "not UTF-8"),
        ("image.png", b"\x89PNG\r\n\x1a\n", "unsupported file type '.png'"),
        ("noext", b"text", "unsupported file type 'noext'"),
        ("broken.json", b'{"text": "unterminated', "invalid JSON"),
        ("broken.jsonl", b'{"text": "ok"}\n{oops}\n', "invalid JSON on line 2"),
        ("fake.pdf", b"%PDF-1.4 garbage that is not a pdf", "unreadable PDF"),
        ("notpdf.pdf", b"hello", "not a PDF"),
        ("script.html", b"<html><script>only code</script></html>", "no text"),
        ("empty.json", b"[]", "no records"),
    ],
)
def test_bad_inputs_are_reported_and_skipped(tmp_path, name, content, reason):
    (tmp_path / name).write_bytes(content)
    (tmp_path / "good.txt").write_text("the good file still loads")
    result = load_paths(tmp_path)
    assert [d.source for d in result.documents] == ["good.txt"]
    assert len(result.skipped) == 1
    path, why = result.skipped[0]
    assert path == name and reason in why


def test_record_without_text_is_skipped_but_others_load(tmp_path):
    (tmp_path / "mixed.jsonl").write_text('{"text": "kept"}\n{"id": 7}\n')
    result = load_paths(tmp_path)
    assert [d.source for d in result.documents] == ["mixed.jsonl#0"]
    assert result.skipped == [("mixed.jsonl#1", "record has no text")]


def test_unreadable_file_is_reported(tmp_path, monkeypatch):
    (tmp_path / "locked.txt").write_text("cannot read me")
    (tmp_path / "good.txt").write_text("fine")
    real = loaders.read_file

    def read_file(path: Path) -> bytes:
        if path.name == "locked.txt":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(loaders, "read_file", read_file)
    result = load_paths(tmp_path)
    assert [d.source for d in result.documents] == ["good.txt"]
    assert result.skipped == [("locked.txt", "cannot read: Permission denied")]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can read mode-000 files")
def test_mode_000_file_is_reported(tmp_path):
    locked = tmp_path / "locked.txt"
    locked.write_text("cannot read me")
    locked.chmod(0)
    try:
        result = load_paths(tmp_path)
    finally:
        locked.chmod(0o644)
    assert result.documents == [] and result.skipped[0][0] == "locked.txt"


def test_missing_path_is_reported(tmp_path):
    result = load_paths([tmp_path / "nope"])
    assert result.documents == [] and result.skipped == [(str(tmp_path / "nope"), "no such file or folder")]


def test_scan_maps_a_file_under_a_known_root_to_its_relative_name(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_text("a")
    scan = scan_paths([tmp_path / "sub" / "a.txt"], known_roots=[str(tmp_path.resolve())])
    assert [(f.key, f.root) for f in scan.files] == [("sub/a.txt", str(tmp_path.resolve()))]


def test_same_name_in_two_folders_is_named_from_their_common_parent(tmp_path):
    for folder in ("one", "two"):
        (tmp_path / "docs" / folder).mkdir(parents=True)
        (tmp_path / "docs" / folder / "README.md").write_text(f"# {folder}\n\nAbout {folder}.\n")
    result = load_paths([tmp_path / "docs" / "one", tmp_path / "docs" / "two"])
    assert [(d.source, d.title) for d in result.documents] == [("one/README.md", "one"), ("two/README.md", "two")]
    assert not result.skipped
    # One folder alone: names relative to it, as before.
    assert [d.source for d in load_paths(tmp_path / "docs" / "one").documents] == ["README.md"]


def test_two_files_given_directly_under_one_name_are_reported(tmp_path):
    for folder in ("one", "two"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "README.md").write_text(f"# {folder}\n\nAbout {folder}.\n")
    result = load_paths([tmp_path / "one" / "README.md", tmp_path / "two" / "README.md"])
    assert [d.title for d in result.documents] == ["one"]
    name, reason = result.skipped[0]
    assert name == "README.md" and str(tmp_path / "two" / "README.md") in reason and "already used" in reason


def test_csv_rows_are_records_keyed_by_the_header(tmp_path):
    (tmp_path / "rota.csv").write_text(
        "week,primary,secondary\n2025-07-07,Ottoline Abara,Yusra Kadeer\n2025-07-14,,Delphine Marchbanks\n,,\n",
        encoding="utf-8",
    )
    (tmp_path / "semi.csv").write_text("name;office\nTiago Valadares;Porto\n", encoding="utf-8")
    docs = _by_source(load_paths(tmp_path))
    assert docs["rota.csv#0"].text == "week: 2025-07-07\nprimary: Ottoline Abara\nsecondary: Yusra Kadeer"
    assert docs["rota.csv#1"].text == "week: 2025-07-14\nsecondary: Delphine Marchbanks"  # empty cells left out
    assert "rota.csv#2" not in docs  # an empty row has no text
    assert docs["semi.csv#0"].text == "name: Tiago Valadares\noffice: Porto"


def make_docx(path: Path, paragraphs: list[tuple[str | None, str]]) -> Path:
    """A minimal Word file: (style, text) paragraphs in word/document.xml."""
    import zipfile
    from xml.sax.saxutils import escape

    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    body = "".join(
        f'<w:p>{f"<w:pPr><w:pStyle w:val={chr(34)}{style}{chr(34)}/></w:pPr>" if style else ""}'
        f'<w:r><w:t xml:space="preserve">{escape(text)}</w:t></w:r></w:p>'
        for style, text in paragraphs
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>')
        archive.writestr("word/document.xml", f'<?xml version="1.0"?><w:document xmlns:w="{w}"><w:body>{body}</w:body></w:document>')
    return path


def test_docx_paragraphs_and_title(tmp_path):
    make_docx(tmp_path / "plan.docx", [("Title", "Release plan"), (None, "Ship on Tuesday <after> review."), (None, "  ")])
    doc = _by_source(load_paths(tmp_path))["plan.docx"]
    assert doc.title == "Release plan"
    assert doc.text == "Ship on Tuesday <after> review."  # the heading is the section's, not a line of text
    assert [(section.path, doc.text[section.start:section.end]) for section in doc.sections] == [
        (("Release plan",), doc.text)]


@pytest.mark.parametrize("name,content,reason", [
    ("bad.docx", b"PK\x03\x04 not really a zip", "not a readable .docx file"),
    ("bad.csv", b"\n\n", "empty file"),
])
def test_broken_docx_and_csv_are_reported(tmp_path, name, content, reason):
    (tmp_path / name).write_bytes(content)
    result = load_paths(tmp_path)
    assert not result.documents and reason in dict(result.skipped)[name]


def test_front_matter_with_nested_yaml_aliases_loads_quickly_and_keeps_plain_values(tmp_path):
    """A few hundred bytes of aliased lists would expand to millions of items; only plain values are kept."""
    import time

    row = lambda name, ref: f"{name}: &{name} [" + ",".join([ref] * 32) + "]"  # noqa: E731
    lines = [row("a", "x"), row("b", "*a"), row("c", "*b"), row("d", "*c"), "e: [" + ",".join(["*d"] * 32) + "]"]
    (tmp_path / "bomb.md").write_text("---\n" + "\n".join(lines) + "\nteam: harbor\n---\n# Bomb\n\nText.\n")
    started = time.monotonic()
    [document] = load_paths(tmp_path).documents
    assert time.monotonic() - started < 5
    assert document.metadata["a"] == ["x"] * 32 and document.metadata["team"] == "harbor"
    assert "b" not in document.metadata and "e" not in document.metadata


def test_the_prefix_a_folders_files_were_named_with_is_told_from_their_names():
    from agentic_rag.tools.loaders import name_prefix

    assert name_prefix("/srv/docs/topics", ["topics/a.md", "topics/b/c.md"]) == "topics/"
    assert name_prefix("/srv/docs/topics", ["docs/topics/a.md"]) == "docs/topics/"
    assert name_prefix("/srv/docs/topics", ["a.md", "topics.md"]) == ""
    assert name_prefix("/srv/docs/topics", ["topics/a.md", "b.md"]) == ""
