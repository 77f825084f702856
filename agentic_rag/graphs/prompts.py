"""Every prompt the graphs send, in one place.

Prompts are ``str.format`` templates. Their placeholders are checked by the tests against what
the nodes pass. The system prompt is shared by every call and passages come first in the user
message, so llama.cpp can reuse the cached prefix between calls.
"""

from __future__ import annotations

from string import Formatter

__all__ = [
    "SYSTEM", "PLAN", "JUDGE", "JUDGE_PREVIOUS", "ANSWER_RULE", "ANSWER", "ANSWER_TEXT", "NO_ANSWER",
    "PASSAGE", "ANSWER_FACTS_FIRST", "COMPARE", "COMPARE_WHAT", "BUDGET_NOTICE", "CONDENSE", "HISTORY_TURN", "SUPPORT", "placeholders", "ANSWER_DETAILED",
    "READER_FORM", "DECOMPOSE", "SUMMARY", "REPORT_NOT_FOUND",
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

# The facts-first reader (graphs/readers.py): the same request, the deciding facts written out before the answer.
ANSWER_FACTS_FIRST = ANSWER + " First copy the facts from the passages that decide the answer, each with its passage number; then answer."

# A comparison the code decides (graphs/comparison.py): the model copies each compared name's value.
COMPARE = """Passages:
{passages}

Question: {question}

For each of {names}, copy from the passages {what}, and give the number of the passage it comes from."""

COMPARE_WHAT = {
    "date": 'the date the question compares, as the passages write it, like "17 July 1939"',
    "birth": 'the birth date (for a group or a place, the date it was formed or founded), as the passages write it, like "17 July 1939"',
    "number": 'the number the question compares, as the passages write it, like "1,900" or "24.15 million"',
}

# Only for models without structured output (or when it failed): the same request as plain text.
ANSWER_TEXT = """Passages:
{passages}

Question: {question}

{answer_rule} Then give the number of the passage it comes from in brackets, like: Canberra [1]. If no passage helps, say: {no_answer}"""

# The detailed style (chat): a direct first sentence, then what supports it, every fact cited inline.
# {form} is the reader's own instructions for form and language (a chat system message), or empty.
ANSWER_DETAILED = """Passages:
{passages}

Question: {question}

Answer from the passages only. Start with one sentence that answers the question directly. Then add what supports it: one to three short paragraphs, or numbered steps for a procedure, or a small Markdown table for a comparison. Write out what the passages say; never send the reader to a passage. Put the number of the passage each fact comes from in brackets right after the sentence, like [2]. Do not repeat the passages' headings. If the passages do not answer the question, say so in one sentence.{form}"""

READER_FORM = "\nThe reader asks: {instructions}"

# Research: the question split into sub-questions that can be searched one by one.
DECOMPOSE = """Question: {question}

Split the question into 2 to {most} short sub-questions that can each be answered by searching the documents on its own. Each sub-question names what it is about; do not use "it" or "they".
Example: "Compare the on-call rotas of the Atlas and Heron teams" -> ["What is the on-call rota of the Atlas team?", "What is the on-call rota of the Heron team?"]"""

# Research: the report's summary, written from the sub-answers (not from the passages).
SUMMARY = """Findings:
{findings}

Question: {question}

Write two or three sentences that answer the question from the findings above. Keep the bracketed numbers of the findings you use, like [3]."""

REPORT_NOT_FOUND = "Not found in the sources."

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
