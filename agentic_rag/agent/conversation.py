"""Chat threads and resumable runs over a LangGraph checkpointer.

:class:`Conversation` owns a chat turn from start to end: it rewrites a follow-up into a standalone
question from the thread's last turns (one model call), records the turn as under way, runs the
graph (checkpointed under ``<thread id>/turn-<n>``, node by node, so a run killed half way resumes
from its last finished step), and records the answered turn, deleting the run's checkpoints. The
thread's turns and the turn under way live in a small graph saved by the same checkpointer.
"""

from __future__ import annotations

import operator
import re
import sqlite3
import time
from pathlib import Path
from collections.abc import Iterator, Mapping
from typing import Annotated, Any

from typing_extensions import TypedDict

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.graph import END, START, StateGraph

from agentic_rag._text import one_line, require_valid_unicode
from agentic_rag.event_stream import stream_events
from agentic_rag.answer import Answer, Usage
from agentic_rag.errors import ConfigurationError, ThreadStoreError
from agentic_rag.events import FinalAnswer
from agentic_rag.graphs import prompts
from agentic_rag.graphs.checkpoints import state_serializer, with_state_types
from agentic_rag.graphs.citations import content_stems
from agentic_rag.graphs.claims import strip_markers
from agentic_rag.graphs.llm import invoke_text
from agentic_rag.steps import RewriteDetail, Step

__all__ = [
    "Conversation", "open_checkpointer", "postgres_checkpointer", "rewrite_follow_up", "sqlite_checkpointer", "state_serializer", "Turn", "with_rewrite", "with_state_types",
]

HISTORY_TURNS = 3
"""How many of the thread's last turns a follow-up is rewritten with."""
HISTORY_ANSWER_CHARS = 400
"""How much of each earlier answer the rewrite reads (a detailed answer's first sentences name what it is about)."""


class Turn(TypedDict):
    """One finished exchange of a thread."""

    message: str
    question: str
    answer: str


class ConversationState(TypedDict, total=False):
    turns: Annotated[list[Turn], operator.add]
    pending: dict[str, Any] | None  # the turn under way: message, standalone question, turn number


def sqlite_checkpointer(path: str | Path) -> Any:
    """A SQLite checkpointer in ``path`` (created with its folder), usable from several threads.

    A file that is not a SQLite database, or a damaged one, is a :class:`ThreadStoreError` naming it.
    """
    from langgraph.checkpoint.sqlite import SqliteSaver

    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(str(path), check_same_thread=False)
        problems = [row[0] for row in connection.execute("PRAGMA quick_check").fetchall()]
        if problems != ["ok"]:
            raise sqlite3.DatabaseError("; ".join(map(str, problems[:3])))
        saver = SqliteSaver(connection, serde=state_serializer())
        saver.setup()
    except (sqlite3.Error, OSError) as exc:
        raise ThreadStoreError(_unreadable(path, exc)) from None
    return saver


def postgres_checkpointer(url: str, *, pool_size: int = 4, connect_timeout: float = 10.0,
                          setup_timeout: float = 120.0) -> Any:
    """Threads kept in Postgres (``langgraph-checkpoint-postgres``, the project's no-pickle serializer).

    Any server process can continue any thread. A server that cannot be reached is a
    :class:`ThreadStoreError` naming it (without its password).
    """
    from agentic_rag.errors import require
    from agentic_rag.tools.postgres_store import redacted_url

    require("langgraph.checkpoint.postgres", "postgres")
    from langgraph.checkpoint.postgres import PostgresSaver
    from psycopg.rows import dict_row
    from psycopg_pool import ConnectionPool

    pool = ConnectionPool(url, min_size=1, max_size=pool_size, open=False, timeout=connect_timeout,
                          kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row,
                                  "connect_timeout": max(1, int(connect_timeout))})
    try:
        pool.open(wait=True, timeout=connect_timeout)
        saver = PostgresSaver(pool, serde=state_serializer())  # type: ignore[arg-type]
        with pool.connection() as lock:  # two processes starting at once must not both create the tables
            _take_setup_lock(lock, deadline=time.monotonic() + setup_timeout)
            try:
                saver.setup()
            finally:
                lock.execute("select pg_advisory_unlock(hashtextextended(%s, 0))", (_SETUP_LOCK,))
    except Exception as exc:  # noqa: BLE001 - one clear error for a store that cannot be used
        pool.close()
        raise ThreadStoreError(f"the threads store {redacted_url(url)} cannot be used ({type(exc).__name__}: "
                               f"{' '.join(str(exc).split())})") from None
    return saver


_SETUP_LOCK = "agentic_rag.threads.setup"


def _take_setup_lock(conn: Any, *, deadline: float) -> None:
    """Take the setup lock by asking again, never by waiting inside Postgres.

    The setup builds an index ``concurrently``, which waits for every open statement of the
    database to end; a process blocked inside ``pg_advisory_lock`` is such a statement, so the
    holder and the waiter would wait for each other, unseen by Postgres' deadlock check (the
    holder's lock and its index build are on two connections).
    """
    pause = 0.05
    while not conn.execute("select pg_try_advisory_lock(hashtextextended(%s, 0)) as taken",
                           (_SETUP_LOCK,)).fetchone()["taken"]:
        if time.monotonic() > deadline:
            raise TimeoutError("another process has been creating the threads tables for too long")
        time.sleep(pause)
        pause = min(pause * 2, 1.0)


def open_checkpointer(spec: str | Path) -> Any:
    """The threads' checkpointer for ``spec``: a ``postgresql://`` URL or a SQLite file."""
    from agentic_rag.tools.postgres_store import is_postgres_url

    return postgres_checkpointer(str(spec)) if is_postgres_url(str(spec)) else sqlite_checkpointer(spec)


def _unreadable(path: Path | str, exc: BaseException) -> str:
    return (f"the threads database {path} cannot be read ({type(exc).__name__}: {exc}); "
            "move it away to start with no threads, or choose another file (--threads-db)")


def with_rewrite(answer: Answer, message: str, cost: Usage) -> Answer:
    """``answer`` with the rewrite of ``message`` into its question as first step, and its cost added.

    Unchanged when the message was not rewritten.
    """
    if message == answer.question:
        return answer
    step = Step(kind="rewrite", detail=RewriteDetail(message=message, question=answer.question), usage=cost)
    return answer.model_copy(update={"usage": answer.usage + cost, "steps": [step, *answer.steps]})


def rewrite_follow_up(model: BaseChatModel, message: str, turns: list[Turn]) -> tuple[str, Usage]:
    """``message`` rewritten to stand alone, using the last turns, and what that cost; unchanged without history.

    The rewrite may only resolve references ("it", "that team"); a rewrite that drops what the
    follow-up asks (its question word or a content word) is not used: the follow-up itself is, with
    the names the previous answer gave in brackets (see :func:`keeps_the_ask`). An ellipsis ("What
    about INC-0441?") is the previous question with its name swapped, no model call (see
    :func:`ellipsis_question`).
    """
    if not turns:
        return message, Usage()
    standalone = ellipsis_question(message, turns[-1]["question"])
    if standalone is not None:
        return standalone, Usage()
    history = "\n".join(
        prompts.HISTORY_TURN.format(question=one_line(t["question"], 300), answer=one_line(t["answer"], HISTORY_ANSWER_CHARS))
        for t in turns[-HISTORY_TURNS:]
    )
    user = prompts.CONDENSE.format(history=history, message=one_line(message))
    result = invoke_text(model, [SystemMessage(content=prompts.SYSTEM), HumanMessage(content=user)], attempts=1)
    rewritten = (result.value or "").strip().strip('"').strip()
    rewritten = rewritten.splitlines()[0].strip() if rewritten else ""
    if not rewritten:
        return message, result.usage
    if not keeps_the_ask(message, rewritten):
        return _with_context(message, turns[-1]), result.usage
    return rewritten, result.usage


_REFERENCES = frozenset(
    "it its they them their that this those these he she him her his one ones there about also and too then".split())
_ASKING = frozenset("who whom whose what which when where why how".split())
_NAME = re.compile(r"\b[A-Z][\w-]*(?:\s+[A-Z][\w-]*)*")


_ELLIPSIS = re.compile(r"^\s*(?:(?:what|how)\s+about|and)\s+(?P<rest>.+?)\s*[?.!]*\s*$", re.IGNORECASE)
_CODE = re.compile(r"\b[A-Z]+-?\d+\b")  # INC-0441, SEV2, Q3
_MAX_ELLIPSIS_WORDS = 6
# what an ellipsis may say besides the thing it names ("and for a SEV2?", "what about someone in Halifax?")
_FILLER = frozenset("a an the in at on for of to from by with someone somebody".split())
_NOT_NAMES = frozenset("i ok okay thanks thank yes no please".split())


def _shape(code: str) -> re.Pattern[str]:
    """Codes of the same form as ``code``: INC-0441 finds INC-0419, SEV2 finds SEV1."""
    parts = re.findall(r"[A-Z]+|\d+|.", code)
    return re.compile(r"\b" + "".join("[A-Z]+" if p.isalpha() else r"\d+" if p.isdigit() else re.escape(p) for p in parts) + r"\b")


def ellipsis_question(message: str, previous: str) -> str | None:
    """The previous question asked of something else, for a follow-up that names only that thing.

    "What about INC-0441?" after "Who was the incident commander for INC-0419?" is "Who was the
    incident commander for INC-0441?"; "And in Halifax?" after "Who is the office manager at the
    Porto office?" swaps Porto for Halifax. A code replaces the previous question's last code of the
    same form, a name its last name (not its first word). ``None`` when the follow-up is not such an
    ellipsis (it asks something itself) or nothing in the previous question is of the same kind.
    """
    match = _ELLIPSIS.match(message)
    if not match or _ELLIPSIS.match(previous):  # an ellipsis after an ellipsis: the model resolves it
        return None
    rest = match.group("rest")
    words = re.findall(r"\w+", rest)
    if len(words) > _MAX_ELLIPSIS_WORDS or {w.lower() for w in words} & _ASKING:
        return None
    codes = _CODE.findall(rest)
    if codes:
        new = codes[-1]
        spans = list(_shape(new).finditer(previous))
    else:
        names = [n for n in _NAME.finditer(rest)]
        if not names or len(names[-1].group()) < 2 or names[-1].group().lower() in _NOT_NAMES:
            return None
        new = names[-1].group()
        spans = [m for m in _NAME.finditer(previous) if m.start() > 0 and not _CODE.fullmatch(m.group())]
    if any(w.lower() not in _FILLER for w in re.findall(r"\w+", rest.replace(new, " "))):
        return None  # it asks something of its own ("What about the deadline for INC-0441?")
    if not spans:
        return None
    old = spans[-1]
    if old.group() == new:
        return None
    return previous[:old.start()] + new + previous[old.end():]


def keeps_the_ask(message: str, rewritten: str) -> bool:
    """Whether ``rewritten`` keeps the follow-up's question words and every content word (references aside)."""
    words = {w.lower() for w in re.findall(r"\w+", message)}
    kept = {w.lower() for w in re.findall(r"\w+", rewritten)}
    if not (words & _ASKING) <= kept:
        return False
    wanted = {stem for stem in content_stems(message) if stem not in _REFERENCES}
    return wanted <= set(content_stems(rewritten))


def _with_context(message: str, turn: Turn) -> str:
    """The follow-up itself, with the names the previous answer (or question) gave, to search by."""
    answer = strip_markers(turn["answer"])
    names = [n for n in dict.fromkeys(_NAME.findall(answer)) if content_stems(n) and n.lower() not in _ASKING]
    if not names:
        names = [turn["question"]]
    return f"{message.rstrip()} ({', '.join(names[:3])})"


def _database_name(checkpointer: Any) -> str | None:
    """The file of a SQLite checkpointer's database, if it has one."""
    try:
        rows = checkpointer.conn.execute("PRAGMA database_list").fetchall()
    except Exception:  # noqa: BLE001 - only for the message
        return None
    return next((str(row[2]) for row in rows if row[1] == "main" and row[2]), None)


def _store_graph(checkpointer: Any) -> Any:
    graph = StateGraph(ConversationState)
    graph.add_node("keep", lambda state: {})
    graph.add_edge(START, "keep")
    graph.add_edge("keep", END)
    return graph.compile(checkpointer=checkpointer)


_DURABLE = {"durability": "sync"}  # each step saved before the next starts: a kill loses no finished step


class Conversation:
    """The chat threads of one graph: history, follow-up rewriting, turns and resume."""

    def __init__(self, model: BaseChatModel, graph: Any, checkpointer: Any) -> None:
        if checkpointer is None:
            raise ConfigurationError("chat threads need a checkpointer (Agent(checkpointer=...))")
        self.model = model
        self.graph = graph
        self.checkpointer = checkpointer
        self.store = _store_graph(checkpointer)

    @staticmethod
    def _config(thread_id: str) -> dict[str, Any]:
        if not isinstance(thread_id, str) or not thread_id.strip():
            raise ConfigurationError("the thread id is empty")
        if "/" in thread_id:
            raise ConfigurationError(f"a thread id may not contain '/': {thread_id!r}")
        require_valid_unicode(thread_id, f"the thread id {thread_id!r}")
        return {"configurable": {"thread_id": thread_id}}

    def turns(self, thread_id: str) -> list[Turn]:
        """The finished turns of a thread, oldest first."""
        return list(self._values(thread_id).get("turns") or [])

    def pending(self, thread_id: str) -> dict[str, Any] | None:
        """The turn under way (asked, not yet answered), if any."""
        return self._values(thread_id).get("pending")

    def _values(self, thread_id: str) -> dict[str, Any]:
        """The thread's saved record; a record that cannot be read is a :class:`ThreadStoreError`."""
        config = self._config(thread_id)
        try:
            values = self.store.get_state(config).values
        except Exception as exc:  # noqa: BLE001 - sqlite errors, or a damaged record failing to decode
            where = _database_name(self.checkpointer)
            raise ThreadStoreError(
                f"thread {thread_id!r} cannot be read" + (f" from {where}" if where else "")
                + f" ({type(exc).__name__}: {exc}); start another thread, or move the threads database away"
            ) from None
        if not isinstance(values, dict) or not isinstance(values.get("turns") or [], list):
            raise ThreadStoreError(f"thread {thread_id!r} holds a damaged record; start another thread")
        return values

    def run_turn(
        self, message: str, thread_id: str, graph_input: dict[str, Any], *, events: bool = True,
        replace_unfinished: bool = False, forget_on_error: bool = False, settings: dict[str, Any] | None = None,
        tracing: Mapping[str, Any] | None = None,
    ) -> Iterator[Any]:
        """Answer ``message`` as the thread's next turn; yield its events, the recorded answer last.

        With ``events=False`` only the final :class:`FinalAnswer` is yielded. An unfinished turn is
        an error unless ``replace_unfinished`` (then it is forgotten); with ``forget_on_error`` a
        turn whose run fails is forgotten rather than left to :meth:`resume`. ``settings`` are the
        run's overrides of the graph's config (kept with the turn, so a resumed run has them too);
        ``tracing`` its callbacks, tags, metadata and run name (not kept).
        """
        if replace_unfinished and self.pending(thread_id):
            self.abandon_turn(thread_id)
        graph_input, config = self._start_turn(message, thread_id, graph_input, settings or {})
        config = {**(tracing or {}), **config}
        try:
            yield from self._run(graph_input, config, thread_id, events)
        except BaseException:
            if forget_on_error:
                self.abandon_turn(thread_id)  # the caller got an error for it: not part of the history
            raise

    def resume(self, thread_id: str) -> Answer:
        """Finish the thread's interrupted run from its last finished step."""
        pending = self.pending(thread_id)
        if not pending:
            raise ConfigurationError(f"thread {thread_id!r} has no unfinished run to resume")
        config = self._run_config(thread_id, pending["turn"], pending.get("settings"))
        snapshot = self.graph.get_state(config)
        if snapshot.next:
            graph_input: Any = None
        elif snapshot.values.get("answer") is not None:  # it had finished; only the record was missing
            return self._finish_turn(thread_id, snapshot.values["answer"])
        else:  # killed before the first step was saved: start the turn's run again
            graph_input = {"question": pending.get("question", ""), **(pending.get("input") or {})}
        final = list(self._run(graph_input, config, thread_id, events=False))
        return final[-1].answer

    def _run(self, graph_input: Any, config: dict[str, Any], thread_id: str, events: bool) -> Iterator[Any]:
        final: FinalAnswer | None = None
        if events:
            for event in stream_events(self.graph, graph_input, config, **_DURABLE):
                if isinstance(event, FinalAnswer):
                    final = event  # recorded once the run has ended (its last checkpoint saved)
                else:
                    yield event
        else:
            final = FinalAnswer(answer=self.graph.invoke(graph_input, config, **_DURABLE)["answer"])
        if final is not None:
            yield FinalAnswer(answer=self._finish_turn(thread_id, final.answer))

    def _start_turn(
        self, message: str, thread_id: str, graph_input: dict[str, Any], settings: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Record the turn as under way; return the graph input (the standalone question) and its run config."""
        config = self._config(thread_id)
        if self.pending(thread_id):
            raise ConfigurationError(f"thread {thread_id!r} has an unfinished run: resume it first")
        turns = self.turns(thread_id)
        question, cost = rewrite_follow_up(self.model, message, turns)
        budget = graph_input.get("budget")
        pending = {
            "message": message, "question": question, "turn": len(turns), "rewrite_usage": cost.model_dump(),
            "graph": getattr(self.graph, "name", None), "settings": settings,
            "input": {"budget": budget.model_dump()} if budget is not None else {},
        }
        self.store.update_state(config, {"pending": pending})
        return {**graph_input, "question": question}, self._run_config(thread_id, pending["turn"], settings)

    def _run_config(self, thread_id: str, turn: int, settings: dict[str, Any] | None = None) -> dict[str, Any]:
        return {"configurable": {**(settings or {}), "thread_id": f"{thread_id}/turn-{turn}"}}

    def _finish_turn(self, thread_id: str, answer: Answer) -> Answer:
        """Record the answered turn and clear the one under way; the answer gains the rewrite's step and cost.

        The turn's run is deleted from the checkpointer (when it can delete threads): it was kept
        only to resume the turn. Called once the run has ended, so nothing writes to it after.
        """
        pending = self.pending(thread_id) or {}
        if pending.get("message"):
            answer = with_rewrite(answer, pending["message"], Usage.model_validate(pending.get("rewrite_usage") or {}))
        turn: Turn = {"message": pending.get("message", answer.question), "question": answer.question, "answer": answer.text}
        self.store.update_state(self._config(thread_id), {"turns": [turn], "pending": None})
        delete_thread = getattr(self.checkpointer, "delete_thread", None)
        if "turn" in pending and callable(delete_thread):
            delete_thread(self._run_config(thread_id, pending["turn"])["configurable"]["thread_id"])
        return answer

    def abandon_turn(self, thread_id: str) -> None:
        """Forget the turn under way (its run failed and will not be resumed); finished turns stay."""
        self.store.update_state(self._config(thread_id), {"pending": None})
