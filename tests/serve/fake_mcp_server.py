"""`agentic-rag mcp` with fake embeddings and a fake reader model, for the MCP tests to launch.

    python tests/serve/fake_mcp_server.py --index DIR [other `agentic-rag mcp` options]

Runs the real command (the real server, stdio transport) with two things swapped: the embeddings
(:class:`tests.fakes.HashingEmbeddings`, which the test index is built with) and the chat model
(:func:`reader_model`, which answers from the passages in its prompt without any script order).
With ``FAKE_MCP_NOISY=1`` the model also writes to standard output on every call.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.fakes import HashingEmbeddings, ScriptedChatModel  # noqa: E402

_PASSAGE = re.compile(r"^\[(\d+)\] \([^)\n]*\) ", re.MULTILINE)
_LEAD = re.compile(r"led by ([A-Z][a-z]+ [A-Z][a-z]+)")
_WORD = re.compile(r"[a-z0-9]+")


def read(messages):
    """A research plan, a summary, a detailed answer, or :func:`read_passages`' reply to the other calls."""
    prompt = str(messages[-1].content)
    if "sub-questions" in prompt:
        question = prompt.split("Question: ", 1)[1].split("\n", 1)[0].rstrip("?")
        return {"subquestions": [part.strip().capitalize() + "?" for part in question.split(" and ")]}
    if prompt.startswith("Findings:"):
        return prompt.split("\n")[1]
    reply = read_passages(messages)
    if "Start with one sentence" in prompt:
        return f"{reply['answer']} leads it [{reply['sources'][0]}]." if reply["answer"] else "The passages do not say."
    return reply


def read_passages(messages) -> dict:
    """One reply that fits every structured call (plan, judge, answer, support check).

    The answer is the person a passage says leads something, from the passage that shares the most
    words with the question, cited by its number; with no such passage the answer is empty and the
    judge asks for "team lead".
    """
    passages, _, rest = str(messages[-1].content).rpartition("\nQuestion: ")
    question = set(_WORD.findall(rest.split("\n", 1)[0].lower()))
    starts = list(_PASSAGE.finditer(passages))
    best = None
    for i, match in enumerate(starts):
        passage = passages[match.end() : starts[i + 1].start() if i + 1 < len(starts) else len(passages)]
        lead = _LEAD.search(passage)
        shared = len(question & set(_WORD.findall(passage.lower())))
        if lead and (best is None or shared > best[0]):
            best = (shared, int(match.group(1)), lead.group(1))
    if best is not None:
        return {"searches": [], "answer": best[2], "sources": [best[1]], "missing": "", "next_query": "", "supported": True}
    return {"searches": [], "answer": "", "sources": [], "missing": "the lead", "next_query": "team lead", "supported": False}


def noisy_read(messages) -> dict:
    """:func:`read`, after writing to standard output the way careless code and native libraries do."""
    print("a stray print")
    os.write(1, b"a stray native write\n")
    return read(messages)


def reader_model() -> ScriptedChatModel:
    noisy = os.environ.get("FAKE_MCP_NOISY") == "1"
    return ScriptedChatModel(script=[noisy_read if noisy else read] * 10_000)


def main() -> None:
    import agentic_rag.agent.agent as agent_module
    import agentic_rag.tools.embeddings as embeddings_module
    from agentic_rag.cli import app

    embeddings_module.default_embeddings = lambda *a, **k: HashingEmbeddings()
    agent_module.resolve_chat_model = lambda spec, **kw: reader_model()
    app(["mcp", *sys.argv[1:]], prog_name="agentic-rag")


if __name__ == "__main__":
    main()
