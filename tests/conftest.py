"""Fixtures shared across the test folders."""

from __future__ import annotations

import pytest

from tests.fakes import HashingEmbeddings, ScriptedChatModel


@pytest.fixture
def cli_index(tmp_path, monkeypatch):
    """A one-passage index for the command line, with fake embeddings and a model that must not be called."""
    from agentic_rag.tools.knowledge_base import KnowledgeBase

    kb = KnowledgeBase(HashingEmbeddings())
    kb.add_texts([("a.md", "The Harbor team is led by Ines Okafor.")])
    kb.save(tmp_path / "idx")
    monkeypatch.setattr("agentic_rag.tools.embeddings.default_embeddings", lambda *a, **k: HashingEmbeddings())
    monkeypatch.setattr("agentic_rag.agent.agent.resolve_chat_model", lambda spec, **kw: ScriptedChatModel(script=[]))
    return tmp_path / "idx"
