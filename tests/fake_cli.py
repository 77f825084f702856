"""`agentic-rag` with fake embeddings and a scripted model, for tests that run the command as a process.

    FAKE_CLI_SCRIPT='[...]' FAKE_CLI_CALLS=calls.txt python tests/fake_cli.py ask ...

``FAKE_CLI_SCRIPT`` is a JSON list of the model's replies; a ``"HANG"`` entry blocks that call
forever, so a test can kill the process in the middle of a run. Each model call appends a line to
the file ``FAKE_CLI_CALLS`` first, so the test can count the calls a process made.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fakes import HashingEmbeddings, ScriptedChatModel  # noqa: E402


def _reply(entry):
    def reply(messages):
        with open(os.environ["FAKE_CLI_CALLS"], "a", encoding="utf-8") as calls:
            calls.write("call\n")
        if entry == "HANG":
            time.sleep(3600)
        return entry

    return reply


def main() -> None:
    import agentic_rag.agent.agent as agent_module
    import agentic_rag.tools.embeddings as embeddings_module
    from agentic_rag import cli

    model = ScriptedChatModel(script=[_reply(e) for e in json.loads(os.environ["FAKE_CLI_SCRIPT"])])
    embeddings_module.default_embeddings = lambda *a, **k: HashingEmbeddings()
    agent_module.resolve_chat_model = lambda spec, **kw: model
    sys.argv[0] = "agentic-rag"
    cli.main()


if __name__ == "__main__":
    main()
