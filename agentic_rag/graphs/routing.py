"""Edges of the agentic graph: where to go after each node."""

from __future__ import annotations

from typing import Literal

from agentic_rag.graphs.state import RAGState

__all__ = ["after_plan", "after_search", "after_judge", "after_refine"]


def after_plan(state: RAGState) -> Literal["search", "answer"]:
    """Search if the plan asked for searches, else answer directly."""
    return "search" if state.get("pending") else "answer"


def after_search(state: RAGState) -> Literal["judge", "answer"]:
    """Judge new evidence; with nothing new the loop ends."""
    return "judge" if state.get("new_ids") and state.get("exit_reason") is None else "answer"


def after_judge(state: RAGState) -> Literal["refine", "answer"]:
    """Answer when the evidence suffices or a budget ran out; otherwise look for what is missing."""
    if state.get("sufficient") or state.get("exit_reason") is not None:
        return "answer"
    return "refine"


def after_refine(state: RAGState) -> Literal["search", "answer"]:
    """Search again if refine left a new query, else answer with what was found."""
    return "search" if state.get("pending") and state.get("exit_reason") is None else "answer"
