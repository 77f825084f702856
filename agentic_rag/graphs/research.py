"""The research graph: plan sub-questions, research each with the agentic loop in parallel, write a cited report.

decompose -> Send one ``research_subquestion`` per sub-question (the agentic loop as a subgraph,
each with its share of the run's budget) -> ``report``: a title, a summary the model writes from
the sub-answers' cited claims (not from the passages), one section per sub-question, and the
references. A sub-question whose loop found nothing is reported as not found in the sources.
Every claim of the report is checked against the passages its markers point at.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import var_child_runnable_config
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Send
from pydantic import BaseModel, Field

from agentic_rag.event_stream import EventTranslator
from agentic_rag.answer import Answer, Citation, ExitReason, Usage
from agentic_rag.evidence import Evidence
from agentic_rag.events import FinalAnswer
from agentic_rag.graphs import prompts
from agentic_rag.graphs.agentic import build_agentic_graph
from agentic_rag.graphs.budget import Budget
from agentic_rag.graphs.checkpoints import with_state_types
from agentic_rag.graphs.citations import check_citations
from agentic_rag.graphs.claims import check_claims, strip_markers
from agentic_rag.graphs.config import RAGConfig
from agentic_rag.graphs.decompose import checked_subquestions
from agentic_rag.graphs.effects import Both, Effects, node
from agentic_rag.graphs.llm import structured_call, text_call
from agentic_rag.graphs.nodes import RAGNodes, prompt_messages
from agentic_rag.graphs.research_state import Finding, ResearchState, SubquestionTask
from agentic_rag.graphs.state import RESET, RAGInput, RAGOutput, reply_message
from agentic_rag.steps import DecomposeDetail, ReportDetail, Step, SubquestionDetail

__all__ = ["build_research_graph", "default_research_budget"]

logger = logging.getLogger(__name__)
_MARKER = re.compile(r"\[(\d+)\]")
_FINDING_CLAIMS = 4  # claims of each sub-answer the summary reads
_FINDINGS_CHARS = 1600


class SubquestionsReply(BaseModel):
    """The model's sub-questions of a research question."""

    subquestions: list[str] = Field(max_length=6, description="short questions that can each be searched on their own")


def default_research_budget(config: RAGConfig) -> Budget:
    """A budget that lets every planned sub-question run the loop: the plan, up to 3 calls each, the summary."""
    most = config.max_subquestions
    return Budget(max_rounds=2, max_llm_calls=2 + 3 * most, max_tool_calls=3 * most)


class ResearchNodes:
    """The research graph's nodes over one chat model, the tools and the graph's config."""

    def __init__(self, model: BaseChatModel, tools: list[Any], config: RAGConfig | None = None) -> None:
        config = config or RAGConfig()
        self.model = model
        self.rag = RAGNodes(model, tools, config)  # the loop's settings and budget rules
        self.loop = build_agentic_graph(model, tools, config.override({"style": "detailed"}), checkpointer=False)

    def start(self, state: ResearchState) -> dict[str, Any]:
        """Check the input and start the clock; every per-run key starts afresh."""
        update = self.rag.start(state)  # type: ignore[arg-type]
        return {
            "question": update["question"], "budget": update["budget"], "started_at": update["started_at"],
            "subquestions": [], "findings": RESET, "usage": RESET, "steps": RESET, "answer": None, "exit_reason": None,
            "messages_seen": update["messages_seen"], "from_messages": update["from_messages"],
        }

    def decompose(self, state: ResearchState, config: RunnableConfig, runtime: Runtime[Any]) -> Effects[dict[str, Any]]:
        """Sub-questions from the model (one structured call), or from the question's own wording."""
        settings = self.rag._settings(runtime, config)
        question = state["question"]
        proposed: list[str] = []
        usage, error = Usage(), None
        if self.rag._exhausted(state, reserve_llm_calls=2) is None:  # type: ignore[arg-type]
            user = prompts.DECOMPOSE.format(question=question, most=settings.max_subquestions)
            result = yield from structured_call(self.model, SubquestionsReply, prompt_messages(user), attempts=1)
            usage, error = result.usage, result.error
            proposed = result.value.subquestions if result.value is not None else []
        else:
            error = "budget"
        subs, from_model = checked_subquestions(proposed, question, settings.max_subquestions)
        detail = DecomposeDetail(subquestions=subs, source="model" if from_model else "question", error=error)
        return {"subquestions": subs, "usage": usage, "steps": [Step(kind="decompose", detail=detail, usage=usage)]}

    def dispatch(self, state: ResearchState) -> list[Send]:
        """One branch a sub-question, each with its share of what the run's budget has left."""
        subs = state.get("subquestions") or [state["question"]]
        budget = state.get("budget") or Budget()
        used = state.get("usage") or Usage()
        calls_left = budget.max_llm_calls - used.llm_calls - 1  # one call kept for the summary
        subs = subs[: max(1, calls_left)]
        n = len(subs)
        share: dict[str, Any] = {"max_rounds": budget.max_rounds, "max_llm_calls": max(1, min(3, calls_left // n))}
        if budget.max_tool_calls is not None:
            share["max_tool_calls"] = max(1, (budget.max_tool_calls - used.tool_calls) // n)
        if budget.max_tokens is not None:
            share["max_tokens"] = max(1, (budget.max_tokens - used.total_tokens) // (n + 1))
        if budget.max_seconds is not None:
            share["max_seconds"] = max(0.001, budget.max_seconds - (time.time() - state.get("started_at", time.time())))
        return [
            Send("research_subquestion", SubquestionTask(index=i, question=q, budget=Budget(**share)))
            for i, q in enumerate(subs, start=1)
        ]

    def research_subquestion(
        self, task: SubquestionTask, config: RunnableConfig, runtime: Runtime[Any]
    ) -> Effects[dict[str, Any]]:
        """Run the agentic loop on one sub-question; its events go out tagged with the sub-question's number.

        The loop runs as its own graph, not as a child of this run: it keeps no checkpoints (this
        node's result is the unit a resumed run keeps) and gets the run's settings and callbacks only.
        """
        writer = getattr(runtime, "stream_writer", None) or (lambda _: None)
        index, question = task["index"], task["question"]
        writer({"event": "subquestion_started", "subquestion": index, "question": question})
        translator, evidence = EventTranslator(), {}
        answers: list[Answer] = []
        context = self.rag._settings(runtime, config).override({"style": "detailed"})
        outer = var_child_runnable_config.get()

        def emit(payload: dict[str, Any]) -> None:  # the writer needs this run's config back
            token = var_child_runnable_config.set(outer)
            try:
                writer(payload)
            finally:
                var_child_runnable_config.reset(token)

        def take(mode: str, chunk: Any) -> None:
            if mode == "updates":
                for update in (chunk or {}).values():
                    found = (update or {}).get("evidence")
                    if isinstance(found, dict):
                        evidence.update(found)
            for event in translator.translate(mode, chunk):
                if isinstance(event, FinalAnswer):
                    answers.append(event.answer)
                else:
                    emit({"event": "sub_event", "subquestion": index, "payload": event.model_dump(mode="json")})

        loop_input = {"question": question, "budget": task["budget"]}
        options: dict[str, Any] = {"context": context, "stream_mode": ["updates", "custom"]}
        loop_config: RunnableConfig = {"callbacks": config.get("callbacks")}

        # the loop is not a subgraph of this run's checkpoints: it runs with no parent config
        def run_loop() -> None:
            parent = var_child_runnable_config.set(None)
            try:
                for mode, chunk in self.loop.stream(loop_input, loop_config, **options):
                    take(mode, chunk)
            finally:
                var_child_runnable_config.reset(parent)

        async def arun_loop() -> None:
            parent = var_child_runnable_config.set(None)
            try:
                async for mode, chunk in self.loop.astream(loop_input, loop_config, **options):
                    take(mode, chunk)
            finally:
                var_child_runnable_config.reset(parent)

        answer = None
        try:
            yield Both(run_loop, arun_loop)
            answer = answers[-1] if answers else None
        except Exception as exc:  # noqa: BLE001 - one failing sub-question must not end the research
            logger.warning("sub-question %d failed: %s", index, exc)
            answer = Answer(question=question, text=f"The research of this sub-question failed ({type(exc).__name__}: {exc}).",
                            exit_reason=ExitReason.ERROR)
        if answer is None:
            answer = Answer(question=question, text=prompts.NO_ANSWER, exit_reason=ExitReason.ERROR)
        cited = {c.evidence_id: evidence[c.evidence_id] for c in answer.citations if c.evidence_id in evidence}
        finding = Finding(index=index, question=question, answer=answer, cited=cited)
        detail = SubquestionDetail(
            index=index, question=question, answer=answer.text, found=finding.found, exit_reason=answer.exit_reason.value,
            evidence_ids=answer.evidence_ids, steps=len(answer.steps),
        )
        usage = answer.usage.model_copy(update={"seconds": 0.0})
        return {"findings": [finding], "usage": usage, "steps": [Step(kind="subquestion", detail=detail, usage=usage)]}

    def report(self, state: ResearchState, config: RunnableConfig, runtime: Runtime[Any]) -> Effects[dict[str, Any]]:
        """Write the report from the findings and check every claim in it."""
        settings = self.rag._settings(runtime, config)
        findings = state.get("findings") or []
        references: dict[str, int] = {}
        passages: dict[int, Evidence] = {}
        sections: list[tuple[str, str]] = []
        summary_lines: list[str] = []
        for finding in findings:
            if not finding.found:
                sections.append((finding.question, prompts.REPORT_NOT_FOUND))
                continue
            numbers: dict[int, int] = {}
            for citation in finding.answer.citations:
                n = references.setdefault(citation.evidence_id, len(references) + 1)
                numbers[citation.marker] = n
                passages[n] = finding.cited.get(citation.evidence_id) or Evidence(
                    id=citation.evidence_id, source=citation.source, text=citation.quote
                )
            sections.append((finding.question, _renumbered(finding.answer.text, numbers)))
            for claim in [c for c in finding.answer.claims if c.supported][:_FINDING_CLAIMS]:
                summary_lines.append(claim.text + "".join(f" [{numbers[m]}]" for m in claim.markers if m in numbers))
        summary, usage, error = yield from self._summary(state, settings, summary_lines, passages, sections)
        body = "\n\n".join([f"# {state['question'].strip()}", summary,
                            *(f"## {question}\n\n{text}" for question, text in sections)])
        claims = check_claims(body, passages) if passages else []
        citations = _citations(passages, claims)
        reference_lines = [f"[{c.marker}] {c.source} ({c.evidence_id}): \"{c.quote}\"" for c in citations]
        text = body + ("\n\n## References\n\n" + "\n".join(reference_lines) if reference_lines else "")
        return self._finish(state, text, citations, claims, usage, sections, error, summary)

    def _summary(
        self, state: ResearchState, settings: RAGConfig, lines: list[str], passages: dict[int, Evidence],
        sections: list[tuple[str, str]],
    ) -> Effects[tuple[str, Usage, str | None]]:
        """Two or three sentences from the findings' cited claims (one call), or their first sentences if it fails."""
        fallback = " ".join(_first_sentence(text) for _, text in sections if text != prompts.REPORT_NOT_FOUND)
        if not lines:  # no finding has a supported claim: the sections' own first sentences, if any
            return fallback or "The sources do not answer this question.", Usage(), None
        if self.rag._exhausted(state) is not None:  # type: ignore[arg-type]
            return fallback, Usage(), "budget"
        findings = "\n".join(lines)[:_FINDINGS_CHARS]
        user = prompts.SUMMARY.format(findings=findings, question=state["question"])
        result = yield from text_call(self.model, prompt_messages(user), attempts=1)
        if not result.value or not result.value.strip():
            return fallback, result.usage, result.error or "an empty summary"
        numbered = [passages.get(n) or Evidence(id=f"missing#{n}", source="", text="") for n in range(1, len(passages) + 1)]
        summary, _, _ = check_citations(" ".join(result.value.split()), numbered, renumber_markers=False)
        return summary, result.usage, None

    @staticmethod
    def _finish(
        state: ResearchState, text: str, citations: list[Citation], claims: list[Any], usage: Usage,
        sections: list[tuple[str, str]], error: str | None, summary: str,
    ) -> dict[str, Any]:
        findings = state.get("findings") or []
        total = (state.get("usage") or Usage()) + usage
        wall = max(time.time() - state.get("started_at", time.time()), 0.0)
        budget_stops = [f.answer.exit_reason for f in findings if f.answer.exit_reason.is_budget]
        if not any(f.found for f in findings):
            exit_reason = ExitReason.NO_EVIDENCE
        else:
            exit_reason = budget_stops[0] if budget_stops else ExitReason.ANSWERED
        not_found = sum(1 for f in findings if not f.found)
        notice = None
        if budget_stops or not_found:
            notice = f"{not_found} of {len(findings)} sub-questions were not found in the sources" if not_found else ""
            if budget_stops:
                notice = "; ".join(x for x in [notice, prompts.BUDGET_NOTICE.format(reason=budget_stops[0].value)] if x)
        detail = ReportDetail(sections=len(sections), references=len(citations), summary=summary, error=error)
        step = Step(kind="report", detail=detail, usage=usage)
        steps = [*(state.get("steps") or []), step]
        answer = Answer(
            question=state["question"], text=text, citations=citations, claims=claims, exit_reason=exit_reason,
            usage=total.model_copy(update={"seconds": wall}), notice=notice or None,
            evidence_ids=list(dict.fromkeys(i for f in findings for i in f.answer.evidence_ids)), steps=steps,
            style="report",
        )
        return {"answer": answer, "usage": usage, "exit_reason": exit_reason, "steps": [step], **reply_message(state, answer)}


def _renumbered(text: str, numbers: dict[int, int]) -> str:
    """A sub-answer's markers turned into the report's reference numbers (markers to nothing dropped)."""
    return _MARKER.sub(lambda m: f"[{numbers[int(m.group(1))]}]" if int(m.group(1)) in numbers else "", text).strip()


def _first_sentence(text: str) -> str:
    match = re.match(r".+?[.!?](?:\s*\[\d+\])*(?=\s|$)", text.strip(), re.S)
    return (match.group() if match else text.strip().splitlines()[0]).strip()


def _citations(passages: dict[int, Evidence], claims: list[Any]) -> list[Citation]:
    """One citation a reference, quoting the sentence that best supports the first claim citing it."""
    citations = []
    for n, evidence in sorted(passages.items()):
        claim = next((c for c in claims if n in c.markers), None)
        if claim is None:
            continue  # a reference no claim of the report cites
        quote = next(q for q in claim.quotes if q.marker == n)
        citations.append(Citation(marker=n, evidence_id=evidence.id, source=evidence.source, quote=quote.quote,
                                  span=quote.span, claim=strip_markers(claim.text), supported=claim.supported))
    return citations


def build_research_graph(
    model: BaseChatModel, tools: list[Any], config: RAGConfig | None = None, *, checkpointer: Any = None
) -> Any:
    """Compile the research graph over ``model`` and ``tools`` with ``config`` (its loops answer ``detailed``).

    Always ends with a report and an exit reason: the sub-questions share the run's budget (see
    :func:`default_research_budget` for one that fits them), each loop is bounded by its share,
    and the summary falls back to the sections' first sentences when no call is left.
    """
    nodes = ResearchNodes(model, tools, config)
    graph = StateGraph(ResearchState, context_schema=RAGConfig, input_schema=RAGInput, output_schema=RAGOutput)
    graph.add_node("start", nodes.start)
    graph.add_node("decompose", node(nodes.decompose))
    graph.add_node("research_subquestion", node(nodes.research_subquestion))
    graph.add_node("report", node(nodes.report))
    graph.add_edge(START, "start")
    graph.add_edge("start", "decompose")
    graph.add_conditional_edges("decompose", nodes.dispatch, ["research_subquestion"])
    graph.add_edge("research_subquestion", "report")
    graph.add_edge("report", END)
    return graph.compile(checkpointer=with_state_types(checkpointer), name="research")
