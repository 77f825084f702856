"""Markdown to clean text and sections, through markdown-it-py (CommonMark with tables).

Headings open sections; paragraphs are unwrapped; emphasis, links and inline HTML become their
text; list items and table rows keep one line each; fenced and indented code stay fenced blocks.
"""

from __future__ import annotations

from typing import Any

from agentic_rag.knowledge.structure import StructuredText, TextBuilder, fence, flat

__all__ = ["parse_markdown"]


def _parser() -> Any:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def _inline_text(token: Any) -> str:
    parts: list[str] = []
    for child in token.children or ():
        if child.type == "text":
            parts.append(child.content)
        elif child.type == "code_inline":
            parts.append(f"`{child.content}`")
        elif child.type == "softbreak":
            parts.append(" ")
        elif child.type == "hardbreak":
            parts.append("\n")
        elif child.type == "image":
            parts.append(child.content)
    return "\n".join(flat(line) for line in "".join(parts).split("\n"))


def _html_text(html: str) -> str:
    from bs4 import BeautifulSoup

    return flat(BeautifulSoup(html, "html.parser").get_text(" "))


def parse_markdown(text: str) -> StructuredText:
    """The readable text of Markdown ``text`` and its sections (one per heading)."""
    builder = TextBuilder()
    lists: list[list[int | None]] = []  # per open list: [next number] or [None] for bullets
    marker: str | None = None
    opening = False  # the next block starts a list or table: set apart from what came before
    row: list[str] | None = None
    cell = False
    tokens = _parser().parse(text)
    index = 0
    while index < len(tokens):
        token = tokens[index]
        kind = token.type
        if kind == "heading_open":
            builder.heading(int(token.tag[1:]), _inline_text(tokens[index + 1]))
            index += 3
            continue
        if kind in ("fence", "code_block"):
            language = token.info.split()[0] if token.info.strip() else ""
            builder.block(fence(token.content, language))
        elif kind == "html_block":
            builder.block(_html_text(token.content))
        elif kind in ("bullet_list_open", "ordered_list_open"):
            opening = opening or not lists
            lists.append([int(token.attrs.get("start", 1) or 1) if kind == "ordered_list_open" else None])
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif kind == "list_item_open" and lists:
            number = lists[-1][0]
            marker = "  " * (len(lists) - 1) + ("- " if number is None else f"{number}. ")
            if number is not None:
                lists[-1][0] = number + 1
        elif kind == "table_open":
            opening = True
        elif kind == "tr_open":
            row = []
        elif kind in ("th_open", "td_open"):
            cell = True
        elif kind in ("th_close", "td_close"):
            cell = False
        elif kind == "tr_close" and row is not None:
            builder.block(" | ".join(row), tight=not opening)
            row, opening = None, False
        elif kind == "inline":
            content = _inline_text(token)
            if cell and row is not None:
                row.append(content)
            elif marker is not None:
                builder.block(marker + content, tight=not opening)
                marker, opening = None, False
            else:
                builder.block(content, tight=bool(lists))
        index += 1
    return builder.build()
