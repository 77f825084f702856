"""Test doubles: deterministic embeddings and a scripted chat model with structured output (no download, no GPU)."""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.embeddings import Embeddings
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import RunnableLambda
from pydantic import BaseModel, PrivateAttr

_WORD = re.compile(r"[a-z0-9]+")


class HashingEmbeddings(Embeddings):
    """Bag-of-words vectors: each lower-cased word hashed into one of ``dim`` buckets, L2-normalised.

    Deterministic, and texts that share words are close, so ranking tests mean something.
    """

    def __init__(self, dim: int = 64, model_name: str = "hashing-test") -> None:
        self.dim = dim
        self.model_name = model_name
        self.calls: list[int] = []  # number of texts per embed_documents call

    def _vector(self, text: str) -> list[float]:
        vec = [0.0] * self.dim
        for word in _WORD.findall(text.lower()):
            bucket = int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim
            vec[bucket] += 1.0
        norm = math.sqrt(sum(v * v for v in vec)) or 1.0
        return [v / norm for v in vec]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls.append(len(texts))
        return [self._vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)


Script = str | dict | BaseModel | Exception | Callable[[list[BaseMessage]], Any]


class ScriptedChatModel(BaseChatModel):
    """A chat model that replies from a script, one entry per call, and records every prompt.

    An entry may be a string (the reply text; for structured output, JSON to parse), a dict or
    pydantic object (structured output), an exception (raised), or a callable taking the
    messages and returning any of those. ``with_structured_output`` and ``bind_tools`` work.
    Every reply carries ``usage_metadata`` (prompt tokens = words in the prompt).
    """

    script: list[Any]
    _calls: list[list[BaseMessage]] = PrivateAttr(default_factory=list)
    _position: int = PrivateAttr(default=0)

    @property
    def _llm_type(self) -> str:
        return "scripted-fake"

    @property
    def calls(self) -> list[list[BaseMessage]]:
        """The messages of every call, in order."""
        return self._calls

    def prompts(self) -> list[str]:
        """Each call's messages joined into one string."""
        return ["\n".join(str(m.content) for m in call) for call in self._calls]

    def _next(self, messages: list[BaseMessage]) -> Any:
        self._calls.append(list(messages))
        if self._position >= len(self.script):
            raise AssertionError(f"ScriptedChatModel ran out of replies after {self._position} calls")
        entry = self.script[self._position]
        self._position += 1
        if callable(entry) and not isinstance(entry, (BaseModel, BaseException)):
            entry = entry(messages)
        if isinstance(entry, BaseException):
            raise entry
        return entry

    @staticmethod
    def _usage(messages: list[BaseMessage], text: str) -> dict[str, int]:
        prompt = sum(len(str(m.content).split()) for m in messages)
        completion = len(text.split())
        return {"input_tokens": prompt, "output_tokens": completion, "total_tokens": prompt + completion}

    def _message(self, messages: list[BaseMessage], entry: Any) -> AIMessage:
        if isinstance(entry, AIMessage):
            return entry
        if isinstance(entry, BaseModel):
            text = entry.model_dump_json()
        elif isinstance(entry, dict):
            text = json.dumps(entry)
        else:
            text = str(entry)
        return AIMessage(content=text, usage_metadata=self._usage(messages, text))

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        message = self._message(messages, self._next(messages))
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        message = self._message(messages, self._next(messages))
        words = str(message.content).split(" ")
        for i, word in enumerate(words):
            piece = word if i == len(words) - 1 else word + " "
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
            if run_manager:
                run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk
        yield ChatGenerationChunk(message=AIMessageChunk(content="", usage_metadata=message.usage_metadata))

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any):  # noqa: D102 - tools are ignored by the script
        return self

    def with_structured_output(self, schema: Any, *, include_raw: bool = False, **kwargs: Any):
        """Replies parsed into ``schema``; a string entry is parsed as JSON (so malformed JSON fails)."""

        def run(value: Any) -> Any:
            # Through the model itself, like a real one: callbacks run, and a streamed run sees tokens.
            return parse(self.invoke(_as_messages(value)))

        async def arun(value: Any) -> Any:
            return parse(await self.ainvoke(_as_messages(value)))

        def parse(raw: Any) -> Any:
            parsed, error = None, None
            try:
                data = json.loads(str(raw.content))
                parsed = schema.model_validate(data) if isinstance(schema, type) else data
            except Exception as exc:  # noqa: BLE001 - mirrors langchain's include_raw contract
                if not include_raw:
                    raise
                error = exc
            if include_raw:
                return {"raw": raw, "parsed": parsed, "parsing_error": error}
            return parsed

        return RunnableLambda(run, afunc=arun)


def _as_messages(value: Any) -> list[BaseMessage]:
    from langchain_core.prompt_values import PromptValue
    from langchain_core.messages import HumanMessage

    if isinstance(value, PromptValue):
        return value.to_messages()
    if isinstance(value, str):
        return [HumanMessage(content=value)]
    return list(value)
