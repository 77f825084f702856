"""Typed events of a run, for applications that show the research as it happens.

``Agent.stream`` / ``Agent.astream`` yield these in order: the plan, each tool call as it starts and
as it finishes, the new evidence of each round, each verdict, each refinement, the answer's tokens
as the model writes them, and last the final :class:`~agentic_rag.answer.Answer`. Every event has
a ``type`` field, so ``AgentEvent`` parses any of them back from JSON.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, Field, TypeAdapter

from agentic_rag._text import message_text
from agentic_rag.answer import Answer
from agentic_rag.steps import (
    DecomposeDetail,
    JudgeDetail,
    PlanDetail,
    RefineDetail,
    SearchDetail,
    SearchRequest,
    Step,
    SubquestionDetail,
)

__all__ = [
    "AgentEvent", "AnswerToken", "EvidenceFound", "FinalAnswer", "PlanMade", "QueryRefined",
    "ToolCallFinished", "ToolCallStarted", "Verdict", "events_from_step", "parse_event", "AnswerTextStream",
    "ResearchPlanned", "SubquestionAnswered", "SubquestionStarted",
]


class _RunEvent(BaseModel):
    """An event of a run; in a research run ``subquestion`` says which sub-question's loop it came from."""

    subquestion: int | None = None


class PlanMade(_RunEvent):
    """The first searches; ``skipped`` says why no model call chose them (``budget``), ``error`` why it failed."""

    type: Literal["plan"] = "plan"
    searches: list[SearchRequest] = Field(default_factory=list)
    skipped: str | None = None
    error: str | None = None


class ToolCallStarted(_RunEvent):
    type: Literal["tool_started"] = "tool_started"
    tool: str
    query: str


class ToolCallFinished(_RunEvent):
    """A tool call ended: the evidence ids it returned, or the error it failed with for good."""

    type: Literal["tool_finished"] = "tool_finished"
    tool: str
    query: str
    found: list[str] = Field(default_factory=list)
    error: str | None = None
    seconds: float | None = None


class EvidenceFound(_RunEvent):
    """Evidence first seen in this round."""

    type: Literal["evidence"] = "evidence"
    ids: list[str]


class Verdict(_RunEvent):
    """The judge's view of the evidence so far."""

    type: Literal["verdict"] = "verdict"
    sufficient: bool
    draft_answer: str = ""
    missing: str = ""
    next_query: str = ""
    relevant: list[str] = Field(default_factory=list)
    skipped: str | None = None
    error: str | None = None


class QueryRefined(_RunEvent):
    """The next round's searches, or why the search stopped (``stopped`` holds the exit reason)."""

    type: Literal["refine"] = "refine"
    searches: list[SearchRequest] = Field(default_factory=list)
    stopped: str | None = None


class AnswerToken(_RunEvent):
    """A piece of the answer text as the model writes it.

    ``reset`` means the model started the answer again (a retry): drop the text shown so far.
    """

    type: Literal["token"] = "token"
    text: str
    reset: bool = False


class FinalAnswer(BaseModel):
    type: Literal["answer"] = "answer"
    answer: Answer


class ResearchPlanned(BaseModel):
    """A research run's sub-questions, before research starts; ``source`` says who wrote them."""

    type: Literal["research_plan"] = "research_plan"
    subquestions: list[str]
    source: Literal["model", "question"] = "model"
    error: str | None = None


class SubquestionStarted(BaseModel):
    type: Literal["subquestion_started"] = "subquestion_started"
    subquestion: int
    question: str


class SubquestionAnswered(BaseModel):
    """A sub-question's answer (``found`` false: nothing in the sources answered it)."""

    type: Literal["subquestion_answered"] = "subquestion_answered"
    subquestion: int
    question: str
    answer: str
    found: bool
    exit_reason: str


AgentEvent = Annotated[
    Union[
        PlanMade, ToolCallStarted, ToolCallFinished, EvidenceFound, Verdict, QueryRefined, AnswerToken, FinalAnswer,
        ResearchPlanned, SubquestionStarted, SubquestionAnswered,
    ],
    Field(discriminator="type"),
]
_ADAPTER: TypeAdapter[Any] = TypeAdapter(AgentEvent)


def parse_event(data: dict[str, Any] | str) -> Any:
    """An event back from its JSON form (``event.model_dump(mode="json")``)."""
    return _ADAPTER.validate_json(data) if isinstance(data, str) else _ADAPTER.validate_python(data)


def events_from_step(step: Step) -> list[Any]:
    """The events a recorded step stands for (tool starts come live from the search node instead)."""
    d = step.detail
    if isinstance(d, PlanDetail):
        return [PlanMade(searches=d.searches, skipped=d.skipped, error=d.error)]
    if isinstance(d, SearchDetail):
        return [ToolCallFinished(tool=d.tool, query=d.query, found=d.found, error=d.error, seconds=d.seconds)]
    if isinstance(d, JudgeDetail):
        return [Verdict(sufficient=d.sufficient, draft_answer=d.draft_answer or "", missing=d.missing or "",
                        next_query=d.next_query or "", relevant=d.relevant or [], skipped=d.skipped, error=d.error)]
    if isinstance(d, RefineDetail):
        return [QueryRefined(searches=d.searches, stopped=d.stop)]
    if isinstance(d, DecomposeDetail):
        return [ResearchPlanned(subquestions=d.subquestions, source="model" if d.source == "model" else "question", error=d.error)]
    if isinstance(d, SubquestionDetail):
        return [SubquestionAnswered(subquestion=d.index, question=d.question, answer=d.answer or "", found=d.found,
                                    exit_reason=d.exit_reason or "")]
    return []


_ANSWER_FIELD = re.compile(r'"answer"\s*:\s*"')


class AnswerTextStream:
    """Turns the answer call's streamed chunks into answer text as it grows.

    The answer is structured output (``{"answer": "...", "sources": [...]}``): only the growing
    ``answer`` string is passed on. A plain-text reply (the fallback) is passed on as is.
    """

    def __init__(self) -> None:
        self.raw = ""
        self.sent = ""

    def feed(self, chunk: str) -> str:
        """Add a chunk of the model's output; return the new answer text it reveals (maybe empty)."""
        self.raw += chunk
        text = self._answer_so_far()
        if text is None or not text.startswith(self.sent):
            return ""
        delta, self.sent = text[len(self.sent):], text
        return delta

    def _answer_so_far(self) -> str | None:
        stripped = self.raw.lstrip()
        if not stripped:
            return None
        if not stripped.startswith("{"):
            return self.raw  # plain text
        match = _ANSWER_FIELD.search(self.raw)
        if not match:
            return None
        body = self.raw[match.end():]
        end = _STRING_END.search(body)
        if end:
            body = body[: end.start()]
        else:
            body = _INCOMPLETE_ESCAPE.sub(r"\1", body)  # wait for the rest of a cut escape or surrogate pair
        try:
            return json.loads(f'"{body}"')
        except json.JSONDecodeError:
            return None


# The closing quote of a JSON string: a quote after an even number of backslashes.
_STRING_END = re.compile(r'(?<!\\)(?:\\\\)*"')
# A cut escape at the end: a lone backslash, a partial \uXXXX, or a high surrogate without its pair.
_INCOMPLETE_ESCAPE = re.compile(r'(?<!\\)((?:\\\\)*)(\\u[dD][89abAB][0-9a-fA-F]{2}(\\(u[0-9a-fA-F]{0,3})?)?|\\(u[0-9a-fA-F]{0,3})?)$')


chunk_text = message_text  # the text of a streamed message chunk's content
