"""The node functions both graphs are built from.

:class:`RAGNodes` holds what the nodes need (chat model, tools, :class:`RAGConfig`); each public
method is a LangGraph node: it reads the state and returns only the keys it changes. The methods
that call the model or a tool are generators of those calls (:mod:`~agentic_rag.graphs.effects`):
add them to a graph of your own as ``graph.add_node("judge", node(nodes.judge))``. A node reads
the settings of its run (the graph's, with the run's overrides); the decisions it acts on are in
:mod:`~agentic_rag.graphs.decisions`.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from agentic_rag.answer import Answer, Citation, Claim, ExitReason, Usage
from agentic_rag.errors import ConfigurationError
from agentic_rag.evidence import Evidence
from agentic_rag.graphs import decisions, prompts
from agentic_rag.graphs.budget import Budget, exhausted
from agentic_rag._text import one_line
from agentic_rag.graphs.claims import attribute_uncited, check_claims, drop_unsupported
from agentic_rag.graphs.citations import best_quote, check_citations, covers_question, format_passages, question_coverage
from agentic_rag.graphs.config import RAGConfig
from agentic_rag.graphs.effects import Both, Effects
from agentic_rag.graphs.llm import prompt_messages, structured_call, text_call
from agentic_rag.graphs.comparison import comparison_of
from agentic_rag.graphs.readers import ShortReading, append_markers, write_comparison
from agentic_rag.graphs.question_shape import compared_entities, looks_single_hop, multi_hop_signs
from agentic_rag.graphs.schemas import AnswerReply, JudgeReply, SupportReply, plan_schema
from agentic_rag.graphs.state import RESET, JudgeDraft, RAGState, question_of, reply_message
from agentic_rag.graphs.tool_calls import ToolResult, acall_tool, call_tool, is_transient
from agentic_rag.steps import (
    AnswerDetail,
    JudgeDetail,
    PlanDetail,
    RefineDetail,
    SearchDetail,
    SearchRequest,
    Step,
    normalise_query,
)
from agentic_rag.tools.adapters import as_tool, query_tools

__all__ = ["RAGNodes", "append_markers", "is_transient", "normalise_query", "prompt_messages"]

logger = logging.getLogger(__name__)
_MARKERS = re.compile(r"\[\d+\]")


def _value_citations(citations: list[Citation], passages: list[Evidence], support: dict[int, str]) -> list[Citation]:
    """A decided comparison's citations, each for the value its passage writes ("Casa Gaivota: 70").

    The answer names the winner only; the loser's passage holds the other value, which the code
    checked it writes, so that is the claim its citation supports and the sentence it quotes.
    """
    numbers = {e.id: n for n, e in enumerate(passages, start=1)}
    changed = []
    for citation in citations:
        held = support.get(numbers.get(citation.evidence_id, 0))
        if held is None:
            changed.append(citation)
            continue
        quote, span = best_quote(passages[numbers[citation.evidence_id] - 1], held)
        changed.append(citation.model_copy(update={"claim": held, "quote": quote, "span": span, "supported": True}))
    return changed


def _usage(state: RAGState) -> Usage:
    return state.get("usage") or Usage()


class RAGNodes:
    """Node functions over one chat model, a set of tools and the graph's :class:`RAGConfig`."""

    def __init__(self, model: BaseChatModel, tools: list[Any], config: RAGConfig | None = None) -> None:
        self.model = model
        self.tools = [as_tool(t) for t in tools]
        self.search_tools = query_tools(self.tools)
        if not self.search_tools:
            raise ConfigurationError("the graph needs at least one tool that takes a `query` argument")
        self.tools_by_name = {t.name: t for t in self.tools}
        self.plan_schema = plan_schema([t.name for t in self.search_tools])
        self.config = self._checked(config or RAGConfig())

    def _checked(self, config: RAGConfig) -> RAGConfig:
        names = [t.name for t in self.search_tools]
        unknown = [n for n in config.follow_up_tools or () if n not in names]
        if unknown:
            raise ConfigurationError(f"follow_up_tools names no query tool: {', '.join(unknown)}")
        return config

    def _settings(self, runtime: Runtime[Any] | None, config: RunnableConfig | None) -> RAGConfig:
        """The run's settings: the graph's config with the run's overrides."""
        context = getattr(runtime, "context", None)
        if context is None and not (config or {}).get("configurable"):
            return self.config
        settings = self.config.for_run(context, config)
        return self.config if settings is self.config else self._checked(settings)

    @property
    def default_tool(self) -> str:
        return self.search_tools[0].name

    def _follow_up_tools(self, settings: RAGConfig) -> list[str]:
        return list(settings.follow_up_tools or [self.default_tool])

    # -- budget --------------------------------------------------------------------------------

    @staticmethod
    def _exhausted(
        state: RAGState, *, reserve_llm_calls: int = 0, next_tool_calls: int = 0, new_round: bool = False
    ) -> ExitReason | None:
        """The budget part that stops the next step; rounds count only when it would start a new round."""
        return exhausted(
            state.get("budget") or Budget(),
            _usage(state),
            rounds=state.get("rounds", 0) if new_round else 0,
            started_at=state.get("started_at", time.time()),
            reserve_llm_calls=reserve_llm_calls,
            next_tool_calls=next_tool_calls,
        )

    @staticmethod
    def _attempts(state: RAGState, settings: RAGConfig, reserve_llm_calls: int) -> int:
        """Tries one model call may use (retries count against the LLM-call budget); at least one."""
        budget = state.get("budget") or Budget()
        left = budget.max_llm_calls - _usage(state).llm_calls - reserve_llm_calls
        return max(1, min(settings.structured_attempts, left))

    # -- nodes ---------------------------------------------------------------------------------

    def start(self, state: RAGState) -> dict[str, Any]:
        """Check the input and start the clock; the question is kept on one line, as every prompt shows it."""
        asked, from_messages = question_of(state)
        question = one_line(asked)
        if not question:
            raise ConfigurationError("the question is empty")
        budget = state.get("budget") or Budget()
        if isinstance(budget, dict):
            budget = Budget.model_validate(budget)
        # Every per-run key starts afresh, so a thread's earlier run (Studio, chat) leaves nothing behind.
        return {
            "question": question, "budget": budget, "started_at": time.time(), "rounds": 0, "exit_reason": None,
            "evidence": RESET, "queries_run": RESET, "usage": RESET, "steps": RESET, "pending": [],
            "relevant_ids": [], "new_ids": [], "sufficient": False, "draft": None, "answer": None,
            "messages_seen": len(state.get("messages") or []), "from_messages": from_messages,
        }

    def plan(self, state: RAGState, config: RunnableConfig, runtime: Runtime[Any]) -> Effects[dict[str, Any]]:
        """Decide whether to search and with which first queries (one structured LLM call)."""
        settings = self._settings(runtime, config)
        question = state["question"]
        fallback = self._with_entity_searches([SearchRequest(tool=self.default_tool, query=question)], question, settings)
        if not settings.planner:
            return {"pending": fallback, "steps": [Step(kind="plan", detail=PlanDetail(searches=fallback))]}
        if self._exhausted(state, reserve_llm_calls=1) is not None:
            step = Step(kind="plan", detail=PlanDetail(searches=fallback, skipped="budget"))
            return {"pending": fallback, "steps": [step]}
        tools = "\n".join(f"- {t.name}: {t.description.splitlines()[0] if t.description else ''}" for t in self.search_tools)
        result = yield from structured_call(
            self.model,
            self.plan_schema,
            prompt_messages(prompts.PLAN.format(tools=tools, question=question)),
            attempts=self._attempts(state, settings, reserve_llm_calls=1),
        )
        if result.value is None:
            step = Step(kind="plan", detail=PlanDetail(searches=fallback, error=result.error), usage=result.usage)
            return {"pending": fallback, "usage": result.usage, "steps": [step]}
        if not result.value.searches:
            step = Step(kind="plan", detail=PlanDetail(searches=[]), usage=result.usage)
            return {"pending": [], "usage": result.usage, "steps": [step], "exit_reason": ExitReason.NO_RETRIEVAL_NEEDED}
        searches: list[SearchRequest] = []
        for chosen in result.value.searches:
            request = SearchRequest(tool=chosen.tool, query=chosen.query.strip())
            if request.query and request.key() not in {r.key() for r in searches}:
                searches.append(request)
        searches = self._with_entity_searches(searches, question, settings) if searches else fallback
        step = Step(kind="plan", detail=PlanDetail(searches=searches), usage=result.usage)
        return {"pending": searches, "usage": result.usage, "steps": [step]}

    def _with_entity_searches(
        self, searches: list[SearchRequest], question: str, settings: RAGConfig
    ) -> list[SearchRequest]:
        """``searches`` and, for a comparison, one search for each name it compares (see :func:`compared_entities`)."""
        if not settings.entity_searches:
            return searches
        more = [SearchRequest(tool=self.default_tool, query=name) for name in compared_entities(question)]
        return list({r.key(): r for r in [*searches, *more]}.values())

    def search(self, state: RAGState, config: RunnableConfig, runtime: Runtime[Any]) -> Effects[dict[str, Any]]:
        """Run the pending searches in parallel; keep only evidence not seen before."""
        settings = self._settings(runtime, config)
        done = {r.key() for r in state.get("queries_run") or []}
        budget = state.get("budget") or Budget()
        room = None if budget.max_tool_calls is None else max(budget.max_tool_calls - _usage(state).tool_calls, 0)
        todo: list[SearchRequest] = []
        for request in state.get("pending") or []:
            if request.key() in done or request.tool not in self.tools_by_name:
                continue
            done.add(request.key())
            todo.append(request)
        if room is not None:
            todo = todo[:room]
        writer = getattr(runtime, "stream_writer", None) or (lambda _: None)
        for request in todo:
            writer({"event": "tool_started", "tool": request.tool, "query": request.query})

        # The run's callbacks, tags and metadata reach every tool call (tracing sees each search); not
        # its graph internals, which would make a tool that is itself a graph a child of this one.
        tool_config: RunnableConfig = {key: config[key] for key in ("callbacks", "tags", "metadata") if config.get(key)}

        options: dict[str, Any] = dict(k=settings.k, attempts=settings.tool_attempts, retry_wait=settings.tool_retry_wait,
                                       config=tool_config, filters=settings.filters)

        def run(request: SearchRequest) -> ToolResult:
            return call_tool(self.tools_by_name[request.tool], request.query, **options)

        def run_all() -> list[ToolResult]:
            with ThreadPoolExecutor(max_workers=max(len(todo), 1)) as pool:
                return list(pool.map(run, todo))

        async def arun_all() -> list[ToolResult]:
            return list(await asyncio.gather(*(acall_tool(self.tools_by_name[r.tool], r.query, **options) for r in todo)))

        results = yield Both(run_all, arun_all)
        known = state.get("evidence") or {}
        found: dict[str, Evidence] = {}
        # A passage whose every chunk was read already (alone or in a section read before) is not new.
        read = {chunk for e in known.values() for chunk in e.chunk_ids}
        # rank by rank across the searches: the best of each search comes before the second best of any
        for rank in range(max((len(evidence) for evidence, _, _ in results), default=0)):
            for evidence, _, _ in results:
                if rank < len(evidence) and evidence[rank].id not in known and evidence[rank].id not in found:
                    if not set(evidence[rank].chunk_ids) <= read:
                        found[evidence[rank].id] = evidence[rank]
                        read.update(evidence[rank].chunk_ids)
        steps = []
        for request, (evidence, error, seconds) in zip(todo, results):
            detail = SearchDetail(tool=request.tool, query=request.query, found=[e.id for e in evidence],
                                  seconds=round(seconds, 4), error=error)
            steps.append(Step(kind="search", detail=detail))
        update: dict[str, Any] = {
            "pending": [],
            "queries_run": todo,
            "evidence": found,
            "new_ids": list(found),
            "rounds": state.get("rounds", 0) + 1,
            "usage": Usage(tool_calls=len(todo)),
            "steps": steps,
        }
        if not found:
            update["exit_reason"] = ExitReason.NO_NEW_EVIDENCE if known else ExitReason.NO_EVIDENCE
        return update

    def retrieve(self, state: RAGState, config: RunnableConfig, runtime: Runtime[Any]) -> Effects[dict[str, Any]]:
        """Traditional RAG: one search with the question; everything found counts as relevant."""
        pending = [SearchRequest(tool=self.default_tool, query=state["question"])]
        update = yield from self.search({**state, "pending": pending}, config, runtime)
        update["relevant_ids"] = list(update["evidence"])
        update.pop("exit_reason", None)
        if not update["evidence"]:
            update["exit_reason"] = ExitReason.NO_EVIDENCE
        return update

    def judge(self, state: RAGState, config: RunnableConfig, runtime: Runtime[Any]) -> Effects[dict[str, Any]]:
        """Say which passages are relevant, whether they suffice, and what to search next."""
        settings = self._settings(runtime, config)
        evidence = state.get("evidence") or {}
        relevant = [i for i in state.get("relevant_ids") or [] if i in evidence]
        # everything found, in reading order (see decisions.reading_order): each judge's prompt extends the
        # last one's and the answer's extends the judge's, so llama.cpp reuses the cached prefix
        candidates = decisions.reading_order(
            list(evidence), [*relevant, *(state.get("new_ids") or [])], settings.max_judged
        )
        reason = self._exhausted(state, reserve_llm_calls=1)
        if reason is not None:
            step = Step(kind="judge", detail=JudgeDetail(skipped=reason.value))
            return {"relevant_ids": candidates, "exit_reason": reason, "steps": [step]}
        queries_run = state.get("queries_run") or []
        user = prompts.JUDGE.format(
            passages=format_passages([evidence[i] for i in candidates], settings.passage_chars),
            question=state["question"],
            answer_rule=prompts.ANSWER_RULE,
            previous=prompts.JUDGE_PREVIOUS.format(queries="; ".join(normalise_query(r.query) for r in queries_run))
            if queries_run else "",
        )
        result = yield from structured_call(
            self.model, JudgeReply, prompt_messages(user), attempts=self._attempts(state, settings, reserve_llm_calls=1)
        )
        if result.value is None:
            detail = JudgeDetail(error=result.error, relevant=candidates, sufficient=False)
            return {"relevant_ids": candidates, "sufficient": False, "usage": result.usage,
                    "steps": [Step(kind="judge", detail=detail, usage=result.usage)]}
        reply: JudgeReply = result.value
        cited = [candidates[n - 1] for n in reply.relevant() if 1 <= n <= len(candidates)]
        chosen = list(dict.fromkeys(relevant + cited))
        query = _MARKERS.sub("", reply.next_query).strip()
        follow_up = SearchRequest(tool=self.default_tool, query=query)
        asks_more = bool(normalise_query(query)) and follow_up.key() not in {r.key() for r in queries_run}
        draft_answer = _MARKERS.sub("", reply.answer).strip()
        previous = state.get("draft")
        cited_passages = [evidence[i] for i in cited]
        answered = bool(draft_answer) and bool(cited)
        first_round = state.get("rounds", 0) <= 1
        wording = JudgeDetail()
        if settings.adaptive and first_round and answered and settings.single_hop is not None:
            wording = _wording_check(settings, state["question"])
        outcome = decisions.judge_outcome(
            draft_answer=draft_answer,
            cited=len(cited),
            asks_more=asks_more,
            previous_answer=previous.answer if previous else "",
            asks_unsearched=asks_more and decisions.names_unsearched(query, [r.query for r in queries_run]),
            adaptive=settings.adaptive,
            first_round=first_round,
            single_hop=bool(wording.single_hop),
            passages_cover_question=answered and covers_question(state["question"], cited_passages, settings.direct_coverage),
        )
        draft = (
            JudgeDraft(answer=draft_answer, sources=cited, asks_nothing_more=not asks_more, final=outcome.final)
            if outcome.answered else previous
        )
        detail = wording.model_copy(update={
            "relevant": chosen, "draft_answer": reply.answer, "missing": reply.missing, "sufficient": outcome.sufficient,
            "next_query": query,
            "coverage": round(question_coverage(state["question"], cited_passages) if answered else 0.0, 3),
        })
        pending = [SearchRequest(tool=t, query=query) for t in self._follow_up_tools(settings)]
        return {
            "relevant_ids": chosen,
            "sufficient": outcome.sufficient,
            "draft": draft,
            "pending": pending if asks_more and not outcome.sufficient else [],
            "usage": result.usage,
            "steps": [Step(kind="judge", detail=detail, usage=result.usage)],
            **({"exit_reason": ExitReason.ANSWERED} if outcome.sufficient else {}),
        }

    def refine(self, state: RAGState) -> dict[str, Any]:
        """Keep only new queries for the gap; stop when none is left or the budget cannot pay for a round."""
        fresh = decisions.fresh_searches(state.get("pending") or [], state.get("queries_run") or [])
        # another round needs its judge call now and the answer call kept back: two calls in all
        reason = self._exhausted(state, reserve_llm_calls=1, next_tool_calls=len(fresh), new_round=True)
        if not fresh:
            reason = reason or ExitReason.NO_NEW_EVIDENCE
        if reason is not None:
            return {"pending": [], "exit_reason": reason, "steps": [Step(kind="refine", detail=RefineDetail(stop=reason.value))]}
        return {"pending": fresh, "steps": [Step(kind="refine", detail=RefineDetail(searches=fresh))]}

    def answer(self, state: RAGState, config: RunnableConfig, runtime: Runtime[Any]) -> Effects[dict[str, Any]]:
        """Write the answer and check its citation markers.

        One structured call answers from everything found. A first-round judge answer whose cited
        passages cover the question (``adaptive``) is used as is instead, and with
        ``answer_from_judge`` so is a judge's answer that asked for nothing more.
        """
        settings = self._settings(runtime, config)
        evidence = state.get("evidence") or {}
        passage_ids = decisions.reading_order(list(evidence), state.get("relevant_ids") or [], settings.answer_passages())
        passages = [evidence[i] for i in passage_ids]
        exit_reason = state.get("exit_reason")
        draft = state.get("draft")
        path = decisions.answer_path(
            sufficient=bool(state.get("sufficient")),
            draft_is_final=bool(draft and draft.final),
            draft_asks_nothing_more=bool(draft and draft.asks_nothing_more),
            answer_from_judge=settings.answer_from_judge,
            short_answer=settings.style == "short",
            draft_sources_found=bool(draft and draft.answer and all(i in evidence for i in draft.sources)),
            has_passages=bool(passages),
            retrieval_needed=exit_reason != ExitReason.NO_RETRIEVAL_NEEDED,
        )
        usage = Usage()
        invalid: list[int] = []
        citations: list[Citation] = []
        attributed: list[str] = []  # claims the model left uncited and the checker gave a passage
        detailed = settings.style != "short"
        compared = yield from self._compare(state, settings, passages, path)
        if compared is not None and compared.answer is not None:
            text, citations, invalid = check_citations(compared.text, passages)
            citations = _value_citations(citations, passages, compared.support)
        elif path == "judge_draft" and draft is not None:
            numbers = {e.id: n for n, e in enumerate(passages, start=1)}
            text = append_markers(draft.answer, [numbers[i] for i in draft.sources if i in numbers])
            text, citations, invalid = check_citations(text, passages)
        elif path == "not_found":
            text = prompts.NO_ANSWER
            exit_reason = ExitReason.NO_EVIDENCE if exit_reason in (None, ExitReason.ANSWERED) or not evidence else exit_reason
        elif path == "without_passages":
            result = yield from text_call(self.model, prompt_messages(state["question"]), attempts=self._attempts(state, settings, 0))
            usage = result.usage
            if result.value is None:
                text = f"The model failed to write an answer ({result.error})."
                exit_reason = ExitReason.ERROR
            else:
                text = result.value.strip()
        else:
            write = self._write_detailed if detailed else self._write_from_passages
            so_far = state if compared is None else {**state, "usage": _usage(state) + compared.usage}
            written, usage, error = yield from write(so_far, settings, passages)
            if written is None:
                text = f"The model failed to write an answer ({error})."
                exit_reason = ExitReason.ERROR
            else:
                if detailed:  # a sentence the model left uncited gets the passage that states it, if one does
                    written, attributed = attribute_uncited(written, passages)
                text, citations, invalid = check_citations(written, passages, renumber_markers=not detailed)
        if compared is not None:
            usage = compared.usage + usage
        claims = self._claims(text, citations, passages)
        if attributed:
            claims = [c.model_copy(update={"attributed": True}) if c.text in attributed else c for c in claims]
        if settings.strict and any(not c.supported for c in claims):
            text = drop_unsupported(text, claims) or prompts.NO_ANSWER
            claims = self._claims(text, citations, passages)
            kept = {n for c in claims for n in c.markers}
            citations = [c for c in citations if c.marker in kept]
        if settings.citation_check == "llm" and claims and not detailed:
            citations, check_usage = yield from self._check_citations_with_model(state, settings, citations, usage)
            claims = _claims_from_citations(claims, citations)
            usage = usage + check_usage
        elif settings.citation_check == "llm" and claims:
            claims, citations, check_usage = yield from self._check_with_model(state, settings, claims, citations, usage)
            usage = usage + check_usage
        return self._finish(state, settings, text, citations, claims, invalid, exit_reason, usage, passage_ids,
                            compared=compared.note if compared is not None else None)

    def _compare(
        self, state: RAGState, settings: RAGConfig, passages: list[Evidence], path: decisions.AnswerPath,
    ) -> Effects[ShortReading | None]:
        """For a short answer to a comparison the code can decide, the model's values and the code's answer.

        ``None`` when the question is no such comparison or the budget cannot pay for the call and
        for the answer call that may follow it; a reading without an answer when the values did
        not settle it (the answer is then written as usual).
        """
        if settings.style != "short" or not settings.compare_values or path not in ("judge_draft", "from_passages"):
            return None
        comparison = comparison_of(state["question"])
        # this call, and the answer call if the values do not settle it (a judge's draft needs none)
        if comparison is None or self._exhausted(state, reserve_llm_calls=0 if path == "judge_draft" else 1) is not None:
            return None
        return (yield from write_comparison(self.model, comparison, state["question"], passages,
                                            passage_chars=settings.passage_chars))

    @staticmethod
    def _claims(text: str, citations: list[Citation], passages: list[Evidence]) -> list[Claim]:
        """The claims of the final text, their markers read through the citations to the passages."""
        by_id = {e.id: e for e in passages}
        marked = {c.marker: by_id[c.evidence_id] for c in citations if c.evidence_id in by_id}
        return check_claims(text, marked) if marked or text != prompts.NO_ANSWER else []

    # -- answer parts ----------------------------------------------------------------------------

    def _write_from_passages(
        self, state: RAGState, settings: RAGConfig, passages: list[Evidence]
    ) -> Effects[tuple[str | None, Usage, str | None]]:
        """The answer call over ``passages``: structured, then plain text if that gave nothing usable."""
        numbered = format_passages(passages, settings.passage_chars)
        user = prompts.ANSWER.format(passages=numbered, question=state["question"], answer_rule=prompts.ANSWER_RULE)
        result = yield from structured_call(self.model, AnswerReply, prompt_messages(user), attempts=self._attempts(state, settings, 0))
        usage, error = result.usage, result.error
        written = None if result.value is None else append_markers(result.value.answer, result.value.sources)
        if written is None and not self._exhausted({**state, "usage": _usage(state) + usage}):
            # no usable structured output (a model without it, or malformed twice): ask for plain text
            user = prompts.ANSWER_TEXT.format(
                passages=numbered, question=state["question"], answer_rule=prompts.ANSWER_RULE, no_answer=prompts.NO_ANSWER
            )
            text_result = yield from text_call(self.model, prompt_messages(user), attempts=1)
            usage = usage + text_result.usage
            written = text_result.value.strip() if text_result.value else None
            error = error if written is not None else text_result.error
        return written, usage, error

    def _write_detailed(
        self, state: RAGState, settings: RAGConfig, passages: list[Evidence]
    ) -> Effects[tuple[str | None, Usage, str | None]]:
        """The detailed answer: plain Markdown with the passage numbers inline, streamed as it is written."""
        form = prompts.READER_FORM.format(instructions=" ".join(settings.instructions.split())) if settings.instructions else ""
        user = prompts.ANSWER_DETAILED.format(
            passages=format_passages(passages, settings.passage_chars), question=state["question"], form=form
        )
        result = yield from text_call(self.model, prompt_messages(user), attempts=self._attempts(state, settings, 0))
        written = (result.value or "").strip()
        return (written or None), result.usage, result.error or (None if written else "an empty answer")

    def _check_with_model(
        self, state: RAGState, settings: RAGConfig, claims: list[Claim], citations: list[Citation], spent: Usage,
    ) -> Effects[tuple[list[Claim], list[Citation], Usage]]:
        """Ask the model whether the cited passages state each cited claim (one call a claim, within the budget).

        A claim the model cannot check keeps its lexical flag. A citation is supported when every
        claim that cites it is.
        """
        by_marker = {c.marker: c.evidence_id for c in citations}
        evidence = state.get("evidence") or {}
        usage, checked = Usage(), []
        for claim in claims:
            so_far = {**state, "usage": _usage(state) + spent + usage}
            cited = [evidence[by_marker[n]] for n in claim.markers if by_marker.get(n) in evidence]
            if not cited or self._exhausted(so_far) is not None:
                checked.append(claim)
                continue
            passage = " ".join(item.short(settings.passage_chars // len(cited)).replace("\n", " ") for item in cited)
            user = prompts.SUPPORT.format(passage=passage, question=state["question"], claim=claim.text)
            result = yield from structured_call(self.model, SupportReply, prompt_messages(user), attempts=1)
            usage = usage + result.usage
            if result.value is None:
                checked.append(claim)
            else:
                checked.append(claim.model_copy(update={"supported": result.value.supported, "checked_by": "llm"}))
        updated = []
        for citation in citations:
            mine = [c for c in checked if citation.marker in c.markers and c.checked_by == "llm"]
            if mine:
                citation = citation.model_copy(update={"supported": all(c.supported for c in mine), "checked_by": "llm"})
            updated.append(citation)
        return checked, updated, usage

    def _check_citations_with_model(
        self, state: RAGState, settings: RAGConfig, citations: list[Citation], spent: Usage
    ) -> Effects[tuple[list[Citation], Usage]]:
        """A short answer's check: whether each cited passage states the answer (one call a citation, within the budget)."""
        evidence = state.get("evidence") or {}
        usage, checked = Usage(), []
        for citation in citations:
            so_far = {**state, "usage": _usage(state) + spent + usage}
            item = evidence.get(citation.evidence_id)
            if item is None or self._exhausted(so_far) is not None:
                checked.append(citation)
                continue
            user = prompts.SUPPORT.format(
                passage=item.short(settings.passage_chars).replace("\n", " "), question=state["question"], claim=citation.claim
            )
            result = yield from structured_call(self.model, SupportReply, prompt_messages(user), attempts=1)
            usage = usage + result.usage
            if result.value is None:
                checked.append(citation)
            else:
                checked.append(citation.model_copy(update={"supported": result.value.supported, "checked_by": "llm"}))
        return checked, usage

    @staticmethod
    def _finish(
        state: RAGState, settings: RAGConfig, text: str, citations: list[Citation], claims: list[Claim],
        invalid: list[int], exit_reason: ExitReason | None, usage: Usage, passage_ids: list[str],
        compared: str | None = None,
    ) -> dict[str, Any]:
        """The answer record: the run's total cost (wall-clock seconds) and every step."""
        call_usage = usage
        total = _usage(state) + usage
        wall = max(time.time() - state.get("started_at", time.time()), 0.0)
        usage = usage.model_copy(update={"seconds": usage.seconds + (wall - total.seconds)})
        total = total.model_copy(update={"seconds": wall})
        detail = AnswerDetail(passages=passage_ids, invalid_markers=invalid, compared=compared)
        step = Step(kind="answer", detail=detail, usage=call_usage)
        steps = [*(state.get("steps") or []), step]
        notice = prompts.BUDGET_NOTICE.format(reason=exit_reason.value) if exit_reason and exit_reason.is_budget else None
        if not state.get("evidence") and (failure := decisions.search_failure(steps)):
            notice, exit_reason = failure, ExitReason.ERROR  # a broken store, not an empty one
        elif not state.get("evidence") and (empty := decisions.nothing_found(steps, settings.filters)):
            notice = f"{notice} {empty}" if notice else empty
        elif partial := decisions.some_searches_failed(steps):
            notice = f"{notice} {partial}" if notice else partial
        answer = Answer(
            question=state["question"],
            text=text,
            citations=citations,
            exit_reason=exit_reason or ExitReason.ANSWERED,
            usage=total,
            invalid_markers=invalid,
            notice=notice,
            evidence_ids=list(state.get("evidence") or {}),
            steps=steps,
            claims=claims,
            style=settings.style,
        )
        return {"answer": answer, "usage": usage, "exit_reason": answer.exit_reason, "steps": steps[-1:],
                **reply_message(state, answer)}


def _claims_from_citations(claims: list[Claim], citations: list[Citation]) -> list[Claim]:
    """Claims whose citations the model checked take that verdict: supported when every citation is."""
    checked = {c.marker: c.supported for c in citations if c.checked_by == "llm"}
    return [
        claim.model_copy(update={"supported": all(checked[n] for n in claim.markers), "checked_by": "llm"})
        if claim.markers and all(n in checked for n in claim.markers) else claim
        for claim in claims
    ]


def _wording_check(settings: RAGConfig, question: str) -> JudgeDetail:
    """``single_hop`` on the question, as the judge step records it.

    A check that raises or answers with something other than a bool counts as "not single-hop"
    (the passage check still applies) and its error is recorded; the run goes on.
    """
    check = settings.single_hop
    if check is looks_single_hop:
        signs = multi_hop_signs(question)
        return JudgeDetail(single_hop=not signs, multi_hop_signs=signs)
    try:
        verdict = check(question)  # type: ignore[misc]
    except Exception as exc:  # noqa: BLE001 - a failing check of the user's must not end the run
        logger.warning("single_hop check failed on %r: %s", question, exc)
        return JudgeDetail(single_hop=False, single_hop_error=f"{type(exc).__name__}: {exc}")
    if not (isinstance(verdict, bool) or (type(verdict).__module__ == "numpy" and type(verdict).__name__ in ("bool", "bool_"))):
        logger.warning("single_hop check returned %s, not a bool", type(verdict).__name__)
        return JudgeDetail(single_hop=False, single_hop_error=f"returned {type(verdict).__name__}, not a bool")
    return JudgeDetail(single_hop=bool(verdict))
