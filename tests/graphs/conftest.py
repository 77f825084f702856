"""A tiny corpus and search tool for graph tests."""

from __future__ import annotations

import pytest
from langchain_core.tools import StructuredTool

from agentic_rag.evidence import Evidence

CORPUS = {
    "services/relay.md#0": ("services/relay.md", "The Relay service sends shipment notifications. Relay is owned by the Harbor team."),
    "teams/harbor.md#0": ("teams/harbor.md", "The Harbor team is led by Ines Okafor. Harbor runs messaging services."),
    "teams/atlas.md#0": ("teams/atlas.md", "The Atlas team is led by Tomas Reyes and owns billing."),
}


def _search(query: str, k: int = 4) -> list[Evidence]:
    """Search the test corpus by shared words."""
    words = set(query.lower().split())
    scored = []
    for evidence_id, (source, text) in CORPUS.items():
        score = len(words & set(text.lower().replace(".", "").split()))
        if score:
            scored.append((score, evidence_id, source, text))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [Evidence(id=i, source=s, text=t, span=(0, len(t)), score=float(sc)) for sc, i, s, t in scored[:k]]


@pytest.fixture
def search_tool():
    return StructuredTool.from_function(_search, name="search_knowledge_base")
