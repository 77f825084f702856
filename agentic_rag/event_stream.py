"""A graph run as typed events: LangGraph's stream chunks (updates, custom writes, tokens) translated."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from agentic_rag.events import (
    AnswerTextStream,
    AnswerToken,
    EvidenceFound,
    FinalAnswer,
    SubquestionStarted,
    ToolCallStarted,
    chunk_text,
    events_from_step,
    parse_event,
)

__all__ = ["STREAM_MODES", "EventTranslator", "stream_events"]

STREAM_MODES = ["updates", "custom", "messages"]


def stream_events(graph: Any, graph_input: Any, config: dict[str, Any] | None, **options: Any) -> Iterator[Any]:
    """Run ``graph`` and yield its typed events; the last is a :class:`FinalAnswer`."""
    translator = EventTranslator()
    for mode, chunk in graph.stream(graph_input, config, stream_mode=STREAM_MODES, **options):
        yield from translator.translate(mode, chunk)


class EventTranslator:
    """LangGraph stream chunks (updates, custom writes, model tokens) to typed events."""

    def __init__(self) -> None:
        self.text = AnswerTextStream()
        self.message_id: str | None = None

    def translate(self, mode: str, chunk: Any) -> list[Any]:
        if mode == "custom":
            return self._custom(chunk)
        if mode == "messages":
            return self._tokens(*chunk)
        events: list[Any] = []
        for node_update in (chunk or {}).values():
            if not node_update:
                continue
            if node_update.get("answer") is not None:
                events.append(FinalAnswer(answer=node_update["answer"]))
                continue
            steps, evidence = node_update.get("steps"), node_update.get("evidence")
            for step in steps if isinstance(steps, list) else []:  # not the start node's reset marker
                events.extend(events_from_step(step))
            if isinstance(evidence, dict) and evidence:
                events.append(EvidenceFound(ids=list(evidence)))
        return events

    @staticmethod
    def _custom(chunk: Any) -> list[Any]:
        """Events a node wrote: a tool call starting, a research sub-question starting, a sub-question's own events."""
        kind = chunk.get("event") if isinstance(chunk, dict) else None
        if kind == "tool_started":
            return [ToolCallStarted(tool=chunk["tool"], query=chunk["query"])]
        if kind == "subquestion_started":
            return [SubquestionStarted(subquestion=chunk["subquestion"], question=chunk["question"])]
        if kind == "sub_event":
            return [parse_event({**chunk["payload"], "subquestion": chunk["subquestion"]})]
        return []

    def _tokens(self, message: Any, metadata: Any) -> list[Any]:
        metadata = metadata or {}
        if metadata.get("langgraph_node") != "answer" or "|" in str(metadata.get("langgraph_checkpoint_ns", "")):
            return []  # not the answer, or the answer of a loop inside another graph (a research sub-question)
        events: list[Any] = []
        if getattr(message, "id", None) != self.message_id:  # a new call (e.g. a retry): start over
            if self.text.sent:
                events.append(AnswerToken(text="", reset=True))
            self.message_id, self.text = getattr(message, "id", None), AnswerTextStream()
        delta = self.text.feed(chunk_text(message.content))
        return events + ([AnswerToken(text=delta)] if delta else [])
