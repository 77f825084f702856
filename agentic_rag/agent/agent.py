"""The facade applications embed: an :class:`Agent` over a chat model and tools."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, StructuredTool

from agentic_rag._text import require_valid_unicode
from agentic_rag.agent.conversation import Conversation, Turn, rewrite_follow_up, with_rewrite, with_state_types
from agentic_rag.event_stream import STREAM_MODES, EventTranslator, stream_events
from agentic_rag.agent.models import resolve_chat_model
from agentic_rag.agent.settings import load_settings
from agentic_rag.answer import Answer
from agentic_rag.errors import ConfigurationError
from agentic_rag.events import FinalAnswer
from agentic_rag.graphs import Budget, GraphName, RAGConfig, build_graph, default_research_budget, looks_single_hop
from agentic_rag.graphs.config import AnswerStyle, CitationCheck, SingleHopCheck
from agentic_rag.graphs.registry import check_graph_name
from agentic_rag.tools.adapters import as_tool, query_tools
from agentic_rag.tools.langchain_stores import as_retriever
from agentic_rag.tools.retrieval import retrieval_tools

__all__ = ["Agent", "GraphName"]


class Agent:
    """Ask questions of a knowledge base and/or tools through one of the graphs.

    ``model`` is any LangChain chat model, a ``provider:model`` string, or ``"local"`` /
    ``"local:<name>"`` for the offline llama.cpp default. ``config`` is the graph's
    :class:`~agentic_rag.graphs.RAGConfig`; ``k``, ``style``, ``citation_check``, ``adaptive`` and
    ``single_hop`` are shortcuts for its fields (``single_hop`` is the check, of the question's
    text, that lets the first cited answer stand). Answers are ``detailed`` unless the config or
    ``style`` says otherwise; :meth:`research` writes a cited report.
    """

    def __init__(
        self,
        model: BaseChatModel | str | None = None,
        *,
        knowledge_base: Any = None,
        tools: list[Any] | None = None,
        graph: GraphName | None = None,
        budget: Budget | None = None,
        config: RAGConfig | None = None,
        k: int | None = None,
        verbose: bool | None = None,
        on_download: Any = None,
        checkpointer: Any = None,
        style: AnswerStyle | None = None,
        citation_check: CitationCheck | None = None,
        adaptive: bool | None = None,
        single_hop: SingleHopCheck | None = looks_single_hop,
    ) -> None:
        settings = load_settings()
        graph_name = check_graph_name(graph or settings.graph)
        config = config or RAGConfig()
        if k is None and "k" not in config.model_fields_set:
            k = settings.k  # the environment's default, below what the caller set
        if style is None and "style" not in config.model_fields_set:
            style = "detailed"  # what a reader wants; benchmarks ask for "short"
        shortcuts = {"k": k, "style": style, "citation_check": citation_check, "adaptive": adaptive}
        config = config.override({name: value for name, value in shortcuts.items() if value is not None})
        if single_hop is not looks_single_hop:
            config = config.override({"single_hop": single_hop})
        own_tools = [as_tool(t) for t in tools or []]
        kb_tools = retrieval_tools(as_retriever(knowledge_base), k=config.k, read_chars=config.passage_chars) if knowledge_base is not None else []
        all_tools = kb_tools + own_tools
        if not all_tools:
            raise ConfigurationError("give the agent a knowledge_base or at least one tool")
        # With tools of your own, a model call plans the first searches (it sees their names and
        # descriptions) and the judge's follow-up queries go to them as well as to the knowledge base.
        if own_tools:
            follow_up = [t.name for t in (kb_tools[:1] + query_tools(own_tools))]
            config = config.override({"planner": True, "follow_up_tools": follow_up})
        self.model = resolve_chat_model(
            model if model is not None else settings.model,
            verbose=settings.verbose if verbose is None else verbose,
            on_download=on_download,
        )
        self.graph_name = graph_name
        self.config = config
        self.budget = budget or Budget()
        if checkpointer is not None and checkpointer is not False and checkpointer is not True:
            checkpointer = with_state_types(checkpointer)
        self.checkpointer = checkpointer
        self.tools = all_tools
        self.graph = build_graph(graph_name, self.model, all_tools, config, checkpointer=checkpointer)
        self._conversation = Conversation(self.model, self.graph, checkpointer) if checkpointer is not None else None
        self._research: tuple[Any, Conversation | None] | None = None

    def graph_input(self, question: str, budget: Budget | None = None) -> dict[str, Any]:
        """The graph's input for ``question``: the stripped question and the budget (this agent's by default)."""
        if not isinstance(question, str) or not question.strip():
            raise ConfigurationError("the question is empty")
        require_valid_unicode(question, "the question")
        return {"question": question.strip(), "budget": budget or self.budget}

    def ask(
        self, question: str, *, budget: Budget | None = None, thread_id: str | None = None,
        history: list[Turn] | None = None, settings: Mapping[str, Any] | None = None, config: RunnableConfig | None = None,
    ) -> Answer:
        """Run the graph to the end and return the answer.

        With ``thread_id`` (needs a checkpointer) the question is a turn of that chat thread: see
        :meth:`chat`. With ``history`` (earlier turns the caller keeps) a follow-up is first
        rewritten to stand alone, and nothing is recorded. ``settings`` overrides fields of the
        agent's :class:`RAGConfig` for this run only (``{"style": "short"}``, ``{"instructions": ...}``).
        ``config`` is the run's LangChain config for tracing: its ``callbacks``, ``tags``, ``metadata``
        and ``run_name`` reach every model and tool call (a LangSmith or OpenTelemetry handler).
        """
        if thread_id is not None:
            return self.chat(question, thread_id=thread_id, budget=budget, settings=settings, config=config)
        return _final(self._one_off(question, budget, history, events=False, settings=settings, config=config))

    def as_tool(
        self, name: str = "ask_documents", description: str = "Answer a question from the documents, with cited sources.",
    ) -> BaseTool:
        """The agent as a tool another agent can call: ``question`` in; the cited answer and its sources out.

        The tool's content is the answer text followed by one ``[n] source: "quote"`` line a
        citation; its artifact is the :class:`Answer`. (``graph.as_tool()`` from LangGraph asks for
        every input key, the optional budget and messages included.)
        """

        def ask_documents(question: str) -> tuple[str, Answer]:
            answer = self.ask(question)
            lines = [f'[{c.marker}] {c.source}: "{c.quote}"' for c in answer.citations]
            return "\n".join([answer.text, *lines]), answer

        return StructuredTool.from_function(ask_documents, name=name, description=description,
                                            response_format="content_and_artifact")

    def run_settings(self, settings: Mapping[str, Any] | None) -> dict[str, Any]:
        """``settings`` checked as overrides of this agent's config (unknown names and bad values are errors)."""
        if not settings:
            return {}
        unknown = sorted(set(settings) - set(RAGConfig.model_fields))
        if unknown:
            raise ConfigurationError(f"unknown graph setting(s): {', '.join(unknown)}")
        for name, value in settings.items():
            if isinstance(value, str):
                require_valid_unicode(value, f"the run setting {name}")
        self.config.override(settings)  # validates
        return dict(settings)

    def _one_off(
        self, question: str, budget: Budget | None, history: list[Turn] | None, events: bool,
        settings: Mapping[str, Any] | None = None, config: RunnableConfig | None = None,
    ) -> Iterator[Any]:
        """A question outside any thread; a follow-up of ``history`` is rewritten first."""
        overrides = self.run_settings(settings)
        tracing = tracing_config(config)
        graph_input = self.graph_input(question, budget)
        message = graph_input["question"]
        graph_input["question"], cost = rewrite_follow_up(self.model, message, history or [])
        for event in self._run_once(self.graph, graph_input, self._one_off_config(overrides, tracing), events):
            if isinstance(event, FinalAnswer):
                event = FinalAnswer(answer=with_rewrite(event.answer, message, cost))
            yield event

    def _run_once(self, graph: Any, graph_input: dict[str, Any], config: dict[str, Any] | None, events: bool) -> Iterator[Any]:
        """One run outside any thread: all its events, or only the ``FinalAnswer``."""
        if events:
            yield from stream_events(graph, graph_input, config, **self._durability)
        else:
            yield FinalAnswer(answer=graph.invoke(graph_input, config, **self._durability)["answer"])

    def _one_off_config(
        self, overrides: Mapping[str, Any] | None = None, tracing: Mapping[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        """The run's overrides and tracing; a checkpointed graph needs a thread id even for a one-off question: a fresh one."""
        configurable = dict(overrides or {})
        if self.checkpointer is not None:
            configurable["thread_id"] = f"one-off/{uuid.uuid4().hex}"
        config = {**(tracing or {}), **({"configurable": configurable} if configurable else {})}
        return config or None

    @property
    def _durability(self) -> dict[str, Any]:
        """With a checkpointer, each step is saved before the next starts, so a kill loses no finished step."""
        return {"durability": "sync"} if self.checkpointer is not None else {}

    @property
    def conversation(self) -> Conversation:
        if self._conversation is None:
            raise ConfigurationError("chat threads and resume need a checkpointer: Agent(..., checkpointer=...)")
        return self._conversation

    def chat(
        self, message: str, *, thread_id: str, budget: Budget | None = None, settings: Mapping[str, Any] | None = None,
        config: RunnableConfig | None = None,
    ) -> Answer:
        """Answer ``message`` as the next turn of ``thread_id``.

        A follow-up ("and who leads it?") is first rewritten into a standalone question from the
        thread's history (one model call); ``Answer.question`` holds the rewritten question. The
        run is checkpointed step by step, so :meth:`resume` can finish it if the process dies.
        """
        return _final(self.conversation.run_turn(message, thread_id, self.graph_input(message, budget), events=False,
                                                 settings=self.run_settings(settings), tracing=tracing_config(config)))

    def resume(self, thread_id: str) -> Answer:
        """Finish the thread's interrupted run (a question's or a research run's) from its last finished step."""
        pending = self.conversation.pending(thread_id) or {}
        if pending.get("graph") == "research" and self.graph_name != "research":
            return self.resume_research(thread_id)
        return self.conversation.resume(thread_id)

    def history(self, thread_id: str) -> list[dict[str, str]]:
        """The thread's finished turns: ``message``, standalone ``question`` and ``answer``."""
        return [dict(t) for t in self.conversation.turns(thread_id)]

    def stream(
        self, question: str, *, budget: Budget | None = None, thread_id: str | None = None,
        history: list[Turn] | None = None, settings: Mapping[str, Any] | None = None, config: RunnableConfig | None = None,
    ) -> Iterator[Any]:
        """Yield typed events (:mod:`agentic_rag.events`) as the run goes; the last is a ``FinalAnswer``."""
        if thread_id is not None:
            yield from self.conversation.run_turn(question, thread_id, self.graph_input(question, budget),
                                                  settings=self.run_settings(settings), tracing=tracing_config(config))
        else:
            yield from self._one_off(question, budget, history, events=True, settings=settings, config=config)

    # -- research --------------------------------------------------------------------------------

    def research(
        self, question: str, *, budget: Budget | None = None, thread_id: str | None = None,
        settings: Mapping[str, Any] | None = None, config: RunnableConfig | None = None,
    ) -> Answer:
        """Research ``question`` and return a cited report (``Answer.style == "report"``).

        The question is split into sub-questions, each researched by the agentic loop in parallel
        within a share of ``budget`` (default: :func:`~agentic_rag.graphs.default_research_budget`),
        and the findings become a report: a summary, a section a sub-question, references, every
        claim checked. With ``thread_id`` (needs a checkpointer) the report is a turn of that
        thread and a killed run resumes with :meth:`resume_research`.
        """
        return _final(self.stream_research(question, budget=budget, thread_id=thread_id, events=False, settings=settings,
                                           config=config))

    def stream_research(
        self, question: str, *, budget: Budget | None = None, thread_id: str | None = None, events: bool = True,
        settings: Mapping[str, Any] | None = None, config: RunnableConfig | None = None,
    ) -> Iterator[Any]:
        """Yield the research run's events (plan, each sub-question's steps and answer); a ``FinalAnswer`` last."""
        graph, conversation = self._research_graph()
        overrides, tracing = self.run_settings(settings), tracing_config(config)
        graph_input = self.graph_input(question, budget or default_research_budget(self.config))
        if thread_id is not None:
            if conversation is None:
                raise ConfigurationError("research threads need a checkpointer: Agent(..., checkpointer=...)")
            yield from conversation.run_turn(question, thread_id, graph_input, events=events, settings=overrides,
                                             tracing=tracing)
            return
        yield from self._run_once(graph, graph_input, self._one_off_config(overrides, tracing), events)

    def resume_research(self, thread_id: str) -> Answer:
        """Finish the thread's interrupted research run; finished sub-questions are not run again."""
        _, conversation = self._research_graph()
        if conversation is None:
            raise ConfigurationError("resuming research needs a checkpointer: Agent(..., checkpointer=...)")
        return conversation.resume(thread_id)

    def _research_graph(self) -> tuple[Any, Conversation | None]:
        """The research graph over this agent's model, tools and settings, built on first use."""
        if self.graph_name == "research":
            return self.graph, self._conversation
        if self._research is None:
            graph = build_graph("research", self.model, self.tools, self.config, checkpointer=self.checkpointer)
            conversation = Conversation(self.model, graph, self.checkpointer) if self.checkpointer is not None else None
            self._research = (graph, conversation)
        return self._research

    async def astream(
        self, question: str, *, budget: Budget | None = None, thread_id: str | None = None,
        settings: Mapping[str, Any] | None = None, config: RunnableConfig | None = None,
    ) -> AsyncIterator[Any]:
        """Like :meth:`stream`, for asyncio applications.

        Without a checkpointer the graph runs on LangGraph's async API. With one, the run goes
        through the synchronous path in a worker thread, so any checkpointer works (SQLite's is
        synchronous); events arrive as they happen either way. That path calls the model's and the
        tools' sync API (a tool with only an async implementation still runs, on a loop of its own).
        """
        if self.checkpointer is None and thread_id is None:
            translator = EventTranslator()
            run_config = self._one_off_config(self.run_settings(settings), tracing_config(config))
            async for mode, chunk in self.graph.astream(self.graph_input(question, budget), run_config,
                                                        stream_mode=STREAM_MODES):
                for event in translator.translate(mode, chunk):
                    yield event
            return
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

        def work() -> None:
            try:
                for event in self.stream(question, budget=budget, thread_id=thread_id, settings=settings, config=config):
                    loop.call_soon_threadsafe(queue.put_nowait, ("event", event))
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting side
                loop.call_soon_threadsafe(queue.put_nowait, ("error", exc))
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, ("done", None))

        threading.Thread(target=work, name="agentic-rag-run", daemon=True).start()
        while True:
            kind, value = await queue.get()
            if kind == "event":
                yield value
            elif kind == "error":
                raise value
            else:
                return

    async def aask(
        self, question: str, *, budget: Budget | None = None, thread_id: str | None = None,
        settings: Mapping[str, Any] | None = None, config: RunnableConfig | None = None,
    ) -> Answer:
        """Like :meth:`ask`, for asyncio applications (see :meth:`astream` on checkpointers)."""
        if self.checkpointer is None and thread_id is None:
            run_config = self._one_off_config(self.run_settings(settings), tracing_config(config))
            return (await self.graph.ainvoke(self.graph_input(question, budget), run_config))["answer"]
        return await asyncio.to_thread(self.ask, question, budget=budget, thread_id=thread_id, settings=settings,
                                       config=config)


_TRACING_KEYS = ("callbacks", "tags", "metadata", "run_name", "max_concurrency")


def tracing_config(config: Mapping[str, Any] | None) -> dict[str, Any]:
    """The parts of a caller's LangChain run config a run takes: callbacks, tags, metadata, run name.

    Graph settings go in ``settings``, thread ids in ``thread_id``: a ``configurable`` part (or any
    other key) is an error rather than a setting that is quietly dropped.
    """
    if not config:
        return {}
    if not isinstance(config, Mapping):
        raise ConfigurationError(f"config must be a LangChain run config (a mapping), not {type(config).__name__}")
    other = sorted(set(config) - set(_TRACING_KEYS))
    if other:
        raise ConfigurationError(
            f"config takes {', '.join(_TRACING_KEYS)}; not {', '.join(other)} (graph settings go in settings=, "
            "a thread in thread_id=)"
        )
    return {key: config[key] for key in _TRACING_KEYS if config.get(key) is not None}


def _final(events: Iterator[Any]) -> Answer:
    """The answer of the last event of a run."""
    final = None
    for event in events:
        final = event
    if not isinstance(final, FinalAnswer):
        raise RuntimeError("the run ended without an answer")
    return final.answer
