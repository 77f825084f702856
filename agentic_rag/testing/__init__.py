"""Fakes for the tests and the benchmarks: instant, deterministic, nothing to download."""

from agentic_rag.testing.fakes import HashingEmbeddings, ScriptedChatModel

__all__ = ["HashingEmbeddings", "ScriptedChatModel"]
