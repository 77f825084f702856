"""The knowledge base in a real Postgres with pgvector: round trip, incremental re-index, hybrid search, failures."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest

from agentic_rag import Agent, KnowledgeBase
from agentic_rag.errors import EmbeddingMismatchError, KnowledgeBaseError
from agentic_rag.tools.loaders import load_paths
from agentic_rag.tools.postgres_store import PostgresKnowledgeBase
from tests.fakes import HashingEmbeddings, ScriptedChatModel

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "examples" / "demo_corpus"


def write_docs(folder: Path) -> Path:
    (folder / "teams").mkdir(parents=True)
    (folder / "services").mkdir()
    (folder / "teams" / "harbor.md").write_text("# Harbor\n\nIness Okafor leads the Harbor team.\n", encoding="utf-8")
    (folder / "services" / "relay.md").write_text("# Relay\n\nThe Relay service is owned by the Harbor team.\n", encoding="utf-8")
    (folder / "rota.csv").write_text("week,primary\n2025-07-07,Ottoline Abara\n", encoding="utf-8")
    return folder


def test_index_search_neighbours_and_an_incremental_reindex_round_trip(postgres_url, tmp_path):
    docs = write_docs(tmp_path / "docs")
    kb = PostgresKnowledgeBase(postgres_url, HashingEmbeddings())
    report = kb.index_paths([docs])
    assert sorted(report.added) == ["rota.csv", "services/relay.md", "teams/harbor.md"] and len(kb) == 3
    hits = kb.search("Who leads the Harbor team?", k=2)
    assert hits[0].id == "teams/harbor.md#0" and hits[0].span is not None and hits[0].score > 0
    harbor = load_paths(docs / "teams/harbor.md").documents[0]  # spans are in the document's readable text
    assert harbor.text[hits[0].span[0]:hits[0].span[1]] == hits[0].text == "Iness Okafor leads the Harbor team."
    assert hits[0].title == "Harbor"  # the breadcrumb: the document's first heading
    assert [e.id for e in kb.search("primary", k=3, filters={"source": "*.csv"})] == ["rota.csv#0#0"]
    assert [e.id for e in kb.search("Harbor", k=3, filters={"source": "services/"})] == ["services/relay.md#0"]
    assert [e.id for e in kb.neighbours("teams/harbor.md#0")] == ["teams/harbor.md#0"]
    kb.close()

    # a second process opens the same store; a change, a removal and an unchanged file
    (docs / "teams" / "harbor.md").write_text("# Harbor\n\nNadia Brook leads the Harbor team now.\n", encoding="utf-8")
    (docs / "rota.csv").unlink()
    again = PostgresKnowledgeBase(postgres_url, HashingEmbeddings())
    report = again.index_paths([docs])
    assert (report.updated, report.removed, report.unchanged) == (["teams/harbor.md"], ["rota.csv"], ["services/relay.md"])
    assert report.embedded == 1 and len(again) == 2
    assert "Nadia Brook" in again.search("Who leads the Harbor team?", k=1)[0].text
    with again._pool.connection() as conn:  # the keyword side's document frequencies follow the change and the removal
        wrong = conn.execute(
            "select count(*) from agentic_rag_terms t full join (select term, count(*) as n from agentic_rag_chunks, "
            "unnest(tsvector_to_array(tokens)) as term group by term) c using (term) where coalesce(t.df, 0) <> coalesce(c.n, 0)"
        ).fetchone()[0]
        assert wrong == 0
        assert conn.execute("select value->>'count' from agentic_rag_meta where key = 'chunks'").fetchone()[0] == "2"
    assert again.search("Nadia", k=2, mode="keyword")[0].id == "teams/harbor.md#0"
    assert again.search("Iness", k=2, mode="keyword") == []  # the old text's term is gone
    again.close()


def test_the_agent_answers_from_the_postgres_store_with_citations(postgres_url, tmp_path):
    kb = PostgresKnowledgeBase(postgres_url, HashingEmbeddings())
    kb.index_paths([write_docs(tmp_path / "docs")])
    model = ScriptedChatModel(script=[{"sources": [1], "answer": "Iness Okafor", "next_query": ""},
                                      {"answer": "Iness Okafor", "sources": [1]}])
    answer = Agent(model, knowledge_base=kb, style="short").ask("Who leads the Harbor team?")
    assert "Iness Okafor" in answer.text and answer.citations[0].source == "teams/harbor.md"
    kb.close()


def test_hybrid_search_finds_the_same_top_passages_as_the_faiss_knowledge_base(postgres_url):
    import json

    embeddings = HashingEmbeddings(dim=256)
    faiss_kb = KnowledgeBase(embeddings)
    faiss_kb.index_paths([CORPUS])
    pg = PostgresKnowledgeBase(postgres_url, embeddings)
    pg.index_paths([CORPUS])
    assert len(pg) == len(faiss_kb)
    questions = json.loads((ROOT / "examples" / "demo_questions.json").read_text())
    same_top = [q["id"] for q in questions
                if pg.search(q["question"], k=1)[0].source == faiss_kb.search(q["question"], k=1)[0].source]
    found_gold = [q["id"] for q in questions
                  if {e.source for e in pg.search(q["question"], k=5)} & set(q["sources"])]
    # the keyword sides weigh terms alike (idf) but score differently (no term-frequency saturation in
    # SQL): most tops agree (12 of 16 when measured) and a gold source is found as often (14 of 16)
    assert len(same_top) >= 0.65 * len(questions), same_top
    assert len(found_gold) >= 0.85 * len(questions), found_gold
    pg.close()


def test_a_crash_while_indexing_leaves_the_previous_state(postgres_url, tmp_path):
    docs = write_docs(tmp_path / "docs")
    kb = PostgresKnowledgeBase(postgres_url, HashingEmbeddings())
    kb.index_paths([docs])
    (docs / "teams" / "harbor.md").write_text("# Harbor\n\nSomeone else leads it.\n", encoding="utf-8")
    (docs / "new.md").write_text("A new file.\n", encoding="utf-8")

    class Boom(Exception):
        pass

    def crash(*args, **kwargs):
        raise Boom("killed half way")

    import psycopg

    real_executemany = psycopg.Cursor.executemany
    calls = []

    def second_insert_fails(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            crash()
        return real_executemany(self, *args, **kwargs)

    psycopg.Cursor.executemany = second_insert_fails
    try:
        with pytest.raises(Boom):
            kb.index_paths([docs])
    finally:
        psycopg.Cursor.executemany = real_executemany
    assert sorted(kb.sources()) == ["rota.csv", "services/relay.md", "teams/harbor.md"]
    assert "Iness Okafor" in kb.search("Who leads the Harbor team?", k=1)[0].text  # the old text, whole
    kb.close()


def test_two_indexers_at_once_both_land_and_nothing_is_lost(postgres_url, tmp_path):
    one, two = write_docs(tmp_path / "one"), tmp_path / "two"
    shutil.copytree(one, two)
    for i in range(15):
        (one / f"a{i}.md").write_text(f"Alpha note {i}.\n", encoding="utf-8")
        (two / f"b{i}.md").write_text(f"Beta note {i}.\n", encoding="utf-8")
    PostgresKnowledgeBase(postgres_url, HashingEmbeddings()).close()  # schema in place
    errors: list[BaseException] = []

    def index(folder: Path) -> None:
        try:
            kb = PostgresKnowledgeBase(postgres_url, HashingEmbeddings())
            kb.index_paths([folder])
            kb.close()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=index, args=(folder,)) for folder in (one, two)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    kb = PostgresKnowledgeBase(postgres_url, HashingEmbeddings())
    sources = set(kb.sources())
    assert {f"a{i}.md" for i in range(15)} | {f"b{i}.md" for i in range(15)} <= sources
    kb.close()


def test_another_embedding_model_is_the_same_clear_error_as_for_faiss(postgres_url, tmp_path):
    kb = PostgresKnowledgeBase(postgres_url, HashingEmbeddings(model_name="model-a"))
    kb.index_paths([write_docs(tmp_path / "docs")])
    kb.close()
    with pytest.raises(EmbeddingMismatchError, match="built with embedding model 'model-a'"):
        PostgresKnowledgeBase(postgres_url, HashingEmbeddings(model_name="model-b"))


def test_a_server_that_is_down_or_refuses_the_password_is_a_clear_error(postgres_url, tmp_path):
    with pytest.raises(KnowledgeBaseError, match="cannot connect to the Postgres store postgresql://u:\\*\\*\\*@127.0.0.1:9"):
        PostgresKnowledgeBase("postgresql://u:secret@127.0.0.1:9/db", HashingEmbeddings(), connect_timeout=2)
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(postgres_url)
    missing = urlunsplit(parts._replace(path=parts.path + "_missing"))
    with pytest.raises(KnowledgeBaseError, match="cannot connect .*does not exist"):
        PostgresKnowledgeBase(missing, HashingEmbeddings(), connect_timeout=2)


def test_a_reader_opened_on_an_empty_store_sees_what_a_writer_indexes_later(postgres_url, tmp_path):
    reader = PostgresKnowledgeBase(postgres_url, HashingEmbeddings())
    assert len(reader) == 0 and reader.search("Harbor") == []
    writer = PostgresKnowledgeBase(postgres_url, HashingEmbeddings())
    writer.index_paths([write_docs(tmp_path / "docs")])
    assert len(reader) == 3 and reader.search("Who leads the Harbor team?", k=1)[0].source == "teams/harbor.md"
    writer.close()
    reader.close()


def test_a_file_of_an_indexed_folder_given_alone_keeps_its_name(postgres_url, tmp_path):
    docs = write_docs(tmp_path / "docs")
    kb = PostgresKnowledgeBase(postgres_url, HashingEmbeddings())
    kb.index_paths([docs])
    (docs / "teams" / "harbor.md").write_text("# Harbor\n\nNadia Brook leads the Harbor team.\n", encoding="utf-8")
    report = kb.index_paths([docs / "teams" / "harbor.md"])
    assert report.updated == ["teams/harbor.md"] and report.added == [] and len(kb) == 3
    kb.close()


def test_odd_filters_and_passwords_in_messages():
    from agentic_rag.tools.postgres_store import _source_sql, redacted_url

    assert _source_sql({"source": []}) == ("false", [])
    assert redacted_url("postgresql://u:s3cret@h/db") == "postgresql://u:***@h/db"
    assert "s3cret" not in redacted_url("postgresql://u@h/db?sslmode=require&password=s3cret")
    with pytest.raises(Exception) as error:
        PostgresKnowledgeBase("postgresql+psycopg://u:s3cret@h/db", HashingEmbeddings())
    assert "s3cret" not in str(error.value)


def test_a_filtered_dense_search_finds_matches_beyond_the_first_hnsw_candidates(postgres_url):
    kb = PostgresKnowledgeBase(postgres_url, HashingEmbeddings())
    records = [(f"big/{i}.md", f"harbor relay ships note {i}") for i in range(300)] + \
              [(f"mid/{i}.md", f"a quiet archive page {i}") for i in range(20)]
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        for source, text in records:
            path = Path(folder) / source
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text + "\n", encoding="utf-8")
        kb.index_paths([folder])
    found = kb.search("harbor relay ships", k=4, mode="dense", filters={"source": "mid/"})
    assert len(found) == 4 and all(e.source.startswith("mid/") for e in found)
    kb.close()


def test_two_threads_stores_set_up_at_once_on_a_fresh_database(postgres_url):
    from agentic_rag.agent.conversation import postgres_checkpointer

    errors: list[BaseException] = []

    def start() -> None:
        try:
            postgres_checkpointer(postgres_url)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=start, daemon=True) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a setup is still waiting"
    assert errors == []


def test_waiting_for_the_threads_setup_holds_no_statement_an_index_build_waits_for(postgres_url):
    """While one process creates the threads tables (an index built concurrently waits for every
    open statement), another process waiting its turn must not keep a statement open."""
    import psycopg

    from agentic_rag.agent.conversation import postgres_checkpointer

    done: list[object] = []
    with psycopg.connect(postgres_url, autocommit=True) as holder, psycopg.connect(postgres_url, autocommit=True) as builder:
        holder.execute("select pg_advisory_lock(hashtextextended('agentic_rag.threads.setup', 0))")
        waiter = threading.Thread(target=lambda: done.append(postgres_checkpointer(postgres_url)), daemon=True)
        waiter.start()
        deadline = time.monotonic() + 30
        others = ("select count(*) from pg_stat_activity where datname = current_database() "
                  "and pid not in (pg_backend_pid(), %s)")
        while time.monotonic() < deadline and not builder.execute(others, (holder.info.backend_pid,)).fetchone()[0]:
            time.sleep(0.05)
        time.sleep(1)  # the waiter has connected; now it asks for the lock
        builder.execute("create table built (n int)")
        builder.execute("set statement_timeout = '10s'")
        builder.execute("create index concurrently built_n on built (n)")  # what the holder's setup does
        holder.execute("select pg_advisory_unlock(hashtextextended('agentic_rag.threads.setup', 0))")
        waiter.join(timeout=60)
    assert not waiter.is_alive() and len(done) == 1
    done[0].conn.close()


def test_add_texts_is_incremental_and_keeps_away_from_indexed_files(postgres_url, tmp_path):
    kb = PostgresKnowledgeBase(postgres_url, HashingEmbeddings())
    kb.index_paths([write_docs(tmp_path / "docs")])
    report = kb.add_texts([("notes/1", "Relay pages go to #harbor-alerts.", "Relay pages"), ("notes/2", "Quiet.")])
    assert sorted(report.added) == ["notes/1", "notes/2"] and report.embedded == 2
    report = kb.add_texts([("notes/1", "Relay pages go to #harbor-alerts.", "Relay pages"),
                           ("notes/2", "Louder now."), ("notes/3", "  "), ("teams/harbor.md", "forged"),
                           ("notes/1", "again")])
    assert report.unchanged == ["notes/1"] and report.updated == ["notes/2"] and report.embedded == 1
    assert dict(report.skipped) == {"notes/3": "empty text", "teams/harbor.md": "source name already used by an indexed file",
                                    "notes/1": "source repeated in one call"}
    assert kb.search("louder", k=1, mode="keyword")[0].id == "notes/2#0"
    assert "Iness Okafor" in kb.search("Who leads the Harbor team?", k=1, filters={"source": "teams/"})[0].text
    with pytest.raises(Exception, match="expects \\(source, text"):
        kb.add_texts(["not a tuple"])
    kb.close()


@pytest.mark.parametrize(("version", "ok"), [("0.8.0", True), ("0.8.5", True), ("1.0", True), ("0.7.4", False),
                                             ("0.5", False), (None, False), ("", False)])
def test_a_pgvector_older_than_0_8_is_a_clear_error(version, ok):
    from agentic_rag.tools.postgres_store import check_pgvector_version

    if ok:
        check_pgvector_version(version, "postgresql://h/db")
    else:
        with pytest.raises(KnowledgeBaseError, match="0.8 or later is needed"):
            check_pgvector_version(version, "postgresql://h/db")


def test_a_folder_indexed_with_another_keeps_its_names_when_indexed_alone(postgres_url, tmp_path):
    one, two = tmp_path / "docs" / "one", tmp_path / "docs" / "two"
    for folder in (one, two):
        folder.mkdir(parents=True)
        (folder / "index.md").write_text(f"# {folder.name}\n\nAll about {folder.name}.\n", encoding="utf-8")
    (one / "extra.md").write_text("# Extra\n\nMore about one.\n", encoding="utf-8")
    kb = PostgresKnowledgeBase(postgres_url, HashingEmbeddings())
    try:
        assert sorted(kb.index_paths([one, two]).added) == ["one/extra.md", "one/index.md", "two/index.md"]
        (one / "extra.md").unlink()
        report = kb.index_paths(one)
        assert report.removed == ["one/extra.md"] and report.unchanged == ["one/index.md"] and not report.added
    finally:
        kb.close()
