"""HTML to clean text and sections: headings open sections, ``pre`` stays a code block, blocks keep their lines."""

from __future__ import annotations

from agentic_rag.knowledge.structure import StructuredText, TextBuilder, fence, flat

__all__ = ["parse_html"]

_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_BLOCKS = ("p", "div", "li", "tr", "dt", "dd", "blockquote", "section", "article", "table", "ul", "ol",
           "dl", "header", "footer", "main", "nav", "aside", "figure", "figcaption", "form", "hr", "br")
_MARK = "\x00"  # around a heading's level or "pre" at the start of a line
_BREAK = "\x02"  # a block boundary
_CODE_LINE = "\x01"  # a line break inside a code block


def parse_html(data: bytes | str) -> StructuredText:
    """The readable text of an HTML page and its sections; the ``<title>`` (or first heading) as title."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(data, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else None
    for tag in soup(["script", "style", "noscript", "template", "head"]):
        tag.decompose()
    for tag in soup.find_all("pre"):
        code = tag.get_text().replace(_MARK, "")
        tag.replace_with(f"{_BREAK}{_MARK}pre{_MARK}{code.replace(chr(10), _CODE_LINE)}{_BREAK}")
    for tag in soup.find_all(_HEADINGS):
        tag.replace_with(f"{_BREAK}{_MARK}{tag.name}{_MARK}{flat(tag.get_text(' ').replace(_MARK, ''))}{_BREAK}")
    for tag in soup.find_all(_BLOCKS):
        tag.insert_before(_BREAK)
        tag.insert_after(_BREAK)
    for cell in soup.find_all(("td", "th")):
        cell.insert_after(" | ")
    builder = TextBuilder()
    previous_blank = True
    # Line breaks in the source are spaces; only block boundaries break lines.
    for line in soup.get_text("").replace("\n", " ").split(_BREAK):
        if line.startswith(_MARK) and line.count(_MARK) >= 2:
            _, kind, body = line.split(_MARK, 2)
            if kind == "pre":
                builder.block(fence(body.replace(_CODE_LINE, "\n")))
            else:
                builder.heading(int(kind[1]), body)
            previous_blank = True
            continue
        text = flat(line).strip(" |")
        if not text:
            previous_blank = True
            continue
        builder.block(text, tight=not previous_blank)
        previous_blank = False
    structured = builder.build()
    return StructuredText(structured.text, structured.sections, title or structured.title)
