"""Fakes for the tests and the benchmarks: instant, deterministic, nothing to download."""

from .fakes import HashingEmbeddings, ScriptedChatModel

__all__ = ["HashingEmbeddings", "ScriptedChatModel"]
