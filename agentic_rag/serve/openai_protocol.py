"""The OpenAI chat-completions protocol: requests in, completions and stream chunks out.

Beyond OpenAI's fields, an answer carries its ``citations`` and ``claims`` (each sentence of the
answer with its markers and whether the cited passages support it; on the message, or on the last
chunk's delta when streaming) and, at the top level, ``question`` (the standalone question that was
researched), ``exit_reason``, ``notice`` and ``conversation_id``. A request may set ``filters`` and ``style``
(``detailed``, the default, or ``short``); its system messages are the reader's instructions for
the answer's form and language.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agentic_rag._text import message_text
from agentic_rag.agent.conversation import Turn
from agentic_rag.answer import Answer
from agentic_rag.serve.api_errors import APIError

__all__ = [
    "ChatCompletionRequest", "ChatMessage", "ContentStream", "chunk", "completion", "completion_id",
    "final_chunk", "question_and_history", "usage", "usage_chunk",
]


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        """The message's text (text parts joined; other parts, such as images, ignored)."""
        return message_text(self.content)


class StreamOptions(BaseModel):
    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    """A chat-completions request; sampling fields (temperature, max_tokens...) are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    conversation_id: str | None = Field(default=None, description="Keep the history server-side under this id.")
    style: Literal["short", "detailed"] | None = Field(default=None, description="The answer's form (default: detailed).")
    filters: dict[str, str | list[str]] | None = Field(
        default=None, max_length=16, description='Search only some documents: {"source": "runbooks/"} or a store\'s metadata.',
    )

    def run_settings(self) -> dict[str, Any]:
        """The run's overrides of the graph's config: style, filters, the system messages as instructions."""
        settings: dict[str, Any] = {"style": self.style} if self.style else {}
        if self.filters:
            settings["filters"] = self.filters
        instructions = "\n".join(m.text().strip() for m in self.messages if m.role in ("system", "developer")).strip()
        if instructions:
            if len(instructions) > MAX_INSTRUCTIONS:
                raise APIError(422, f"the system messages are longer than {MAX_INSTRUCTIONS} characters",
                               code="instructions_too_long", param="messages")
            settings["instructions"] = instructions
        return settings


MAX_INSTRUCTIONS = 4000
"""Most characters of a request's system messages (the reader's instructions)."""


def question_and_history(messages: list[ChatMessage]) -> tuple[str, list[Turn]]:
    """The last user message as the question, and the earlier user/assistant exchanges as turns.

    System and tool messages are left out: system messages become the reader's instructions
    (:meth:`ChatCompletionRequest.run_settings`), and the agent has its own tools.
    """
    last = messages[-1]
    if last.role != "user":
        raise APIError(400, "the last message must be the user's question", code="invalid_messages", param="messages")
    question = last.text().strip()
    if not question:
        raise APIError(400, "the question is empty", code="empty_question", param="messages")
    turns: list[Turn] = []
    asked: str | None = None
    for message in messages[:-1]:
        if message.role == "user":
            asked = message.text().strip() or asked
        elif message.role == "assistant" and asked is not None:
            turns.append({"message": asked, "question": asked, "answer": message.text().strip()})
            asked = None
    return question, turns


def completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def usage(answer: Answer) -> dict[str, Any]:
    u = answer.usage
    return {"prompt_tokens": u.prompt_tokens, "completion_tokens": u.completion_tokens, "total_tokens": u.total_tokens,
            "prompt_tokens_details": {"cached_tokens": u.cached_prompt_tokens}}


def _citations(answer: Answer) -> list[dict[str, Any]]:
    return [c.model_dump(mode="json") for c in answer.citations]


def _claims(answer: Answer) -> list[dict[str, Any]]:
    return [c.model_dump(mode="json") for c in answer.claims]


def _extras(answer: Answer, conversation_id: str | None) -> dict[str, Any]:
    return {"question": answer.question, "exit_reason": answer.exit_reason.value, "notice": answer.notice,
            "conversation_id": conversation_id}


def completion(answer: Answer, *, model: str, conversation_id: str | None) -> dict[str, Any]:
    """A ``chat.completion`` object for a finished answer."""
    message = {"role": "assistant", "content": answer.text, "citations": _citations(answer), "claims": _claims(answer)}
    return {
        "id": completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}],
        "usage": usage(answer),
        **_extras(answer, conversation_id),
    }


def chunk(id_: str, model: str, created: int, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
    """One ``chat.completion.chunk``."""
    return {
        "id": id_,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}],
    }


def final_chunk(id_: str, model: str, created: int, answer: Answer, conversation_id: str | None) -> dict[str, Any]:
    """The last chunk: ``finish_reason`` "stop", the citations and claims on its delta, the run's extras on top."""
    delta = {"citations": _citations(answer), "claims": _claims(answer)}
    return chunk(id_, model, created, delta, "stop") | _extras(answer, conversation_id)


def usage_chunk(id_: str, model: str, created: int, answer: Answer) -> dict[str, Any]:
    """The chunk with no choices and the usage, sent when ``stream_options.include_usage`` asks for it."""
    return chunk(id_, model, created, {}) | {"choices": [], "usage": usage(answer)}


class ContentStream:
    """The content deltas of a streamed answer: its tokens as the model writes them, then the rest.

    The answer node drops the ``[n]`` markers the model writes inline and puts the markers of its
    sources at the end, renumbered; the markers are dropped from the tokens the same way, so the
    final text normally continues the streamed text and only its markers are left to send.
    Whitespace at either end, and what may be the start of a marker, are held back until more text
    follows. A stream cannot take back what it sent: if the model started its answer over, or the
    final text does not continue what was streamed, the final text follows whole, as a new paragraph
    (unless only inline markers differ: then the rest and the markers follow).

    With ``keep_markers`` (detailed answers, whose markers stay where the model wrote them) the
    tokens go out with their markers; only a marker still being written is held back.
    """

    def __init__(self, keep_markers: bool = False) -> None:
        self.sent = ""
        self._written = ""
        self._diverged = False
        self._keep_markers = keep_markers

    def token(self, text: str, reset: bool = False) -> str:
        """The delta to send for an answer token (maybe empty)."""
        if reset:
            self._diverged = self._diverged or bool(self.sent)
            self._written = ""
        if self._diverged:
            return ""
        self._written += text
        written = self._written if self._keep_markers else _MARKERS.sub("", self._written)
        shown = _PARTIAL_MARKER.sub("", written).strip()
        if not shown.startswith(self.sent):
            return ""
        delta, self.sent = shown[len(self.sent):], shown
        return delta

    def final(self, text: str) -> str:
        """The delta that completes the streamed text into the final ``text``."""
        bare = _MARKERS.sub("", text).rstrip()
        continued = _continuation(text, self.sent) if self._keep_markers and not self._diverged else None
        if text.startswith(self.sent):
            rest = text[len(self.sent):]
        elif continued is not None:  # the checker added markers to what was sent: the rest follows as is
            rest = continued
        elif self.sent and not self._diverged and not self._keep_markers and bare.startswith(self.sent):
            markers = "".join(dict.fromkeys(_MARKERS.findall(text)))
            rest = f"{bare[len(self.sent):]} {markers}".rstrip()
        else:
            rest = f"\n\n{text}"
        self.sent += rest
        return rest


_MARKERS = re.compile(r"\[\d+\]")  # as the answer node drops them (graphs.nodes._written)
_ADDED_MARKER = re.compile(r"\s?\[\d+\]")


def _continuation(final: str, sent: str) -> str | None:
    """What ``final`` has after ``sent``, where markers may have been added or moved; None if it does not continue it."""
    i = j = 0
    while j < len(sent):
        if i < len(final) and final[i] == sent[j]:
            i, j = i + 1, j + 1
            continue
        added = _ADDED_MARKER.match(final, i)
        if added is not None:
            i = added.end()
            continue
        replaced = _ADDED_MARKER.match(sent, j)  # a marker the checker moved to the passage that states it
        if replaced is None:
            return None
        j = replaced.end()
    return final[i:]
_PARTIAL_MARKER = re.compile(r"\[\d*$")
