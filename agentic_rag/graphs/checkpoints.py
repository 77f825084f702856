"""Checkpoints of the graphs' state: LangGraph's serializer told of the types the state holds.

A checkpointer built with LangGraph's default serializer reads each of this package's types back
with a warning; :func:`with_state_types` (applied by the graph builders and the ``Agent``) and
:func:`state_serializer` (for a checkpointer of your own app) register them. Nothing is pickled.
"""

from __future__ import annotations

from typing import Any

__all__ = ["state_serializer", "with_state_types"]


def _state_types() -> list[type]:
    from agentic_rag import steps
    from agentic_rag.answer import Answer, Citation, Claim, ClaimQuote, ExitReason
    from agentic_rag.evidence import Evidence
    from agentic_rag.graphs.budget import Budget
    from agentic_rag.graphs.research_state import Finding
    from agentic_rag.graphs.state import JudgeDraft
    from agentic_rag.usage import Usage

    step_types = [steps.Step, steps.SearchRequest, steps.PlanDetail, steps.SearchDetail, steps.JudgeDetail,
                  steps.RefineDetail, steps.AnswerDetail, steps.RewriteDetail, steps.DecomposeDetail,
                  steps.SubquestionDetail, steps.ReportDetail]
    return [Answer, Citation, Claim, ClaimQuote, Finding, ExitReason, Usage, Evidence, Budget, JudgeDraft, *step_types]


def _stored_types() -> set[tuple[str, str]]:
    """Every class the graphs' checkpoints hold: this package's records and LangChain's messages and documents."""
    from langchain_core import messages
    from langchain_core.documents import Document

    message_types = [getattr(messages, name) for name in dir(messages)
                     if isinstance(getattr(messages, name), type) and issubclass(getattr(messages, name), messages.BaseMessage)]
    return {(t.__module__, t.__name__) for t in [*_state_types(), *message_types, Document]}


def state_serializer() -> Any:
    """LangGraph's msgpack/JSON serializer (never pickle) allowed to rebuild the graphs' state types.

    For a checkpointer of your own app that stores these graphs' state (the agent as a node of your
    graph), pass ``serde=state_serializer()`` or wrap it with :func:`with_state_types`.
    """
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    return JsonPlusSerializer(allowed_msgpack_modules=sorted(_stored_types()))


def with_state_types(checkpointer: Any) -> Any:
    """A shallow copy of ``checkpointer`` (same storage) whose serializer rebuilds the graphs' state types quietly.

    LangGraph's default serializer loads every type with a warning for each it was not told of
    ("will be blocked in a future version"). The copy is told of the types these graphs store, and
    blocks others, as LangGraph's strict mode does; a serializer given an allowlist keeps it, with
    these types added. The checkpointer passed in is left as it was, so a graph of the user's own
    that shares it keeps its choices. A serializer that is not LangGraph's is left alone.
    """
    import copy

    from langgraph.checkpoint.serde.base import maybe_add_typed_methods
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    serde = getattr(checkpointer, "serde", None)
    if type(serde) is not JsonPlusSerializer:
        return checkpointer
    ours = _stored_types()
    allowed = getattr(serde, "_allowed_msgpack_modules", None)
    if allowed is True:  # every type, each with a warning: the copy allows what these graphs store
        clone = copy.copy(checkpointer)
        clone.serde = maybe_add_typed_methods(JsonPlusSerializer(
            pickle_fallback=serde.pickle_fallback, allowed_json_modules=getattr(serde, "_allowed_json_modules", None),
            allowed_msgpack_modules=sorted(ours),
        ))
        return clone
    if allowed and ours <= set(allowed):
        return checkpointer
    return checkpointer.with_allowlist(ours)
