"""An answer split into claims, each checked against the passages its markers point at.

One splitter and one checker serve every answer style: a claim is a sentence of a paragraph, a
list item's sentence, or a table cell. A claim's markers are the ``[n]`` in it (a marker after the
sentence's full stop belongs to that sentence). It is supported when the passages it cites hold
enough of its content words (the lexical check; the model check is in the answer node). Each
marker gets the sentence of its passage that best matches the claim, never a heading or an empty line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from agentic_rag.answer import Claim, ClaimQuote
from agentic_rag.evidence import Evidence
from agentic_rag.graphs.citations import best_quote, content_stems, supports

__all__ = ["attribute_uncited", "check_claims", "claim_texts", "drop_unsupported", "markers_in", "strip_markers"]

_MARKER = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_MARKERS_AROUND = re.compile(r"\s*\[\d+(?:\s*[,;]\s*\d+)*\]")
# A sentence: text up to a full stop, question or exclamation mark followed by a space or the end,
# with the markers that follow it.
_SENTENCE = re.compile(r".+?(?:[.!?](?=\s|$)|$)(?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])*", re.S)
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_WORD = re.compile(r"\w")


def markers_in(text: str) -> list[int]:
    """The marker numbers in ``text``, first use first."""
    numbers = [int(n) for group in _MARKER.findall(text) for n in re.split(r"\s*[,;]\s*", group)]
    return list(dict.fromkeys(numbers))


def strip_markers(text: str) -> str:
    """``text`` without its ``[n]`` markers."""
    return _MARKERS_AROUND.sub("", text).strip()


def claim_texts(answer: str) -> list[str]:
    """The claims of a Markdown answer, with their markers: sentences, list items' sentences, table cells.

    Headings, table header rows and rules, and pieces with no word are not claims.
    """
    claims: list[str] = []
    lines = answer.splitlines()
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or _TABLE_RULE.match(stripped):
            continue
        if stripped.startswith("|"):
            if i + 1 < len(lines) and _TABLE_RULE.match(lines[i + 1].strip()):
                continue  # the header row
            claims.extend(cell.strip() for cell in stripped.strip("|").split("|") if _has_words(cell))
            continue
        stripped = _LIST_ITEM.sub("", stripped).lstrip("> ").strip()
        claims.extend(m.group().strip() for m in _SENTENCE.finditer(stripped) if _has_words(m.group()))
    return claims


def _has_words(text: str) -> bool:
    return bool(_WORD.search(strip_markers(text)))


def check_claims(answer: str, passages: Mapping[int, Evidence]) -> list[Claim]:
    """Every claim of ``answer``, its markers, the best quote of each cited passage and whether they support it.

    ``passages`` maps a marker number to the evidence it points at; markers that point at nothing
    are left out of the claim (they are reported as invalid markers elsewhere).
    """
    claims = []
    for text in claim_texts(answer):
        bare = strip_markers(text)
        markers = [n for n in markers_in(text) if n in passages]
        quotes = []
        for n in markers:
            quote, span = best_quote(passages[n], bare)
            quotes.append(ClaimQuote(marker=n, evidence_id=passages[n].id, source=passages[n].source, quote=quote, span=span))
        cited = [passages[n] for n in markers]
        supported = bool(cited) and supports(_joined(cited), bare)
        claims.append(Claim(text=bare, markers=markers, supported=supported, quotes=quotes))
    return claims


def _joined(passages: list[Evidence]) -> Evidence:
    """The cited passages as one, titles included, for a claim that draws on several."""
    text = "\n".join(f"{p.title or ''}\n{p.text}" for p in passages)
    return Evidence(id="+".join(p.id for p in passages), source=passages[0].source, text=text)


def drop_unsupported(answer: str, claims: list[Claim]) -> str:
    """``answer`` without the sentences (list items, cells) of its unsupported claims."""
    unsupported = {c.text for c in claims if not c.supported}
    if not unsupported:
        return answer
    kept_lines = []
    for line in answer.splitlines():
        pieces = [m.group() for m in _SENTENCE.finditer(line)] if not line.strip().startswith("|") else [line]
        kept = [p for p in pieces if strip_markers(_LIST_ITEM.sub("", p.strip())) not in unsupported]
        if pieces and not kept:
            continue
        kept_lines.append("".join(kept).rstrip() if kept != pieces else line)
    return "\n".join(kept_lines).strip()


def attribute_uncited(answer: str, passages: list[Evidence], threshold: float = 0.6) -> tuple[str, list[str]]:
    """``answer`` with the marker of the passage that states each claim the model left uncited or cited wrongly.

    Small models often write a correct detailed answer and forget its markers, or put them on the
    wrong passage. A sentence, list item or table cell with no marker, or whose cited passages hold
    less than ``threshold`` of its content words, gets the number (1-based, as the model saw them)
    of the passage holding the largest share of them (two words at least), when that share reaches
    ``threshold``; otherwise it is left as written, and the claim check reports it. Returns the text
    and the claims given a marker.
    """
    if not passages:
        return answer, []
    stems = [set(content_stems(f"{p.title or ''} {p.text}")) for p in passages]
    attributed: list[str] = []

    def marked(piece: str) -> str:
        bare = strip_markers(piece)
        if not _has_words(piece):
            return piece
        wanted = set(content_stems(bare))
        if len(wanted) < 2:
            return piece  # a name or a number alone (a table's row label) states nothing to cite
        shares = {n: len(wanted & found) / len(wanted) for n, found in enumerate(stems, start=1)}
        cited = [n for n in markers_in(piece) if n in shares]
        if cited and max(shares[n] for n in cited) >= threshold:
            return piece  # a passage it cites states it
        share, best = max((share, -n) for n, share in shares.items())
        if share < threshold:
            return piece
        attributed.append(bare)
        piece = strip_markers(piece) + piece[len(piece.rstrip()):] if cited else piece  # a wrong marker is replaced
        text, trailing = piece.rstrip(), piece[len(piece.rstrip()):]
        if text[-1] in ".!?":  # the marker goes before the sentence's full stop, as the model is asked to write it
            return f"{text[:-1]} [{-best}]{text[-1]}{trailing}"
        return f"{text} [{-best}]{trailing}"

    lines = []
    for i, line in enumerate(answer.splitlines()):
        stripped = line.strip()
        following = answer.splitlines()[i + 1].strip() if i + 1 < len(answer.splitlines()) else ""
        if not stripped or stripped.startswith("#") or _TABLE_RULE.match(stripped):
            lines.append(line)
        elif stripped.startswith("|"):
            if _TABLE_RULE.match(following):
                lines.append(line)  # the header row
            else:
                cells = line.split("|")
                lines.append("|".join(marked(c) if 0 < k < len(cells) - 1 else c for k, c in enumerate(cells)))
        else:
            prefix = line[: len(line) - len(_LIST_ITEM.sub("", line))]
            body = line[len(prefix):]
            lines.append(prefix + "".join(marked(m.group()) for m in _SENTENCE.finditer(body)))
    return "\n".join(lines), attributed
