from pathlib import Path

import pytest

from agentic_rag.agent.settings import load_settings
from agentic_rag.errors import ConfigurationError


def test_paths_keys_and_empty_values(monkeypatch):
    monkeypatch.setenv("AGENTIC_RAG_INDEX", "some/index")
    monkeypatch.setenv("AGENTIC_RAG_MODEL_DIR", "")
    monkeypatch.setenv("AGENTIC_RAG_API_KEY", " one, ,two ")
    settings = load_settings()
    assert settings.index == Path("some/index") and settings.model_dir is None
    assert settings.api_keys() == ("one", "two")


def test_a_bad_value_names_its_variable(monkeypatch):
    monkeypatch.setenv("AGENTIC_RAG_K", "lots")
    with pytest.raises(ConfigurationError, match="AGENTIC_RAG_K"):
        load_settings()
