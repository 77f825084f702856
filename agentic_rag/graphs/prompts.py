"""Every prompt the graphs send, in one place.

Prompts are ``str.format`` templates. Their placeholders are checked by the tests against what
the nodes pass. The system prompt is shared by every call and passages come first in the user
message, so llama.cpp can reuse the cached prefix between calls.
"""

from __future__ import annotations

from string import Formatter

__all__ = [
    "SYSTEM", "PLAN", "JUDGE", "JUDGE_PREVIOUS", "ANSWER_RULE", "ANSWER", "ANSWER_TEXT", "NO_ANSWER",
    "PASSAGE", "BUDGET_NOTICE", "CONDENSE", "HISTORY_TURN", "SUPPORT", "placeholders",
]

SYSTEM = "You are a careful research assistant. You use only the numbered passages you are given."

PLAN = """Tools:
{tools}

Question: {question}

Plan the first searches in the documents. Search first for the fact you can look up directly; facts that depend on it are searched once it is known. Use short keyword queries. Give 1 or 2 searches; give none only for a greeting.
Example: "Who manages the team that owns the billing service?" -> search "billing service owner team"."""

# The judge and the answer share this rule, so the judge's answer can be the final one.
# Measured on HotpotQA train: naming "yes or no" here made the 1.5B model answer "yes" to most questions.
ANSWER_RULE = "Answer the question from the passages in a few words."

JUDGE = """Passages:
{passages}

Question: {question}

{answer_rule} Give the numbers of the passages the answer comes from. If the passages do not state the answer, leave it empty, say what is missing and give a short search query for it, naming what the passages revealed.
Example: for "Who leads the team that owns the Atlas service?", if passage [3] says Atlas is owned by the Heron team and no passage names Heron's lead, reply {{"answer": "", "sources": [3], "missing": "the lead of the Heron team", "next_query": "Heron team lead"}}{previous}"""

JUDGE_PREVIOUS = "\nAlready searched: {queries}."

ANSWER = """Passages:
{passages}

Question: {question}

{answer_rule} Give the numbers of the passages the answer comes from. Leave the answer empty only if no passage helps answer the question."""

# Only for models without structured output (or when it failed): the same request as plain text.
ANSWER_TEXT = """Passages:
{passages}

Question: {question}

{answer_rule} Then give the number of the passage it comes from in brackets, like: Canberra [1]. If no passage helps, say: {no_answer}"""

# The optional model check of a citation (citation_check="llm").
SUPPORT = """Passage: {passage}

Question: {question}
Answer: {claim}

Does the passage state this answer to the question?"""

# Chat: a follow-up rewritten into a question that stands alone, from the thread's last turns.
CONDENSE = """Conversation so far:
{history}

Follow-up: {message}

Rewrite the follow-up as one question that can be understood without the conversation, naming what "it", "they" or "that" refer to. Reply with the question only."""

HISTORY_TURN = "User: {question}\nAssistant: {answer}"

NO_ANSWER = "I cannot answer this from the sources."

PASSAGE = "[{number}] ({source}) {text}"

BUDGET_NOTICE = "The search stopped early ({reason}); this answer uses only what was found before that."


def placeholders(template: str) -> set[str]:
    """The names of the ``{placeholders}`` in a template."""
    return {name for _, name, _, _ in Formatter().parse(template) if name}
