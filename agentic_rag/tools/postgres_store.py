"""A knowledge base in Postgres with pgvector: one store that many agent processes share.

Tables (created by versioned migrations, under an advisory lock): ``agentic_rag_documents`` (a row a
file: source, root, content hash, indexed at), ``agentic_rag_chunks`` (id, source, number, title, text,
span, metadata, a ``tsvector`` and a ``vector(dim)``), ``agentic_rag_meta`` (the embedding model id and
dimension, stored once). An HNSW index (cosine) serves the vectors and a GIN index the text; a search
is hybrid, reciprocal rank fusion of both rankings, in one SQL round trip, with the source and
metadata filters in SQL (metadata by JSONB containment, on a GIN index). Indexing is incremental by content hash and runs in one transaction holding an advisory lock:
a crash leaves the previous state, and two indexers on one store take turns.

The keyword side matches the project's own tokens (``simple`` configuration, no stemming) and
weighs each query term by its BM25 idf from ``agentic_rag_terms`` (document frequencies kept in
step with the chunks), scoring a bounded set of candidates (see :meth:`PostgresKnowledgeBase.search`);
without BM25's term-frequency saturation its order can still differ from the FAISS index's.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from langchain_core.embeddings import Embeddings

from agentic_rag.errors import ConfigurationError, EmbeddingMismatchError, KnowledgeBaseError, require
from agentic_rag.evidence import Evidence
from agentic_rag.tools.chunking import DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_SIZE, Chunk, chunker_for
from agentic_rag.tools.embedding_batches import Progress, embed_texts, embedding_text
from agentic_rag.tools.embeddings import embedding_model_id
from agentic_rag.tools.indexing import IndexReport, text_hash, text_record
from agentic_rag.tools.keyword_index import tokenize
from agentic_rag.tools import store
from agentic_rag.tools.loaders import name_prefix, content_hash, parse_file, read_file, scan_paths
from agentic_rag.tools.source_filter import check_fields_known, filter_patterns, metadata_conditions

__all__ = ["PostgresKnowledgeBase", "is_postgres_url", "redacted_url"]

logger = logging.getLogger(__name__)

_RRF_K = 60
_MAX_TEXT_TERMS = 8  # the rarest terms of a query the text side matches
_COMMON_SHARE = 0.25  # a term in more than this share of the chunks is too common to weigh
_TEXT_CANDIDATES = 1000  # chunks the text side scores, about (the rarest term's all count)
_TEXT_CANDIDATES_MAX = 4000  # and at most, whatever the terms (a query of only common words)
_EF_SEARCH = 40  # HNSW candidates a search scans first; deeper searches set more
_PGVECTOR_AT_LEAST = (0, 8)


def _configure(conn: Any) -> None:
    """Settings of every pooled connection: a filter applied after an HNSW scan of ef_search rows could
    leave nothing, so the scan goes on until enough rows match (pgvector 0.8's iterative scan)."""
    conn.execute(f"set hnsw.iterative_scan = relaxed_order; set hnsw.ef_search = {_EF_SEARCH}")
_LOCK_KEY = 0x61676E7469 % (2**31)  # one advisory lock for migrations and indexing of this project's tables


def is_postgres_url(value: object) -> bool:
    """Whether ``value`` names a Postgres server (``postgresql://...`` or ``postgres://...``)."""
    return isinstance(value, str) and value.startswith(("postgresql://", "postgres://"))


def redacted_url(url: str) -> str:
    """The URL without its password (in the user part or a ``password=`` parameter), for messages."""
    parts = urlsplit(url)
    if parts.password:
        parts = parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@"))
    query = re.sub(r"(?i)(password=)[^&]*", r"\1***", parts.query)
    return urlunsplit(parts._replace(query=query))


_MIGRATIONS: list[str] = [
    # 1: the documents and the store's settings
    """
    create extension if not exists vector;
    create table if not exists agentic_rag_meta (key text primary key, value jsonb not null);
    create table if not exists agentic_rag_documents (
        source text primary key, root text, content_hash text not null,
        indexed_at timestamptz not null default now()
    );
    """,
    # 2: metadata filters served by an index (the chunks table is created with it; older stores get it here)
    """
    do $$ begin
        if to_regclass('agentic_rag_chunks') is not null then
            create index if not exists agentic_rag_chunks_metadata on agentic_rag_chunks using gin (metadata jsonb_path_ops);
        end if;
    end $$;
    """,
    # 3: document frequencies of the text's terms, for the keyword side's weights
    """
    create table if not exists agentic_rag_terms (term text primary key, df integer not null);
    do $$ begin
        if to_regclass('agentic_rag_chunks') is not null then
            insert into agentic_rag_terms (term, df)
            select term, count(*) from agentic_rag_chunks, unnest(tsvector_to_array(tokens)) as term group by term
            on conflict (term) do update set df = excluded.df;
            insert into agentic_rag_meta (key, value)
            select 'chunks', jsonb_build_object('count', count(*)) from agentic_rag_chunks
            on conflict (key) do update set value = excluded.value;
        end if;
    end $$;
    """,
]


# The keyword side weighs a term by its inverse document frequency, as BM25 does, from this table;
# kept in step with the chunks inside each indexing transaction.
_FORGET_TERMS = """
update agentic_rag_terms t set df = t.df - c.n
from (select term, count(*) as n from agentic_rag_chunks, unnest(tsvector_to_array(tokens)) as term
      where file = any(%s) group by term) c
where t.term = c.term
"""
_COUNT_TERMS = """
insert into agentic_rag_terms (term, df)
select term, count(*) from agentic_rag_chunks, unnest(tsvector_to_array(tokens)) as term where file = any(%s) group by term
on conflict (term) do update set df = agentic_rag_terms.df + excluded.df
"""


_HNSW_INDEX = "create index if not exists agentic_rag_chunks_embedding on agentic_rag_chunks using hnsw (embedding vector_cosine_ops)"
_BULK_CHUNKS = 2000  # a write of at least this many chunks into a smaller store builds the HNSW index after loading


def _chunks_table(dimension: int) -> str:
    return f"""
    create table if not exists agentic_rag_chunks (
        id text primary key,
        file text not null references agentic_rag_documents(source) on delete cascade,
        source text not null, number int not null, title text, text text not null,
        span_start int, span_end int, metadata jsonb not null default '{{}}',
        tokens tsvector not null,
        embedding vector({dimension}) not null
    );
    {_HNSW_INDEX};
    create index if not exists agentic_rag_chunks_tokens on agentic_rag_chunks using gin (tokens);
    create index if not exists agentic_rag_chunks_source on agentic_rag_chunks (source, number);
    create index if not exists agentic_rag_chunks_file on agentic_rag_chunks (file);
    create index if not exists agentic_rag_chunks_metadata on agentic_rag_chunks using gin (metadata jsonb_path_ops);
    """


def _vector(values: Iterable[float]) -> str:
    return "[" + ",".join(f"{float(v):.7g}" for v in values) + "]"


def _like(pattern: str) -> str:
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


def _metadata_sql(filters: Mapping[str, Any] | None) -> tuple[str, list[Any]]:
    """The SQL condition of the metadata fields of ``filters``: JSONB containment, which the GIN index serves."""
    parts: list[str] = []
    args: list[Any] = []
    for key, wanted in metadata_conditions(filters).items():
        options = []
        for text in wanted:  # the field equal to the text, or a list holding it
            options.append("metadata @> %s::jsonb or metadata @> %s::jsonb")
            args += [json.dumps({key: text}), json.dumps({key: [text]})]
        parts.append("(" + " or ".join(options) + ")")
    return (" and ".join(parts) or "true"), args


def _filter_sql(filters: Mapping[str, Any] | None) -> tuple[str, list[Any]]:
    """The SQL condition of search ``filters``: sources and metadata."""
    source, source_args = _source_sql(filters)
    metadata, metadata_args = _metadata_sql(filters)
    return f"{source} and {metadata}", [*source_args, *metadata_args]


def _source_sql(filters: Mapping[str, Any] | None) -> tuple[str, list[Any]]:
    """The SQL condition of a ``{"source": ...}`` filter: a name or prefix, or a glob (``*``, ``?``)."""
    patterns = filter_patterns(filters)
    if patterns is None:
        return "true", []
    if not patterns:
        return "false", []
    parts: list[str] = []
    args: list[Any] = []
    for pattern in patterns:
        if "[" in pattern:
            raise ConfigurationError(f"the Postgres store takes * and ? in a source glob, not [...]; got {pattern!r}")
        if "*" in pattern or "?" in pattern:
            like = _like(pattern)
            parts.append("(source like %s or source like %s or source like %s)")
            args += [like, like + "/%", like + "#%"]
        else:
            stem = pattern.rstrip("/#")
            parts.append("(source = %s or source like %s or source like %s)")
            args += [stem, _like(stem) + "/%", _like(stem) + "#%"]
    return "(" + " or ".join(parts) + ")", args


def check_pgvector_version(version: str | None, store: str) -> None:
    """pgvector 0.8 or later: filtered searches rely on its iterative index scans."""
    numbers = [int(part) for part in re.findall(r"\d+", version or "")[:2]]
    if len(numbers) < 2 or tuple(numbers) < _PGVECTOR_AT_LEAST:
        raise KnowledgeBaseError(
            f"the Postgres server of {store} has pgvector {version or 'missing'}; version "
            f"{'.'.join(map(str, _PGVECTOR_AT_LEAST))} or later is needed (filtered searches use its iterative scans): "
            "ALTER EXTENSION vector UPDATE, or install a newer pgvector"
        )


class PostgresKnowledgeBase:
    """The knowledge base in Postgres; a :class:`~agentic_rag.tools.retriever.Retriever` the agent searches.

    ``url`` is a libpq URL (``postgresql://user:password@host:5432/db``). Connections come from a
    pool (``pool_size``); ``connect_timeout`` bounds how long a server that does not answer is waited
    for. A server that is down, a wrong password or a server without pgvector is a
    :class:`KnowledgeBaseError` that says which.
    """

    hybrid = True  # searched by meaning and keywords (the search tool tells the model so)

    def __init__(
        self, url: str, embeddings: Embeddings, *, chunk_size: int = DEFAULT_CHUNK_SIZE,
        chunk_overlap: int = DEFAULT_CHUNK_OVERLAP, pool_size: int = 4, connect_timeout: float = 10.0,
        batch_size: int = 32,
    ) -> None:
        if not is_postgres_url(url):
            raise ConfigurationError(f"a Postgres store is a postgresql:// URL; got {redacted_url(str(url))!r}")
        require("psycopg", "postgres")
        pool_module = require("psycopg_pool", "postgres")
        self.url, self.name = url, redacted_url(url)
        self._embeddings = embeddings
        self._model_id = embedding_model_id(embeddings)
        self._chunker = chunker_for(embeddings, chunk_size, chunk_overlap)
        self._batch_size = batch_size
        self._pool = pool_module.ConnectionPool(
            url, min_size=1, max_size=pool_size, open=False, timeout=connect_timeout,
            kwargs={"connect_timeout": max(1, int(connect_timeout)), "autocommit": True},
            configure=_configure,
        )
        try:
            self._pool.open(wait=True, timeout=connect_timeout)
        except Exception as exc:  # noqa: BLE001 - say why the store cannot be reached
            self._pool.close()
            raise KnowledgeBaseError(f"cannot connect to the Postgres store {self.name}: {self._reason(exc)}") from exc
        try:
            self._migrate()
            self._dimension = self._check_embeddings()
        except BaseException:
            self._pool.close()
            raise

    def _reason(self, exc: BaseException) -> str:
        """Why connecting failed, from the pool's last connection error where it kept one."""
        text = str(exc)
        if "couldn't get a connection" in text or "pool initialization" in text or not text:
            try:
                import psycopg

                psycopg.connect(self.url, connect_timeout=5).close()
            except Exception as inner:  # noqa: BLE001
                text = str(inner).strip()
        return " ".join(text.split())

    # -- schema --------------------------------------------------------------------------------

    def _migrate(self) -> None:
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("select pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            conn.execute("create table if not exists agentic_rag_migrations "
                         "(version int primary key, applied_at timestamptz not null default now())")
            done = {row[0] for row in conn.execute("select version from agentic_rag_migrations")}
            for version, sql in enumerate(_MIGRATIONS, start=1):
                if version in done:
                    continue
                try:
                    conn.execute(sql)
                except Exception as exc:  # noqa: BLE001
                    if "vector" in str(exc) and "extension" in str(exc):
                        raise KnowledgeBaseError(
                            f"the Postgres server of {self.name} has no pgvector extension; install it "
                            "(https://github.com/pgvector/pgvector) or use a server that has it"
                        ) from exc
                    raise KnowledgeBaseError(f"cannot prepare the Postgres store {self.name}: {exc}") from exc
                conn.execute("insert into agentic_rag_migrations (version) values (%s)", (version,))
            row = conn.execute("select extversion from pg_extension where extname = 'vector'").fetchone()
            check_pgvector_version(row[0] if row else None, self.name)

    def _check_embeddings(self) -> int | None:
        """The stored dimension; an embedding model other than the store's is an error."""
        with self._pool.connection() as conn:
            row = conn.execute("select value from agentic_rag_meta where key = 'embedding'").fetchone()
        if row is None:
            return None
        built_id, built_dim = row[0]["model_id"], int(row[0]["dimension"])
        if built_id != self._model_id:
            raise EmbeddingMismatchError(
                f"the knowledge base at {self.name} was built with embedding model '{built_id}' "
                f"(dimension {built_dim}), not '{self._model_id}'; load it with '{built_id}' or rebuild the index"
            )
        return built_dim

    def _known_dimension(self) -> int | None:
        """The store's dimension; read again while unknown (another process may have indexed since)."""
        if self._dimension is None:
            self._dimension = self._check_embeddings()
        return self._dimension

    @property
    def embedding_model_id(self) -> str:
        return self._model_id

    def __len__(self) -> int:
        if self._known_dimension() is None:
            return 0
        with self._pool.connection() as conn:
            return int(conn.execute("select count(*) from agentic_rag_chunks").fetchone()[0])

    def close(self) -> None:
        """Close the pool's connections."""
        self._pool.close()

    # -- indexing ------------------------------------------------------------------------------

    def index_paths(self, paths: Any, progress: Progress | None = None, *, follow_symlinks: bool = False,
                    reading: Progress | None = None) -> IndexReport:
        """Index files and folders incrementally, as the FAISS knowledge base does, in one transaction.

        Unchanged files (same content hash) are not read again past their hash; changed files are
        re-chunked and re-embedded; files indexed from a folder given here that are gone are dropped.
        Embedding happens before the transaction; the writes hold an advisory lock.
        """
        with self._pool.connection() as conn:
            rows = conn.execute("select source, content_hash, root from agentic_rag_documents").fetchall()
        known_roots = sorted({root for _, _, root in rows if root})
        prefixes = {root: name_prefix(root, (source for source, _, r in rows if r == root)) for root in known_roots}
        scan = scan_paths(paths, known_roots=known_roots, skip_dir=store.is_store_dir, follow_symlinks=follow_symlinks,
                          known_prefixes=prefixes)
        report = IndexReport(skipped=list(scan.skipped))
        known = {source: digest for source, digest, _ in rows}
        roots = {source: root for source, _, root in rows}
        changed: list[tuple[str, str | None, str, list[Chunk]]] = []
        seen: set[str] = set()
        for number, file in enumerate(scan.files):
            if reading is not None:
                reading(number, len(scan.files))
            seen.add(file.key)
            try:
                data = read_file(file.path)
            except OSError as exc:
                report.skipped.append((file.key, f"unreadable: {exc.strerror or exc}"))
                continue
            digest = content_hash(data)
            if known.get(file.key) == digest:
                report.unchanged.append(file.key)
                continue
            documents, skipped = parse_file(file, data)
            report.skipped += skipped
            chunks = [c for doc in documents for c in self._chunker.split(doc.source, doc.text, doc.title, doc.metadata,
                                                                     doc.sections)]
            changed.append((file.key, file.root, digest, chunks))
        if reading is not None:
            reading(len(scan.files), len(scan.files))
        gone = [key for key in known if key not in seen and roots[key] is not None and roots[key] in scan.roots]
        return self._write(changed, gone, known, report, progress)

    def add_texts(self, records: Iterable[Any], progress: Progress | None = None) -> IndexReport:
        """Index ``(source, text[, title])`` records that are not files, as the FAISS knowledge base does.

        A source added again with the same text and title is left alone; with other text it is
        replaced. Empty texts are skipped (an earlier version stays); a source name that a file
        indexed from a folder has is refused (a file given on its own is not told apart from a text).
        """
        with self._pool.connection() as conn:
            rows = conn.execute("select source, content_hash, root from agentic_rag_documents").fetchall()
        known = {source: digest for source, digest, _ in rows}
        files = {source for source, _, root in rows if root is not None}
        report = IndexReport()
        changed: list[tuple[str, str | None, str, list[Chunk]]] = []
        batch: set[str] = set()
        for record in records:
            source, text, title = text_record(record)
            if source in batch:
                report.skipped.append((source, "source repeated in one call"))
                continue
            batch.add(source)
            if source in files:
                report.skipped.append((source, "source name already used by an indexed file"))
            elif not text.strip():
                report.skipped.append((source, "empty text"))
            elif known.get(source) == (digest := text_hash(title, text)):
                report.unchanged.append(source)
            else:
                changed.append((source, None, digest, self._chunker.split(source, text, title)))
        return self._write(changed, [], known, report, progress)

    def _write(self, changed: list[tuple[str, str | None, str, list[Chunk]]], gone: list[str], known: dict[str, str],
               report: IndexReport, progress: Progress | None) -> IndexReport:
        """Embed the changed documents' chunks, then write them and drop ``gone`` in one locked transaction."""
        all_chunks = [c for _, _, _, chunks in changed for c in chunks]
        texts = [embedding_text(c) for c in all_chunks]
        vectors = embed_texts(self._embeddings, texts, batch_size=self._batch_size, dimension=self._known_dimension(),
                              model_id=self._model_id, progress=progress)
        by_text = {text: vectors[i] for i, text in enumerate(dict.fromkeys(texts))}
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("select pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            dimension = self._check_embeddings_in(conn)  # another process may have created the table meanwhile
            if all_chunks and dimension is None:
                dimension = int(vectors.shape[1])
                conn.execute(_chunks_table(dimension))
                conn.execute("insert into agentic_rag_meta (key, value) values ('embedding', %s)",
                             (json.dumps({"model_id": self._model_id, "dimension": dimension}),))
            keys = [key for key, _, _, _ in changed]
            if dimension is not None and (gone or keys):
                conn.execute(_FORGET_TERMS, ([*gone, *keys],))  # the document frequencies of what goes
                conn.execute("delete from agentic_rag_chunks where file = any(%s)", (keys,))
            if gone:
                conn.execute("delete from agentic_rag_documents where source = any(%s)", (gone,))
                report.removed += gone
            # A bulk load (more new chunks than the store holds, and many) builds the HNSW index once
            # after the rows are in, several times faster than row by row; searches wait for the commit.
            bulk = (dimension is not None and len(all_chunks) >= _BULK_CHUNKS
                    and len(all_chunks) > conn.execute("select count(*) from agentic_rag_chunks").fetchone()[0])
            if bulk:
                conn.execute("drop index if exists agentic_rag_chunks_embedding")
            with conn.cursor() as cursor:
                cursor.executemany(
                    "insert into agentic_rag_documents (source, root, content_hash) values (%s, %s, %s) "
                    "on conflict (source) do update set root = excluded.root, content_hash = excluded.content_hash, "
                    "indexed_at = now()",
                    [(key, root, digest) for key, root, digest, _ in changed],
                )
                cursor.executemany(
                    "insert into agentic_rag_chunks (id, file, source, number, title, text, span_start, span_end, "
                    "metadata, tokens, embedding) values (%s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, "
                    "to_tsvector('simple', %s), %s::vector)",
                    [(c.id, key, c.source, c.number, c.title, c.text, c.start, c.end, json.dumps(c.metadata),
                      " ".join(tokenize(embedding_text(c))), _vector(by_text[embedding_text(c)]))
                     for key, _, _, chunks in changed for c in chunks],
                )
            if bulk:
                conn.execute("set local maintenance_work_mem = '256MB'")
                conn.execute(_HNSW_INDEX)
            if dimension is not None:
                conn.execute(_COUNT_TERMS, (keys,))
                conn.execute("insert into agentic_rag_meta (key, value) "
                             "select 'chunks', jsonb_build_object('count', count(*)) from agentic_rag_chunks "
                             "on conflict (key) do update set value = excluded.value")
            for key in keys:
                (report.updated if key in known else report.added).append(key)
        self._dimension = dimension  # only once the transaction has committed
        report.embedded = len(all_chunks)
        report.chunks = len(self)
        return report

    def _check_embeddings_in(self, conn: Any) -> int | None:
        """The stored dimension, read on ``conn`` (inside the indexing transaction); another model is an error."""
        row = conn.execute("select value from agentic_rag_meta where key = 'embedding'").fetchone()
        if row is None:
            return None
        if row[0]["model_id"] != self._model_id:
            raise EmbeddingMismatchError(
                f"the knowledge base at {self.name} was built with embedding model '{row[0]['model_id']}', "
                f"not '{self._model_id}'; rebuild the index"
            )
        return int(row[0]["dimension"])

    # -- search --------------------------------------------------------------------------------

    def search(self, query: str, k: int = 4, *, filters: Mapping[str, Any] | None = None,
               mode: str = "hybrid") -> list[Evidence]:
        """The ``k`` best chunks: ``hybrid`` (reciprocal rank fusion of the vector and text rankings), ``dense`` or ``keyword``."""
        if mode not in ("hybrid", "dense", "keyword"):
            raise ConfigurationError(f"search mode must be hybrid, dense or keyword; got {mode!r}")
        if self._known_dimension() is None or not query.strip():
            return []
        where, args = _filter_sql(filters)
        depth = max(4 * k, 20)
        terms = " ".join(tokenize(query))
        use_dense, use_text = mode != "keyword", mode != "dense" and bool(terms)
        vector = _vector(self._embeddings.embed_query(query)) if use_dense else None
        # The text side: the query's terms the store knows, rarest first, weighed by their BM25 idf;
        # terms in more than a quarter of the chunks are left out (unless nothing rarer is asked).
        # Candidates are the chunks holding the rarest terms, taken while their document frequencies
        # add up to at most _TEXT_CANDIDATES; when even the rarest is more common than that, the chunks
        # holding two of the three rarest. So a common word does not flood the scan. A candidate scores
        # the idf of every weighed term it holds; among equals, the shorter chunk first (as BM25's length norm).
        sql = f"""
        with dense as (
            select id, row_number() over (order by embedding <=> %s::vector) as rank
            from agentic_rag_chunks where {where} and %s
            order by embedding <=> %s::vector limit %s
        ), asked as (
            select t.term, t.df, n.total, row_number() over (order by t.df, t.term) as r,
                   sum(t.df) over (order by t.df, t.term rows unbounded preceding) - t.df as rarer
            from agentic_rag_terms t,
                 (select coalesce((select (value->>'count')::float from agentic_rag_meta where key = 'chunks'), 1) as total) n
            where %s and t.term = any(tsvector_to_array(to_tsvector('simple', %s))) and t.df > 0
        ), picked as (
            select to_tsquery('simple', quote_literal(term)) as q, r, df,
                   ln(1 + (total - df + 0.5) / (df + 0.5)) as idf, rarer + df <= {_TEXT_CANDIDATES} as matched
            from asked where r <= {_MAX_TEXT_TERMS} and (df <= {_COMMON_SHARE} * total or r <= 2)
        ), text_query as (
            select coalesce(
                (select string_agg(q::text, ' | ') from picked where matched),
                (select string_agg('(' || a.q::text || ' & ' || b.q::text || ')', ' | ')
                 from picked a join picked b on a.r < b.r and b.r <= 3),
                (select q::text from picked where r = 1)
            )::tsquery as q
        ), candidates as (
            select c.id, c.tokens from text_query tq, agentic_rag_chunks c
            where tq.q is not null and {where} and c.tokens @@ tq.q limit {_TEXT_CANDIDATES_MAX}
        ), text_hits as (
            select c.id, row_number() over (order by s.score desc, length(c.tokens), c.id) as rank
            from candidates c, lateral (select sum(p.idf) as score from picked p where c.tokens @@ p.q) s
            order by s.score desc, length(c.tokens), c.id limit %s
        ), fused as (
            select id, sum(1.0 / ({_RRF_K} + rank)) as score
            from (select * from dense union all select * from text_hits) as ranked group by id
        )
        select c.id, c.source, c.title, c.text, c.span_start, c.span_end, c.metadata, fused.score
        from fused join agentic_rag_chunks c using (id) order by fused.score desc, c.id limit %s
        """
        params = [vector, *args, use_dense, vector, depth, use_text, terms, *args, depth, k]
        try:
            with self._pool.connection() as conn:
                if depth <= _EF_SEARCH:  # the connection's settings do (one round trip)
                    rows = conn.execute(sql, params).fetchall()
                else:
                    with conn.transaction():
                        conn.execute(f"set local hnsw.ef_search = {int(depth)}")
                        rows = conn.execute(sql, params).fetchall()
        except Exception as exc:  # noqa: BLE001 - named: the run reports it
            raise KnowledgeBaseError(f"the Postgres store {self.name} failed to search: {type(exc).__name__}: {exc}") from exc
        conditions = metadata_conditions(filters)
        if not rows and conditions:
            check_fields_known(conditions, self._metadata_fields(list(conditions)), all_fields=False)
        return [self._evidence(row) for row in rows]

    def _metadata_fields(self, keys: list[str]) -> set[str]:
        """Which of ``keys`` some chunk has as a metadata field."""
        with self._pool.connection() as conn:
            return {key for key in keys
                    if conn.execute("select exists(select 1 from agentic_rag_chunks where metadata ? %s)", (key,)).fetchone()[0]}

    @staticmethod
    def _evidence(row: Any) -> Evidence:
        chunk_id, source, title, text, start, end, metadata, score = row
        span = (start, end) if start is not None and end is not None else None
        return Evidence(id=chunk_id, source=source, text=text, span=span, title=title,
                        score=float(score) if score is not None else None, metadata=metadata or {})

    def neighbours(self, chunk_id: str, /, window: int = 1) -> list[Evidence]:
        """The chunk and up to ``window`` chunks of its source before and after it, in order."""
        if self._known_dimension() is None:
            return []
        with self._pool.connection() as conn:
            rows = conn.execute(
                "select n.id, n.source, n.title, n.text, n.span_start, n.span_end, n.metadata, null "
                "from agentic_rag_chunks c join agentic_rag_chunks n on n.source = c.source "
                "and n.number between c.number - %s and c.number + %s where c.id = %s order by n.number",
                (window, window, chunk_id),
            ).fetchall()
        return [self._evidence(row) for row in rows]

    def sources(self) -> list[str]:
        """The files indexed, sorted."""
        with self._pool.connection() as conn:
            return [row[0] for row in conn.execute("select source from agentic_rag_documents order by source")]

