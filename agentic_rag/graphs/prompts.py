"""Every prompt the graphs send, in one place.

Prompts are ``str.format`` templates. Their placeholders are checked by the tests against what
the nodes pass. The system prompt is shared by every call and passages come first in the user
message, so llama.cpp can reuse the cached prefix between calls.
"""

from __future__ import annotations

from string import Formatter

__all__ = ["SYSTEM", "PLAN", "JUDGE", "ANSWER", "NO_ANSWER", "BUDGET_NOTICE", "placeholders"]

SYSTEM = "You are a careful research assistant. You use only the numbered passages you are given."

PLAN = """Tools:
{tools}

Question: {question}

Plan the first searches in the documents. Search first for the fact you can look up directly; facts that depend on it are searched once it is known. Use short keyword queries. Give 1 or 2 searches; give none only for a greeting.
Example: "Who manages the team that owns the billing service?" -> search "billing service owner team"."""

JUDGE = """Passages:
{passages}

Question: {question}

Answer the question from the passages in a few words, or leave the answer empty if they do not state it. Give the numbers of the passages the answer comes from. If the answer is empty, say what is missing and give a short search query for it, naming what the passages revealed.
Example: for "Who leads the team that owns the Atlas service?", if passage [3] says Atlas is owned by the Heron team and no passage names Heron's lead, reply {{"answer": "", "sources": [3], "missing": "the lead of the Heron team", "next_query": "Heron team lead"}}{previous}"""

JUDGE_PREVIOUS = "\nAlready searched: {queries}."

ANSWER = """Passages:
{passages}

Question: {question}

Answer in one or two short sentences using only the passages. Put the number of the passage that states each fact right after that fact, in brackets, like [2]. If the passages do not contain the answer, say: {no_answer}"""

NO_ANSWER = "I cannot answer this from the sources."

PASSAGE = "[{number}] ({source}) {text}"

BUDGET_NOTICE = "The search stopped early ({reason}); this answer uses only what was found before that."


def placeholders(template: str) -> set[str]:
    """The names of the ``{placeholders}`` in a template."""
    return {name for _, name, _, _ in Formatter().parse(template) if name}
