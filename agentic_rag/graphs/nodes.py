"""The node functions both graphs are built from.

:class:`RAGNodes` holds what the nodes need (chat model, tools, settings); each public method is a
LangGraph node: it reads the state and returns only the keys it changes.
"""

from __future__ import annotations

import inspect
import logging
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.tools import BaseTool, ToolException
from langgraph.config import get_stream_writer
from pydantic import ValidationError
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from ..answer import Answer, ExitReason, Step, Usage
from ..errors import ConfigurationError
from ..evidence import Evidence
from ..tools.adapters import as_tool, query_tools, to_evidence
from . import prompts
from .budget import Budget, exhausted
from .citations import check_citations, covers_question, format_passages, question_coverage
from .llm import invoke_structured, invoke_text
from .question_shape import looks_single_hop, multi_hop_signs
from .schemas import FinalAnswer, Judgement, SupportCheck, plan_schema
from .state import RESET, RAGState

__all__ = ["RAGNodes", "normalise_query", "is_transient"]

logger = logging.getLogger(__name__)
_SPACES = re.compile(r"\s+")
_PUNCT = re.compile(r"[^\w\s]")
_MARKERS = re.compile(r"\[\d+\]")


def normalise_query(query: str) -> str:
    """Lower case, no punctuation, single spaces: two queries equal after this are the same query."""
    return _SPACES.sub(" ", _PUNCT.sub(" ", query.lower())).strip()


def _stream_writer() -> Any:
    """LangGraph's writer for custom stream events, or a no-op outside a streamed run."""
    try:
        return get_stream_writer()
    except Exception:  # noqa: BLE001 - not inside a runnable context (a node called directly)
        return lambda _: None


def is_transient(exc: BaseException) -> bool:
    """Whether a tool error may go away on a retry: not bad arguments or a tool's own refusal."""
    permanent = (ValueError, TypeError, KeyError, LookupError, ValidationError, ToolException, NotImplementedError)
    return isinstance(exc, Exception) and not isinstance(exc, permanent)


def _key(tool: str, query: str) -> str:
    return f"{tool}|{normalise_query(query)}"


class RAGNodes:
    """Node functions over one chat model and a set of tools.

    ``k`` is how many results each search asks for; ``passage_chars`` cuts passages in prompts;
    ``max_judged`` caps how many passages one judge call reads. With ``planner=False`` (the
    default) the first search is the question itself and costs no model call; with ``True`` a
    model call chooses the first searches and their tools. A tool call failing with a transient
    error (see :func:`is_transient`) is tried up to ``tool_attempts`` times, waiting
    ``tool_retry_wait`` seconds and doubling. The judge's follow-up query runs on
    ``follow_up_tools`` (default: the first query tool). With ``answer_from_judge=True`` a judge's
    answer that asks for nothing more is the final answer, saving the answer call; off by default,
    since on HotpotQA the 1.5B model's judge answers were worse than its answers to the answer prompt.
    ``adaptive`` (on by default) lets a cited judge answer stand without a confirming round, and in
    the first round makes it the final answer (one model call in all, as in the traditional graph),
    when the question looks single-hop or the cited passages hold the question's words.
    ``single_hop`` decides the first: by default
    :func:`~agentic_rag.graphs.question_shape.looks_single_hop`, a free look at the wording; or a
    plain function of your own from the question's text to a bool, called once, in the first round,
    when the judge has a cited answer (one that raises or returns something else counts as "no");
    or ``None`` to turn it off. The second holds, in any round, when the cited passages contain at
    least ``direct_coverage`` of the question's content words, its first one included
    (:func:`~agentic_rag.graphs.citations.covers_question`).
    ``citation_check="llm"`` asks the model, one call per citation within the budget, whether each
    cited passage states the answer (the default lexical check costs nothing).
    """

    def __init__(
        self,
        model: BaseChatModel,
        tools: list[Any],
        *,
        k: int = 4,
        passage_chars: int = 800,
        max_judged: int = 8,
        max_answer_passages: int = 8,
        structured_attempts: int = 2,
        planner: bool = False,
        tool_attempts: int = 3,
        tool_retry_wait: float = 0.5,
        follow_up_tools: list[str] | None = None,
        answer_from_judge: bool = False,
        adaptive: bool = True,
        direct_coverage: float = 0.75,
        single_hop: Callable[[str], bool] | None = looks_single_hop,
        citation_check: str = "lexical",
    ) -> None:
        self.model = model
        self.tools = [as_tool(t) for t in tools]
        self.search_tools = query_tools(self.tools)
        if not self.search_tools:
            raise ConfigurationError("the graph needs at least one tool that takes a `query` argument")
        self.tools_by_name = {t.name: t for t in self.tools}
        self.k = k
        self.passage_chars = passage_chars
        self.max_judged = max_judged
        self.max_answer_passages = max_answer_passages
        self.structured_attempts = structured_attempts
        self.planner = planner
        self.answer_from_judge = answer_from_judge
        if not 0.0 < direct_coverage <= 1.0:
            raise ConfigurationError(f"direct_coverage must be in (0, 1], not {direct_coverage!r}")
        self.adaptive = adaptive
        self.direct_coverage = direct_coverage
        if single_hop is not None and (not callable(single_hop) or inspect.iscoroutinefunction(single_hop)):
            raise ConfigurationError("single_hop must be a plain (not async) function of the question, or None")
        self.single_hop = single_hop
        if citation_check not in ("lexical", "llm"):
            raise ConfigurationError(f"citation_check must be 'lexical' or 'llm', not {citation_check!r}")
        self.citation_check = citation_check
        self.tool_attempts = max(1, tool_attempts)
        self.tool_retry_wait = tool_retry_wait
        self.plan_schema = plan_schema([t.name for t in self.search_tools])
        names = [t.name for t in self.search_tools]
        unknown = [n for n in follow_up_tools or [] if n not in names]
        if unknown:
            raise ConfigurationError(f"follow_up_tools names no query tool: {', '.join(unknown)}")
        self.follow_up_tools = list(dict.fromkeys(follow_up_tools or [self.default_tool]))

    # -- helpers -----------------------------------------------------------------------------

    @staticmethod
    def _messages(user: str) -> list[Any]:
        return [SystemMessage(content=prompts.SYSTEM), HumanMessage(content=user)]

    @staticmethod
    def _usage(state: RAGState) -> Usage:
        return state.get("usage") or Usage()

    def _exhausted(
        self, state: RAGState, *, reserve_llm_calls: int = 0, next_tool_calls: int = 0, new_round: bool = False
    ) -> ExitReason | None:
        """The budget part that stops the next step; rounds count only when it would start a new round."""
        return exhausted(
            state.get("budget") or Budget(),
            self._usage(state),
            rounds=state.get("rounds", 0) if new_round else 0,
            started_at=state.get("started_at", time.time()),
            reserve_llm_calls=reserve_llm_calls,
            next_tool_calls=next_tool_calls,
        )

    def _attempts(self, state: RAGState, reserve_llm_calls: int) -> int:
        """Tries one model call may use (retries count against the LLM-call budget); at least one."""
        budget = state.get("budget") or Budget()
        left = budget.max_llm_calls - self._usage(state).llm_calls - reserve_llm_calls
        return max(1, min(self.structured_attempts, left))

    @property
    def default_tool(self) -> str:
        return self.search_tools[0].name

    # -- nodes -------------------------------------------------------------------------------

    def start(self, state: RAGState) -> dict[str, Any]:
        """Check the input and start the clock."""
        question = (state.get("question") or "").strip()
        if not question:
            raise ConfigurationError("the question is empty")
        budget = state.get("budget") or Budget()
        if isinstance(budget, dict):
            budget = Budget.model_validate(budget)
        # Every per-run key starts afresh, so a thread's earlier run (Studio, chat) leaves nothing behind.
        return {
            "question": question, "budget": budget, "started_at": time.time(), "rounds": 0, "exit_reason": None,
            "evidence": RESET, "queries_run": RESET, "usage": RESET, "steps": RESET, "pending": [],
            "relevant_ids": [], "judged_ids": [], "new_ids": [], "sufficient": False, "draft": None, "answer": None,
        }

    def plan(self, state: RAGState) -> dict[str, Any]:
        """Decide whether to search and with which first queries (one structured LLM call)."""
        question = state["question"]
        fallback = [{"tool": self.default_tool, "query": question}]
        if not self.planner:
            return {"pending": fallback, "steps": [Step(kind="plan", detail={"searches": fallback})]}
        if self._exhausted(state, reserve_llm_calls=1) is not None:
            step = Step(kind="plan", detail={"searches": fallback, "skipped": "budget"})
            return {"pending": fallback, "steps": [step]}
        tools = "\n".join(f"- {t.name}: {t.description.splitlines()[0] if t.description else ''}" for t in self.search_tools)
        result = invoke_structured(
            self.model,
            self.plan_schema,
            self._messages(prompts.PLAN.format(tools=tools, question=question)),
            attempts=self._attempts(state, reserve_llm_calls=1),
        )
        if result.value is None:
            step = Step(kind="plan", detail={"searches": fallback, "error": result.error}, usage=result.usage)
            return {"pending": fallback, "usage": result.usage, "steps": [step]}
        plan = result.value
        if not plan.searches:
            step = Step(kind="plan", detail={"searches": []}, usage=result.usage)
            return {"pending": [], "usage": result.usage, "steps": [step], "exit_reason": ExitReason.NO_RETRIEVAL_NEEDED}
        searches, seen = [], set()
        for request in plan.searches:
            query = request.query.strip()
            if query and _key(request.tool, query) not in seen:
                seen.add(_key(request.tool, query))
                searches.append({"tool": request.tool, "query": query})
        searches = searches or fallback
        return {"pending": searches, "usage": result.usage, "steps": [Step(kind="plan", detail={"searches": searches}, usage=result.usage)]}

    def _call_tool(self, tool: BaseTool, query: str) -> tuple[list[Evidence], str | None, float]:
        """Call a tool; transient errors are retried with exponential backoff, then become an observation.

        Returns the evidence, the error (if it failed for good) and the seconds it took.
        """
        started = time.perf_counter()
        args: dict[str, Any] = {"query": query}
        if "k" in (tool.args or {}):
            args["k"] = self.k
        retrying = Retrying(
            stop=stop_after_attempt(self.tool_attempts),
            wait=wait_exponential(multiplier=self.tool_retry_wait, max=8 * self.tool_retry_wait),
            retry=retry_if_exception(is_transient),
            before_sleep=lambda rs: logger.info("tool %s failed (attempt %d), retrying: %s", tool.name, rs.attempt_number, rs.outcome.exception()),
            reraise=True,
        )
        try:
            return to_evidence(retrying(tool.invoke, args), tool.name), None, time.perf_counter() - started
        except Exception as exc:  # noqa: BLE001 - a failing tool is an observation, not the end of the run
            logger.warning("tool %s failed on %r: %s", tool.name, query, exc)
            return [], f"{type(exc).__name__}: {exc}", time.perf_counter() - started

    def search(self, state: RAGState) -> dict[str, Any]:
        """Run the pending searches in parallel; keep only evidence not seen before."""
        done = set(state.get("queries_run") or [])
        budget = state.get("budget") or Budget()
        used = self._usage(state).tool_calls
        room = None if budget.max_tool_calls is None else max(budget.max_tool_calls - used, 0)
        todo: list[dict[str, str]] = []
        for request in state.get("pending") or []:
            key = _key(request["tool"], request["query"])
            if key in done or request["tool"] not in self.tools_by_name:
                continue
            done.add(key)
            todo.append(request)
        if room is not None:
            todo = todo[:room]
        writer = _stream_writer()
        for request in todo:
            writer({"event": "tool_started", "tool": request["tool"], "query": request["query"]})
        with ThreadPoolExecutor(max_workers=max(len(todo), 1)) as pool:
            results = list(pool.map(lambda r: self._call_tool(self.tools_by_name[r["tool"]], r["query"]), todo))
        known = state.get("evidence") or {}
        found: dict[str, Evidence] = {}
        steps = []
        for request, (evidence, error, seconds) in zip(todo, results):
            ids = [e.id for e in evidence]
            for item in evidence:
                if item.id not in known:
                    found.setdefault(item.id, item)
            detail: dict[str, Any] = {**request, "found": ids, "seconds": round(seconds, 4)}
            if error:
                detail["error"] = error
            steps.append(Step(kind="search", detail=detail))
        update: dict[str, Any] = {
            "pending": [],
            "queries_run": [_key(r["tool"], r["query"]) for r in todo],
            "evidence": found,
            "new_ids": list(found),
            "rounds": state.get("rounds", 0) + 1,
            "usage": Usage(tool_calls=len(todo)),
            "steps": steps,
        }
        if not found:
            update["exit_reason"] = ExitReason.NO_NEW_EVIDENCE if known else ExitReason.NO_EVIDENCE
        return update

    def retrieve(self, state: RAGState) -> dict[str, Any]:
        """Traditional RAG: one search with the question; everything found counts as relevant."""
        update = self.search({**state, "pending": [{"tool": self.default_tool, "query": state["question"]}]})
        update["relevant_ids"] = list(update["evidence"])
        update.pop("exit_reason", None)
        if not update["evidence"]:
            update["exit_reason"] = ExitReason.NO_EVIDENCE
        return update

    def judge(self, state: RAGState) -> dict[str, Any]:
        """Say which passages are relevant, whether they suffice, and what to search next."""
        evidence = state.get("evidence") or {}
        relevant = [i for i in state.get("relevant_ids") or [] if i in evidence]
        new = [i for i in state.get("new_ids") or [] if i not in relevant]
        candidates = (relevant + new)[: self.max_judged]
        reason = self._exhausted(state, reserve_llm_calls=1)
        if reason is not None:
            step = Step(kind="judge", detail={"skipped": reason.value})
            return {"relevant_ids": candidates, "judged_ids": candidates, "exit_reason": reason, "steps": [step]}
        passages = [evidence[i] for i in candidates]
        queries = [q.split("|", 1)[1] for q in state.get("queries_run") or []]
        previous = prompts.JUDGE_PREVIOUS.format(queries="; ".join(queries)) if queries else ""
        user = prompts.JUDGE.format(
            passages=format_passages(passages, self.passage_chars),
            question=state["question"],
            answer_rule=prompts.ANSWER_RULE,
            previous=previous,
        )
        result = invoke_structured(
            self.model, Judgement, self._messages(user), attempts=self._attempts(state, reserve_llm_calls=1)
        )
        if result.value is None:
            step = Step(
                kind="judge", detail={"error": result.error, "relevant": candidates, "sufficient": False}, usage=result.usage
            )
            return {
                "relevant_ids": candidates, "judged_ids": candidates, "sufficient": False,
                "usage": result.usage, "steps": [step],
            }
        verdict: Judgement = result.value
        cited = [candidates[n - 1] for n in verdict.relevant() if 1 <= n <= len(candidates)]
        chosen = list(dict.fromkeys(relevant + cited))
        query = _MARKERS.sub("", verdict.next_query).strip()
        asks_more = bool(normalise_query(query)) and _key(self.default_tool, query) not in set(state.get("queries_run") or [])
        # An answer counts when a cited passage backs it. It ends the search when the judge asks for
        # no new search, or when it is the answer the previous round gave: the small model fills
        # ``next_query`` even when it has answered, so one more round has to confirm the answer.
        draft_answer = _MARKERS.sub("", verdict.answer).strip()
        previous_draft = state.get("draft") or {}
        answered = bool(draft_answer) and bool(cited)
        confirmed = normalise_query(draft_answer) == normalise_query(previous_draft.get("answer", ""))
        # Adaptive: a single-hop question, or cited passages that hold the question's words, back the
        # answer without a second round.
        cited_passages = [evidence[i] for i in cited]
        coverage = question_coverage(state["question"], cited_passages) if answered else 0.0
        first_round = state.get("rounds", 0) <= 1
        wording: dict[str, Any] = {}
        if self.adaptive and first_round and answered and self.single_hop is not None:
            wording = self._wording_check(state["question"])
        single_hop = wording.get("single_hop", False)
        covered = self.adaptive and answered and (
            single_hop or covers_question(state["question"], cited_passages, self.direct_coverage)
        )
        sufficient = answered and (not asks_more or confirmed or covered)
        # "final": the judge asked for nothing more, so its answer may be the answer (answer_from_judge);
        # "direct": enough in the first round, so its answer is the answer (no answer call).
        direct = covered and first_round
        draft = (
            {"answer": draft_answer, "sources": cited, "final": not asks_more, "direct": direct}
            if answered else state.get("draft")
        )
        detail = {
            "relevant": chosen,
            "draft_answer": verdict.answer,
            "missing": verdict.missing,
            "sufficient": sufficient,
            "next_query": query,
            "coverage": round(coverage, 3),
            **wording,
        }
        return {
            "relevant_ids": chosen,
            "judged_ids": candidates,
            "sufficient": sufficient,
            "draft": draft,
            "pending": [{"tool": t, "query": query} for t in self.follow_up_tools] if asks_more and not sufficient else [],
            "usage": result.usage,
            "steps": [Step(kind="judge", detail=detail, usage=result.usage)],
            **({"exit_reason": ExitReason.ANSWERED} if sufficient else {}),
        }

    def _wording_check(self, question: str) -> dict[str, Any]:
        """``single_hop`` on the question, for the judge's step detail.

        A check that raises or answers with something other than a bool counts as "not single-hop"
        (the passage check still applies) and its error is recorded; the run goes on.
        """
        if self.single_hop is looks_single_hop:
            signs = multi_hop_signs(question)
            return {"single_hop": not signs, "multi_hop_signs": signs}
        try:
            verdict = self.single_hop(question)  # type: ignore[misc]
        except Exception as exc:  # noqa: BLE001 - a failing check of the user's must not end the run
            logger.warning("single_hop check failed on %r: %s", question, exc)
            return {"single_hop": False, "single_hop_error": f"{type(exc).__name__}: {exc}"}
        if not (isinstance(verdict, bool) or (type(verdict).__module__ == "numpy" and type(verdict).__name__ in ("bool", "bool_"))):
            logger.warning("single_hop check returned %s, not a bool", type(verdict).__name__)
            return {"single_hop": False, "single_hop_error": f"returned {type(verdict).__name__}, not a bool"}
        return {"single_hop": bool(verdict)}

    def refine(self, state: RAGState) -> dict[str, Any]:
        """Keep only new queries for the gap; stop when none is left or the budget cannot pay for a round."""
        done = set(state.get("queries_run") or [])
        candidates = list(state.get("pending") or [])
        fresh, seen = [], set(done)
        for request in candidates:
            key = _key(request["tool"], request["query"])
            if normalise_query(request["query"]) and key not in seen:
                seen.add(key)
                fresh.append(request)
        fresh = [r for r in fresh if r["query"] == fresh[0]["query"]]  # one follow-up query a round
        reason = self._exhausted(state, reserve_llm_calls=2, next_tool_calls=len(fresh), new_round=True)
        if not fresh:
            reason = reason or ExitReason.NO_NEW_EVIDENCE
        if reason is not None:
            return {"pending": [], "exit_reason": reason, "steps": [Step(kind="refine", detail={"stop": reason.value})]}
        return {"pending": fresh, "steps": [Step(kind="refine", detail={"searches": fresh})]}

    def _answer_passages(self, state: RAGState) -> list[Evidence]:
        """The passages the answer reads: everything found, in the order it was found.

        The first round's passages come first, as the traditional graph reads them, and what later
        rounds added follows. Beyond ``max_answer_passages`` the passages a judge cited are kept
        first, then the earliest found. Measured on HotpotQA train: the small model answered better
        from all passages than from the judge's picks, which were too often incomplete.
        """
        evidence = state.get("evidence") or {}
        ids = list(evidence)
        if len(ids) > self.max_answer_passages:
            cited = [i for i in state.get("relevant_ids") or [] if i in evidence][: self.max_answer_passages]
            keep = set(cited)
            for i in ids:
                if len(keep) >= self.max_answer_passages:
                    break
                keep.add(i)
            ids = [i for i in ids if i in keep]
        return [evidence[i] for i in ids]

    def _check_with_model(self, state: RAGState, citations: list[Any], spent: Usage) -> tuple[list[Any], Usage]:
        """Ask the model whether each cited passage states the answer; keep the lexical flag if it cannot say."""
        evidence = state.get("evidence") or {}
        usage, checked = Usage(), []
        for citation in citations:
            so_far = {**state, "usage": self._usage(state) + spent + usage}
            item = evidence.get(citation.evidence_id)
            if item is None or self._exhausted(so_far) is not None:
                checked.append(citation)
                continue
            user = prompts.SUPPORT.format(
                passage=item.short(self.passage_chars).replace("\n", " "), question=state["question"], claim=citation.claim
            )
            result = invoke_structured(self.model, SupportCheck, self._messages(user), attempts=1)
            usage = usage + result.usage
            if result.value is None:
                checked.append(citation)
            else:
                checked.append(citation.model_copy(update={"supported": result.value.supported, "checked_by": "llm"}))
        return checked, usage

    def _written(self, answer: str, sources: list[int]) -> str:
        """A short answer followed by the markers of its sources, or the no-answer sentence."""
        answer = _MARKERS.sub("", answer).strip()
        if not answer:
            return prompts.NO_ANSWER
        markers = "".join(f"[{n}]" for n in dict.fromkeys(sources))
        return f"{answer} {markers}".strip()

    def answer(self, state: RAGState) -> dict[str, Any]:
        """Write the answer and check its citation markers.

        One structured call answers from everything found. A first-round judge answer whose cited
        passages cover the question (``adaptive``) is used as is instead, and with
        ``answer_from_judge`` so is a judge's answer that asked for nothing more.
        """
        evidence = state.get("evidence") or {}
        relevant = self._answer_passages(state)
        exit_reason = state.get("exit_reason")
        usage = Usage()
        invalid: list[int] = []
        citations = []
        no_retrieval = exit_reason == ExitReason.NO_RETRIEVAL_NEEDED
        draft = state.get("draft") if state.get("sufficient") else None
        draft = draft if draft and (draft.get("direct") or (self.answer_from_judge and draft.get("final"))) else None
        if draft and draft.get("answer") and all(i in evidence for i in draft.get("sources") or []):
            numbers = {e.id: n for n, e in enumerate(relevant, start=1)}
            text = self._written(draft["answer"], [numbers[i] for i in draft["sources"] if i in numbers])
            text, citations, invalid = check_citations(text, relevant)
        elif not relevant and not no_retrieval:
            text = prompts.NO_ANSWER
            exit_reason = ExitReason.NO_EVIDENCE if exit_reason in (None, ExitReason.ANSWERED) or not evidence else exit_reason
        elif not relevant:
            result = invoke_text(self.model, self._messages(state["question"]), attempts=self._attempts(state, 0))
            usage = result.usage
            if result.value is None:
                text = f"The model failed to write an answer ({result.error})."
                exit_reason = ExitReason.ERROR
            else:
                text = result.value.strip()
        else:
            passages = format_passages(relevant, self.passage_chars)
            user = prompts.ANSWER.format(passages=passages, question=state["question"], answer_rule=prompts.ANSWER_RULE)
            result = invoke_structured(self.model, FinalAnswer, self._messages(user), attempts=self._attempts(state, 0))
            usage = result.usage
            written = None if result.value is None else self._written(result.value.answer, result.value.sources)
            if written is None and not self._exhausted({**state, "usage": self._usage(state) + usage}):
                # no usable structured output (a model without it, or malformed twice): ask for plain text
                user = prompts.ANSWER_TEXT.format(
                    passages=passages, question=state["question"], answer_rule=prompts.ANSWER_RULE, no_answer=prompts.NO_ANSWER
                )
                text_result = invoke_text(self.model, self._messages(user), attempts=1)
                usage = usage + text_result.usage
                written = text_result.value.strip() if text_result.value else None
                result = text_result if written is None else result
            if written is None:
                text = f"The model failed to write an answer ({result.error})."
                exit_reason = ExitReason.ERROR
            else:
                text, citations, invalid = check_citations(written, relevant)
        if self.citation_check == "llm" and citations:
            citations, check_usage = self._check_with_model(state, citations, usage)
            usage = usage + check_usage
        call_usage = usage
        total = self._usage(state) + usage
        wall = max(time.time() - state.get("started_at", time.time()), 0.0)
        usage = usage.model_copy(update={"seconds": usage.seconds + (wall - total.seconds)})
        total = total.model_copy(update={"seconds": wall})
        step = Step(kind="answer", detail={"passages": [e.id for e in relevant], "invalid_markers": invalid}, usage=call_usage)
        steps = [*(state.get("steps") or []), step]
        answer = Answer(
            question=state["question"],
            text=text,
            citations=citations,
            exit_reason=exit_reason or ExitReason.ANSWERED,
            usage=total,
            invalid_markers=invalid,
            notice=prompts.BUDGET_NOTICE.format(reason=exit_reason.value) if exit_reason and exit_reason.is_budget else None,
            evidence_ids=list(evidence),
            steps=steps,
        )
        return {"answer": answer, "usage": usage, "exit_reason": answer.exit_reason, "steps": steps[-1:]}
