"""The custom-tool example: a SQLite lookup beside the knowledge base, both needed for one answer."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from agentic_rag import Agent, KnowledgeBase
from tests.fakes import HashingEmbeddings, ScriptedChatModel

ROOT = Path(__file__).resolve().parents[2]


def _example():
    spec = importlib.util.spec_from_file_location("service_costs", ROOT / "examples" / "service_costs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _number_of(text: str, prompt: str) -> int:
    """The number of the passage in ``prompt`` that contains ``text``."""
    return next(int(line[1:line.index("]")]) for line in prompt.splitlines() if line.startswith("[") and text in line)


def test_the_lookup_finds_named_services_only(tmp_path):
    example = _example()
    lookup = example.cost_lookup(example.create_costs_db(tmp_path / "costs.sqlite"))
    rows = lookup("parcel-pulse cost October")
    assert [r["id"] for r in rows] == ["service_costs:parcel-pulse:2026-09", "service_costs:parcel-pulse:2026-10"]
    assert "19,870 EUR" in rows[1]["text"]
    assert lookup("the weather") == []


def test_the_agent_uses_the_knowledge_base_then_the_cost_tool(tmp_path):
    example = _example()
    kb = KnowledgeBase.from_paths([ROOT / "examples" / "demo_corpus" / "services" / "parcel-pulse.md"], HashingEmbeddings())
    costs = example.cost_lookup(example.create_costs_db(tmp_path / "costs.sqlite"))
    model = ScriptedChatModel(
        script=[
            # the plan sees the cost tool by name and description
            {"searches": [{"tool": "search_knowledge_base", "query": "service that sends shipment notifications"}]},
            {"answer": "", "sources": [1], "missing": "its October cost", "next_query": "parcel-pulse cost"},
            # the second judge cites the cost row it read (a short answer reads four passages: the cited ones first)
            lambda messages: {"answer": "19,870 EUR", "sources": [_number_of("2026-10", messages[-1].content)],
                              "missing": "", "next_query": ""},
            lambda messages: {"answer": "19,870 EUR", "sources": [_number_of("2026-10", messages[-1].content)]},
        ]
    )
    agent = Agent(model, knowledge_base=kb, tools=[costs], style="short")
    answer = agent.ask(example.QUESTION)
    assert "service_costs: Monthly running costs" in model.prompts()[0]
    follow_ups = [s.detail for s in answer.steps if s.kind == "search"][1:]
    assert {f["tool"] for f in follow_ups} == {"search_knowledge_base", "service_costs"}
    assert answer.text == "19,870 EUR [1]"
    assert answer.citations[0].evidence_id == "service_costs:parcel-pulse:2026-10"
    assert answer.citations[0].source == "service_costs/parcel-pulse/2026-10"
