"""langgraph.json points at factories that build both graphs from the environment."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

from agentic_rag import studio
from agentic_rag.errors import ConfigurationError
from agentic_rag.tools.knowledge_base import KnowledgeBase
from tests.fakes import HashingEmbeddings, ScriptedChatModel

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def environment(tmp_path, monkeypatch):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "relay.md").write_text("Relay is owned by the Harbor team.")
    KnowledgeBase.from_paths([tmp_path / "docs"], HashingEmbeddings()).save(tmp_path / "idx")
    monkeypatch.setenv("AGENTIC_RAG_INDEX", str(tmp_path / "idx"))
    monkeypatch.setattr("agentic_rag.tools.embeddings.default_embeddings", lambda *a, **k: HashingEmbeddings())
    model = ScriptedChatModel(script=[{"answer": "the Harbor team", "sources": [1], "next_query": ""}])
    monkeypatch.setattr("agentic_rag.agent.models.resolve_chat_model", lambda spec, **kw: model)
    studio._model_and_tools.cache_clear()
    yield
    studio._model_and_tools.cache_clear()


def test_langgraph_json_names_both_graphs_and_they_build_and_run(environment):
    config = json.loads((ROOT / "langgraph.json").read_text())
    assert set(config["graphs"]) == {"agentic", "traditional"}
    for name, target in config["graphs"].items():
        path, attribute = target.split(":")
        module = importlib.import_module(path.removeprefix("./").removesuffix(".py").replace("/", "."))
        graph = getattr(module, attribute)({})
        assert {"start", "answer"} <= set(graph.get_graph().nodes)
    answer = studio.agentic({}).invoke({"question": "Who owns Relay?"})["answer"]
    assert answer.text == "the Harbor team [1]"


def test_a_missing_index_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTIC_RAG_INDEX", str(tmp_path / "nowhere"))
    studio._model_and_tools.cache_clear()
    with pytest.raises(ConfigurationError, match="no index at"):
        studio.agentic({})
    studio._model_and_tools.cache_clear()
