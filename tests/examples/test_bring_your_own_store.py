"""The bring-your-own-store example: a LangChain store as the knowledge source, each note its own citation."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from agentic_rag.answer import ExitReason
from tests.fakes import HashingEmbeddings, ScriptedChatModel

ROOT = Path(__file__).resolve().parents[2]


def _example():
    spec = importlib.util.spec_from_file_location("bring_your_own_store", ROOT / "examples" / "bring_your_own_store.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _number(prompt: str, source: str) -> int:
    return int(re.search(rf"\[(\d+)\] \({re.escape(source)}\)", prompt).group(1))


def test_the_example_answers_from_the_store_citing_both_notes():
    example = _example()
    model = ScriptedChatModel(script=[
        lambda m: {"answer": "Priya Raman", "sources": [_number(m[-1].content, "services/billing.md"),
                                                         _number(m[-1].content, "teams/ledger.md")], "next_query": ""},
        lambda m: {"answer": "Priya Raman", "sources": [_number(m[-1].content, "teams/ledger.md")]},
    ])
    answer = example.build_agent(model, HashingEmbeddings(), style="short").ask(example.QUESTION)
    assert answer.exit_reason is ExitReason.ANSWERED
    assert answer.text.startswith("Priya Raman [")
    notes = {note.metadata["source"]: note.page_content for note in example.NOTES}
    assert {c.source for c in answer.citations} == {"services/billing.md", "teams/ledger.md"}
    assert all(c.quote == notes[c.source] for c in answer.citations)  # each note its own passage
