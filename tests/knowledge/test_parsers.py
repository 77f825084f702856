"""Each parser turns markup into readable text and sections; broken or hostile input still loads."""

from __future__ import annotations

import logging

import pytest

from agentic_rag.knowledge.html import parse_html
from agentic_rag.knowledge.markdown import parse_markdown
from agentic_rag.knowledge.rst import looks_like_rst, parse_rst
from agentic_rag.knowledge.structure import breadcrumb, fence
from agentic_rag.tools.loaders import SourceFile, parse_file

RST = """\
Deploying
=========

.. currentmodule:: shipyard

Create the app with :class:`~shipyard.app.Harbour` and read
:ref:`the settings guide <settings>` before you start.

Configure the workers
---------------------

Set the number of workers in the ``WORKERS`` setting::

    WORKERS = 4

.. versionadded:: 2.1
   The ``--workers`` option.

.. note::
   Restart after changing it.

.. toctree::
   :maxdepth: 1

   deploy/advanced

.. include:: /etc/passwd

.. tabs::

   .. tab:: Linux

      Run the service with systemd.

1. Build the image.
2. Push it with ``shipyard push``.
"""


def _section_texts(parsed):
    return {section.path: parsed.text[section.start:section.end] for section in parsed.sections}


def test_rst_roles_become_their_text_and_directives_their_content():
    parsed = parse_rst(RST)
    sections = _section_texts(parsed)
    assert list(sections) == [("Deploying",), ("Deploying", "Configure the workers")]
    intro = sections[("Deploying",)]
    # A role reads as Sphinx renders it; a hard-wrapped paragraph is one line.
    assert intro == "Create the app with `Harbour` and read the settings guide before you start."
    body = sections[("Deploying", "Configure the workers")]
    assert "Set the number of workers in the `WORKERS` setting:\n\n```\nWORKERS = 4\n```" in body
    assert "Added in version 2.1." in body and "The `--workers` option." in body
    assert "Note:\n\nRestart after changing it." in body
    assert "Run the service with systemd." in body  # an unknown directive's content is kept
    assert "1. Build the image.\n2. Push it with `shipyard push`." in body
    for markup in (":class:", ":ref:", "..", "toctree", "deploy/advanced", "currentmodule", "passwd", "====", "----"):
        assert markup not in parsed.text, markup


def test_rst_include_reads_no_other_file(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("the launch code is 0000", encoding="utf-8")
    parsed = parse_rst(f"Title\n=====\n\n.. include:: {secret}\n\n.. literalinclude:: {secret}\n\nText.\n")
    assert "launch code" not in parsed.text and parsed.text == "Text."


def test_rst_in_a_txt_file_is_recognised():
    assert looks_like_rst(RST)
    assert looks_like_rst("Intro\n\n.. note::\n   careful\n")
    assert not looks_like_rst("A plain note.\n\nNothing underlined here.\n--- a dash line of another length\n")


def test_markdown_sections_lists_tables_and_code():
    parsed = parse_markdown(
        "# Guide\n\nIntro with *emphasis*, a [link](https://example.com) and\na hard wrap.\n\n"
        "## Install\n\n1. Run `pip install harbour`.\n2. Start it:\n\n   ```bash\n   harbour serve\n   ```\n\n"
        "| setting | default |\n|---|---|\n| workers | 4 |\n\n### From source\n\nClone <b>it</b>.\n")
    sections = _section_texts(parsed)
    assert parsed.title == "Guide"
    assert sections[("Guide",)] == "Intro with emphasis, a link and a hard wrap."
    install = sections[("Guide", "Install")]
    assert install.startswith("1. Run `pip install harbour`.\n2. Start it:\n\n```bash\nharbour serve\n```")
    assert "setting | default\nworkers | 4" in install
    assert sections[("Guide", "Install", "From source")] == "Clone it."
    assert "#" not in parsed.text and "](" not in parsed.text


def test_a_heading_line_that_would_make_a_regex_backtrack_parses():
    parsed = parse_markdown("# a" + " " * 2500 + "x\n\nbody\n")
    assert parsed.sections[0].path == ("a x",)
    assert parsed.text == "body"


def test_html_headings_open_sections_and_pre_stays_code():
    parsed = parse_html(b"<html><head><title>Harbour</title><script>x()</script></head><body>"
                        b"<h1>Harbour</h1><p>Run it\n with <code>harbour</code>.</p>"
                        b"<h2>Config</h2><pre>workers = 4\nport = 80</pre><ul><li>one</li><li>two</li></ul></body></html>")
    sections = _section_texts(parsed)
    assert parsed.title == "Harbour"
    assert sections[("Harbour",)] == "Run it with harbour."
    assert sections[("Harbour", "Config")].startswith("```\nworkers = 4\nport = 80\n```")
    assert "x()" not in parsed.text


def test_breadcrumb_and_fence():
    assert breadcrumb("Guide", ("Guide", "Install", "From source")) == "Guide > Install > From source"
    assert breadcrumb("guide.md", ()) == "guide.md" and breadcrumb(None, ()) is None
    assert fence("a ``` b", "md") == "````md\na ``` b\n````"


def test_a_file_its_parser_fails_on_is_read_as_plain_text(tmp_path, monkeypatch, caplog):
    import agentic_rag.tools.loaders as loaders

    def broken(text):
        raise ValueError("parser bug")

    monkeypatch.setattr(loaders, "parse_rst", broken)
    path = tmp_path / "guide.rst"
    path.write_text("Guide\n=====\n\nSome text.\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        documents, skipped = parse_file(SourceFile(path, "guide.rst"), path.read_bytes())
    assert not skipped and documents[0].text == "Guide\n=====\n\nSome text.\n" and documents[0].sections == ()
    assert "read as plain text" in caplog.text and "parser bug" in caplog.text


@pytest.mark.parametrize("name, data", [
    ("bad.rst", b"Title\n===\n\n.. unknown-directive::\n   :opt: 1\n\n   nested `unclosed\n\n* list\n  broken indent\n"),
    ("bad.md", b"# \n\n```\nunclosed fence\n\n| a |\n|--\n<div><p>unclosed"),
    ("bad.html", b"<h1>x<h2>y</h1><pre>code<p>text"),
    ("wrapped.txt", b"Title\n=====\n\n.. [1] footnote\n\n|undefined| substitution and `default role`.\n"),
])
def test_broken_markup_of_each_kind_still_loads(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    documents, skipped = parse_file(SourceFile(path, name), data)
    assert documents and not skipped
    document = documents[0]
    for section in document.sections:
        assert 0 <= section.start < section.end <= len(document.text)


def test_rst_headings_and_code_reach_chunks_as_breadcrumbs(tmp_path):
    from agentic_rag.tools.chunking import Chunker

    path = tmp_path / "deploy.rst"
    path.write_text(RST, encoding="utf-8")
    document = parse_file(SourceFile(path, "deploy.rst"), path.read_bytes())[0][0]
    chunks = Chunker(200, 0).split(document.source, document.text, document.title, document.metadata, document.sections)
    assert {c.title for c in chunks} == {"Deploying", "Deploying > Configure the workers"}
    for chunk in chunks:
        assert document.text[chunk.start:chunk.end] == chunk.text
        section = next(s for s in document.sections if s.start <= chunk.start and chunk.end <= s.end)
        assert chunk.title == breadcrumb(document.title, section.path)  # no chunk crosses a heading


def test_markup_nested_past_the_stack_is_read_as_plain_text(tmp_path):
    data = ("Title\n=====\n\n" + "".join("  " * i + "- item\n\n" for i in range(1500))).encode()
    path = tmp_path / "deep.rst"
    path.write_bytes(data)
    documents, skipped = parse_file(SourceFile(path, "deep.rst"), data)
    assert not skipped and "item" in documents[0].text
