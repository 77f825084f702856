"""reStructuredText to clean text and sections, through docutils.

Sphinx documents use roles and directives plain docutils does not know. An unknown role becomes
its text (``:class:`~pkg.Flask``` reads ``Flask``, ``:ref:`the guide <guide>``` reads ``the
guide``); an unknown directive becomes its content, parsed as reStructuredText, or nothing when
it only drives the build (``toctree``, ``currentmodule``, ``autoclass``). Inclusion of other files
and raw output are switched off: parsing a document never reads another file.
"""

from __future__ import annotations

import io
import re
import textwrap
from typing import Any

from agentic_rag.knowledge.structure import StructuredText, TextBuilder, fence, flat

__all__ = ["parse_rst", "looks_like_rst"]

_MAX_NESTING = 4  # directive content parsed inside directive content, at most this deep

# Directives that steer the build or read other files: nothing of theirs is text for a reader.
_DROPPED = frozenset({
    "toctree", "currentmodule", "module", "index", "highlight", "literalinclude", "include", "raw",
    "autosummary", "tabularcolumns", "default-role", "default-domain", "sectionauthor", "moduleauthor",
    "codeauthor", "program", "testsetup", "testcleanup", "meta", "only-html-toc", "image", "figure",
    "graphviz", "inheritance-diagram", "automodule", "autoclass", "autofunction", "automethod",
    "autodata", "autoattribute", "autoexception", "autoprogram", "click", "jinja", "contents",
})
# Directives whose argument is the signature of what they describe (``.. function:: open(path)``).
_SIGNATURES = frozenset({
    "function", "class", "method", "attribute", "data", "exception", "decorator", "decoratormethod",
    "classmethod", "staticmethod", "property", "describe", "object", "envvar", "option", "setting",
    "templatetag", "templatefilter", "django-admin", "confval", "type", "member", "macro", "var",
})
_VERSION_NOTES = {
    "versionadded": "Added in version {}.",
    "versionchanged": "Changed in version {}.",
    "deprecated": "Deprecated since version {}.",
    "versionremoved": "Removed in version {}.",
}
# Roles whose text is prose (a title, a term); the others name code and read as inline code.
_PROSE_ROLES = frozenset({"ref", "doc", "term", "abbr", "dfn", "guilabel", "menuselection", "numref", "download",
                          "pep", "rfc", "title", "emphasis", "strong"})
_DIRECTIVE = re.compile(r"\.\.[ \t]+([\w.:+-]+)[ \t]*::(.*)")
_OPTION = re.compile(r"[ \t]*:[\w -]+:")
_ADORNMENT = frozenset("=-~^\"'`#*+.:_")


def looks_like_rst(text: str) -> bool:
    """Whether plain text is laid out as reStructuredText: a title underlined to its length, or a directive."""
    previous = ""
    for line in text.splitlines()[:400]:
        stripped = line.rstrip()
        if stripped.startswith(".. ") and "::" in stripped and _DIRECTIVE.match(stripped):
            return True
        if (len(stripped) >= 3 and stripped[0] in _ADORNMENT and stripped == stripped[0] * len(stripped)
                and previous.strip() and len(previous.rstrip()) <= len(stripped) and previous[0] != " "):
            return True
        previous = stripped
    return False


def _role_text(text: str) -> str:
    """What a reader sees of an interpreted-text role's content, as Sphinx renders it."""
    text = text.strip()
    if text.endswith(">") and "<" in text:
        title = text[: text.rfind("<")].strip()
        if title:
            return title
        text = text[text.rfind("<") + 1 : -1]
    text = text.lstrip("!")
    if text.startswith("~"):
        text = text[1:].rsplit(".", 1)[-1]
    return text


def _docutils() -> tuple[Any, Any]:
    """docutils' node classes and a function parsing text into a document tree (docutils imported here only)."""
    from docutils import frontend, nodes, utils
    from docutils.parsers.rst import Parser, roles, states

    def inliner() -> Any:
        # Patched on the instance: docutils builds its patterns from the class's own attributes,
        # which a subclass would not have.
        instance = states.Inliner()
        known = instance.interpreted

        def interpreted(rawsource: str, text: str, role: str, lineno: int) -> Any:
            role_fn, _ = roles.role(role, instance.language, lineno, instance.reporter)
            if role_fn:
                return known(rawsource, text, role, lineno)
            kind = nodes.inline if role.rsplit(":", 1)[-1] in _PROSE_ROLES else nodes.literal
            return [kind(rawsource, _role_text(text))], []

        instance.interpreted = interpreted
        return instance

    def parse(text: str) -> Any:
        parser = Parser(inliner=inliner())
        settings = frontend.get_default_settings(Parser)
        settings.report_level = 5
        settings.halt_level = 5
        settings.warning_stream = io.StringIO()
        settings.file_insertion_enabled = False
        settings.raw_enabled = False
        settings.doctitle_xform = False
        settings.syntax_highlight = "none"
        settings.language_code = "en"
        settings.line_length_limit = 1_000_000
        settings.pep_references = settings.rfc_references = False
        document = utils.new_document("<document>", settings)
        parser.parse(text, document)
        return document

    return nodes, parse


def parse_rst(text: str) -> StructuredText:
    """The readable text of reStructuredText ``text`` and its sections (one per heading)."""
    nodes, parse = _docutils()
    builder = TextBuilder()
    _Walker(nodes, parse, builder).walk(parse(text), 0, 0)
    return builder.build()


class _Walker:
    def __init__(self, nodes: Any, parse: Any, builder: TextBuilder) -> None:
        self.nodes = nodes
        self.parse = parse
        self.out = builder

    def walk(self, node: Any, level: int, nesting: int) -> None:
        n = self.nodes
        for child in node.children:
            if isinstance(child, n.section):
                title = child.next_node(n.title)
                self.out.heading(level + 1, title.astext() if title is not None else "")
                self.walk(child, level + 1, nesting)
            elif isinstance(child, (n.title, n.comment, n.target, n.substitution_definition, n.raw, n.pending,
                                    n.meta if hasattr(n, "meta") else n.raw, n.decoration)):
                continue
            elif isinstance(child, n.topic) and "contents" in child.get("classes", ()):
                continue
            elif isinstance(child, (n.paragraph, n.rubric, n.attribution)):
                self.out.block(self.inline(child))
            elif isinstance(child, (n.literal_block, n.doctest_block)):
                classes = [c for c in child.get("classes", ()) if c not in ("code", "literal-block")]
                self.out.block(fence(child.astext(), classes[0] if classes else ""))
            elif isinstance(child, (n.bullet_list, n.enumerated_list)):
                self.items(child, level, nesting, 0)
            elif isinstance(child, n.definition_list):
                for item in child.children:
                    term = item.next_node(n.term)
                    self.out.block(flat(term.astext()) if term is not None else "")
                    definition = item.next_node(n.definition)
                    if definition is not None:
                        self.walk(definition, level, nesting)
            elif isinstance(child, n.field_list):
                for field in child.children:
                    name, body = field.children[0], field.children[1] if len(field.children) > 1 else None
                    self.out.block(f"{flat(name.astext())}: {flat(body.astext()) if body is not None else ''}", tight=True)
            elif isinstance(child, n.table):
                first = True
                for row in child.findall(n.row):
                    self.out.block(" | ".join(flat(entry.astext()) for entry in row.children), tight=not first)
                    first = False
            elif isinstance(child, n.line_block):
                self.out.block("\n".join(flat(line.astext()) for line in child.findall(n.line)))
            elif isinstance(child, n.Admonition):
                label = child.next_node(n.title) if isinstance(child, n.admonition) else None
                self.out.block(f"{flat(label.astext()) if label is not None else child.tagname.capitalize()}:")
                self.walk(child, level, nesting)
            elif isinstance(child, n.system_message):
                self.system_message(child, level, nesting)
            elif isinstance(child, n.Text):
                self.out.block(flat(child.astext()))
            elif isinstance(child, n.Element):
                self.walk(child, level, nesting)

    def inline(self, node: Any) -> str:
        """A paragraph's text on one line, inline code in backticks."""
        n = self.nodes
        parts: list[str] = []
        for child in node.children:
            if isinstance(child, n.literal):
                parts.append(f"`{child.astext()}`")
            elif isinstance(child, n.Text):
                parts.append(child.astext())
            elif isinstance(child, n.Element) and not isinstance(child, (n.target, n.system_message)):
                parts.append(self.inline(child))
        return flat("".join(parts))

    def items(self, listing: Any, level: int, nesting: int, depth: int) -> None:
        n = self.nodes
        number = int(listing.get("start", 1)) if isinstance(listing, n.enumerated_list) else None
        tight = depth > 0
        for item in listing.children:
            marker = "  " * depth + ("- " if number is None else f"{number}. ")
            if number is not None:
                number += 1
            rest = list(item.children)
            if rest and isinstance(rest[0], n.paragraph):
                self.out.block(marker + self.inline(rest.pop(0)), tight=tight)
            else:
                self.out.block(marker.rstrip(), tight=tight)
            tight = True
            for part in rest:
                if isinstance(part, (n.bullet_list, n.enumerated_list)):
                    self.items(part, level, nesting, depth + 1)
                else:
                    holder = n.container()
                    holder.append(part.deepcopy())
                    self.walk(holder, level, nesting)

    def system_message(self, message: Any, level: int, nesting: int) -> None:
        """An unknown directive (docutils keeps its source in the message): its content, or nothing."""
        source = message.next_node(self.nodes.literal_block)
        if source is None:
            return
        lines = source.astext().splitlines()
        match = _DIRECTIVE.match(lines[0]) if lines else None
        if match is None:
            self.out.block(flat(source.astext()))
            return
        name = match.group(1).lower().rsplit(":", 1)[-1]
        argument = flat(match.group(2))
        if name in _DROPPED or name.startswith("auto"):
            return
        body = lines[1:]
        while body and _OPTION.match(body[0]):
            body.pop(0)
        content = textwrap.dedent("\n".join(body)).strip("\n")
        if name in _VERSION_NOTES and argument:
            self.out.block(_VERSION_NOTES[name].format(argument.split()[0]))
        elif name in _SIGNATURES and argument:
            self.out.block(fence(argument))
        if content.strip():
            if nesting < _MAX_NESTING:
                self.walk(self.parse(content), level, nesting + 1)
            else:
                self.out.block(flat(content))
