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

Plan the first searches. Search for the fact you can look up directly first; later facts that depend on it are searched after its answer is known. Use short keyword queries, not the whole question. Give 1 or 2 searches.
Example: "Who manages the team that owns the billing service?" -> searches: "billing service owner team".
Set needs_search to false only for greetings or arithmetic."""

JUDGE = """Passages:
{passages}

Question: {question}

Which passages help answer the question? Are they enough to answer it fully? If not, say what is missing and give one short search query for it that names what the passages revealed (for example a team or person found in them).{previous}"""

JUDGE_PREVIOUS = "\nAlready searched: {queries}."

ANSWER = """Passages:
{passages}

Question: {question}

Answer in one or two short sentences using only the passages. After each fact put the number of its passage in brackets, like [1]. If the passages do not contain the answer, say: {no_answer}"""

NO_ANSWER = "I cannot answer this from the sources."

PASSAGE = "[{number}] ({source}) {text}"

BUDGET_NOTICE = "The search stopped early ({reason}); this answer uses only what was found before that."


def placeholders(template: str) -> set[str]:
    """The names of the ``{placeholders}`` in a template."""
    return {name for _, name, _, _ in Formatter().parse(template) if name}
