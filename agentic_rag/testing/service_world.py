"""A small world for the HTTP server's tests and benchmark: services, and a model that reads.

Every service ``orbitNN`` is owned by the team ``FalconNN``, led by ``AveryNN``. The reading model
answers from the passages it is shown, so each question gets its own answer: "Who owns orbit07?"
gives "Falcon07", "Who leads orbit07?" gives "Avery07". It rewrites a follow-up ("And who leads
it?") by naming the service of the conversation's last turn. It is instant and thread-safe.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from langchain_core.messages import BaseMessage
from pydantic import Field

from agentic_rag.agent.agent import Agent
from agentic_rag.testing.fakes import HashingEmbeddings, ScriptedChatModel
from agentic_rag.tools.knowledge_base import KnowledgeBase

SERVICES = 24
_SERVICE = re.compile(r"\borbit\d+\b", re.IGNORECASE)
_PASSAGE = re.compile(r"^\[(\d+)\] \((.*?)\) (.*)$", re.MULTILINE)


class Explosion(BaseException):
    """A failure no node catches: it ends the run with an exception."""


def owner(n: int) -> str:
    return f"Falcon{n:02d}"


def lead(n: int) -> str:
    return f"Avery{n:02d}"


def documents() -> list[tuple[str, str]]:
    return [
        (f"services/orbit{n:02d}.md",
         f"The orbit{n:02d} service is owned by the {owner(n)} team. The {owner(n)} team is led by {lead(n)}.")
        for n in range(SERVICES)
    ]


def knowledge_base() -> KnowledgeBase:
    kb = KnowledgeBase(HashingEmbeddings())
    kb.add_texts(documents())
    return kb


class ReadingModel(ScriptedChatModel):
    """Answers from the passages of the prompt (see the module's docstring); no script needed.

    ``on_question`` is called with each question before the reply: tests block or fail there.
    A question containing "explode" raises :class:`Explosion`.
    """

    script: list[Any] = Field(default_factory=list)
    on_question: Any = None

    def _next(self, messages: list[BaseMessage]) -> Any:
        prompt = str(messages[-1].content)
        if "Follow-up:" in prompt:
            return self._rewrite(prompt)
        question = _line(prompt, "Question: ")
        if self.on_question is not None:
            self.on_question(question)
        if "explode" in question.lower():
            raise Explosion(question)
        service = _SERVICE.search(question)
        field = r"led by (\w+)" if "lead" in question.lower() else r"owned by the (\w+) team"
        for number, _source, text in _PASSAGE.findall(prompt):
            if service and service.group().lower() in text.lower():
                found = re.search(field, text)
                if found:
                    return {"answer": found.group(1), "sources": [int(number)], "missing": "", "next_query": ""}
        return {"answer": "", "sources": [], "missing": "the service", "next_query": ""}

    @staticmethod
    def _rewrite(prompt: str) -> str:
        history, _, follow_up = prompt.partition("Follow-up:")
        services = _SERVICE.findall(history)
        message = follow_up.strip().splitlines()[0].strip()
        if not services:
            return message
        return re.sub(r"\bit\b", services[-1], message.removeprefix("And ").removeprefix("and "))


class WritingModel(ReadingModel):
    """A reading model that also writes what the detailed style and research runs ask for.

    A detailed answer is Markdown with the passage number inline: a first sentence naming the
    owner in bold, then a small table, then ``extra`` (tests put hostile text there). A research
    question "Compare orbitAA and orbitBB" is split into one sub-question per service; the summary
    repeats the findings' first lines.
    """

    extra: str = ""

    def _next(self, messages: list[BaseMessage]) -> Any:
        self._calls.append(list(messages))  # so tests can read the prompts
        prompt = str(messages[-1].content)
        if prompt.startswith("Findings:"):
            return " ".join(prompt.split("\n")[1:3])
        if "sub-questions" in prompt:
            question = _line(prompt, "Question: ")
            return {"subquestions": [f"Who owns {name}?" for name in _SERVICE.findall(question)]}
        if "Start with one sentence" not in prompt:
            return super()._next(messages)
        short = super()._next(messages)
        if not short.get("answer"):
            return "The passages do not say."
        n, service = short["sources"][0], _SERVICE.search(_line(prompt, "Question: ")).group()
        table = f"| Service | Team |\n|---|---|\n| {service} | {short['answer']} [{n}] |"
        return f"The {service} service is owned by the **{short['answer']}** team [{n}].\n\n{table}\n\n{self.extra}".strip()


def _line(prompt: str, prefix: str) -> str:
    for line in prompt.splitlines():
        if line.startswith(prefix):
            return line[len(prefix):].strip()
    return ""


def agent_factory(
    model: ReadingModel | WritingModel, kb: KnowledgeBase, k: int = 3, style: str = "short"
) -> Callable[[str, Any], Agent]:
    """``(graph, checkpointer) -> Agent`` over one shared model and knowledge base.

    The reading model answers the judge in a few words, so the agents answer ``short`` unless told.
    """
    return lambda graph, checkpointer: Agent(model, knowledge_base=kb, graph=graph, k=k,  # type: ignore[arg-type]
                                             checkpointer=checkpointer, style=style)  # type: ignore[arg-type]
