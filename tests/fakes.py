"""The test doubles, kept in the package (``agentic_rag.testing``) so the benchmarks use them too."""

from agentic_rag.testing.fakes import HashingEmbeddings, ScriptedChatModel

__all__ = ["HashingEmbeddings", "ScriptedChatModel"]
