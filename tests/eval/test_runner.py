"""The runner end to end on a fake model and fake embeddings: files written, resume, clean CLI errors."""

from __future__ import annotations

import json
import re

import pytest
import typer
from typer.testing import CliRunner

from agentic_rag.errors import ConfigurationError
from agentic_rag.eval import runner as runner_module
from agentic_rag.eval.command import eval_command
from agentic_rag.eval.runner import EvalConfig, EvalError, read_rows, run_eval, sample_examples
from agentic_rag.graphs import Budget, prompts
from tests.fakes import HashingEmbeddings, ScriptedChatModel

from .test_datasets import HOTPOT, write_json

pytest.importorskip("matplotlib", reason="the eval report needs matplotlib (pip install matplotlib)")

_PASSAGE = re.compile(r"^\[1\] \(([^)]*)\)", re.MULTILINE)
# The fixed text after the question in each prompt tells which call this is, whatever the wording.
_PLAN_TAIL = prompts.PLAN.split("{question}")[1].strip()[:40]
_JUDGE_TAIL = prompts.JUDGE.split("{answer_rule}")[1].split("\n")[0].strip()[-40:]
_ANSWER_TAIL = prompts.ANSWER.split("{answer_rule}")[1].strip()[-40:]


def respond(messages) -> object:
    """Plan with the question, judge the first passage sufficient, answer with the first passage's title."""
    # the judge answers "it" from passage 1; the answer step (traditional graph) names passage 1's title
    prompt = str(messages[-1].content)
    if _PLAN_TAIL in prompt:
        question = prompt.split("Question: ", 1)[-1].splitlines()[0]
        return {"needs_search": True, "searches": [{"tool": "search_knowledge_base", "query": question}]}
    if _JUDGE_TAIL in prompt:
        # fields of the judge schema as it was and as it is: extra ones are ignored
        return {"facts": "The first passage answers it [1].", "answer": "it", "sources": [1], "relevant": [1],
                "sufficient": True, "missing": "", "next_query": ""}
    match = _PASSAGE.search(prompt)
    title = match.group(1) if match else "nothing"
    if _ANSWER_TAIL in prompt:
        return {"answer": title, "sources": [1]}
    return f"{title} [1]."


def fake_model(replies: int = 100) -> ScriptedChatModel:
    return ScriptedChatModel(script=[respond] * replies)


def config(tmp_path, **overrides) -> EvalConfig:
    dataset = write_json(tmp_path / "hotpot.json", HOTPOT)
    values = {"dataset": dataset, "format": "hotpotqa", "limit": 2, "seed": 1, "out": tmp_path / "out",
              "cache_dir": tmp_path / "cache", "budget": Budget(max_rounds=2, max_llm_calls=4)}
    return EvalConfig(**(values | overrides))


def test_sample_is_seeded_and_a_larger_limit_extends_it():
    items = list(range(20))
    assert sample_examples(items, 5, seed=7) == sample_examples(items, 5, seed=7)
    assert sample_examples(items, 8, seed=7)[:5] == sample_examples(items, 5, seed=7)
    assert sample_examples(items, 5, seed=8) != sample_examples(items, 5, seed=7)
    assert sorted(sample_examples(items, None, seed=7)) == items


def test_end_to_end_run_writes_rows_summary_table_and_plots(tmp_path):
    model = fake_model()
    result = run_eval(config(tmp_path), model=model, embeddings=HashingEmbeddings(), show_progress=False)
    out = tmp_path / "out"
    names = {p.name for p in out.iterdir()}
    assert {"run.json", "traditional.jsonl", "agentic.jsonl", "summary.json", "summary.md",
            "f1_vs_llm_calls.png", "recall_by_round.png"} <= names
    assert result.ran == 4 and result.skipped == 0 and result.failed == 0
    traditional, agentic = read_rows(out / "traditional.jsonl"), read_rows(out / "agentic.jsonl")
    assert [r["id"] for r in traditional] == [r["id"] for r in agentic]  # the same sample, the same order
    # every traditional question before any agentic one: no graph's prompt is cached from the other's
    prompts = model.prompts()
    assert all(_PLAN_TAIL not in p and _JUDGE_TAIL not in p for p in prompts[:2])
    assert _PLAN_TAIL in prompts[2] or _JUDGE_TAIL in prompts[2]
    row = agentic[0]
    assert {"question", "gold", "prediction", "citations", "metrics", "usage", "exit_reason", "trace"} <= set(row)
    kinds = [s["kind"] for s in row["trace"]]
    assert kinds[0] == "plan" and "search" in kinds and "judge" in kinds and kinds[-1] == "answer"
    # the judge answers from passage 1 (the fake always cites it): "Who leads the team that owns
    # Relay?" is not settled by the passage on Relay, which lacks "leads", so the search goes on
    calls = {r["id"]: r["usage"]["llm_calls"] for r in agentic}
    assert calls["h2"] > 1 and traditional[0]["usage"]["llm_calls"] == 1
    assert row["prediction"].endswith("[1]") and traditional[0]["prediction"].endswith("[1]")
    assert 0.0 <= row["metrics"]["f1"] <= 1.0 and row["metrics"]["rounds"] >= 1
    assert row["citations"][0]["evidence_id"].endswith("#0")
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["graphs"]) == {"traditional", "agentic"}
    assert summary["graphs"]["agentic"]["n"] == 2
    calls = [r["usage"]["llm_calls"] for r in agentic]
    assert summary["graphs"]["agentic"]["metrics"]["llm_calls"]["mean"] == pytest.approx(sum(calls) / len(calls))
    assert {c["metric"] for c in summary["comparisons"]} >= {"f1"}
    assert summary["run"]["seed"] == 1 and summary["environment"]["machine"]["cpus"]
    table = (out / "summary.md").read_text()
    assert "| agentic | 2 |" in table and "| traditional | 2 |" in table
    assert (out / "f1_vs_llm_calls.png").read_bytes()[:4] == b"\x89PNG"


def test_rerun_skips_done_pairs_and_extends_the_sample(tmp_path):
    run_eval(config(tmp_path), model=fake_model(), embeddings=HashingEmbeddings(), show_progress=False)
    first_ids = [r["id"] for r in read_rows(tmp_path / "out" / "agentic.jsonl")]

    idle = ScriptedChatModel(script=[])  # would fail on any call
    again = run_eval(config(tmp_path), model=idle, embeddings=HashingEmbeddings(), show_progress=False)
    assert (again.ran, again.skipped) == (0, 4) and idle.calls == []

    more = run_eval(config(tmp_path, limit=3), model=fake_model(), embeddings=HashingEmbeddings(), show_progress=False)
    assert (more.ran, more.skipped) == (2, 4)
    ids = [r["id"] for r in read_rows(tmp_path / "out" / "agentic.jsonl")]
    assert ids[:2] == first_ids and len(ids) == 3
    assert more.summary["graphs"]["agentic"]["n"] == 3


def test_failed_and_half_written_rows_are_run_again(tmp_path):
    run_eval(config(tmp_path), model=fake_model(), embeddings=HashingEmbeddings(), show_progress=False)
    path = tmp_path / "out" / "agentic.jsonl"
    rows = read_rows(path)
    failed = {k: rows[0][k] for k in ("id", "graph", "question", "gold")} | {"error": "RuntimeError: boom"}
    # the first question failed; the second row was cut off by a crash mid-write
    path.write_text(json.dumps(failed) + "\n" + json.dumps(rows[1])[:40], encoding="utf-8")
    result = run_eval(config(tmp_path), model=fake_model(), embeddings=HashingEmbeddings(), show_progress=False)
    assert (result.ran, result.skipped) == (2, 2)
    latest = {r["id"]: r for r in read_rows(path)}
    assert len(latest) == 2 and all("error" not in r for r in latest.values())


def test_rerun_with_other_settings_is_refused(tmp_path):
    run_eval(config(tmp_path), model=fake_model(), embeddings=HashingEmbeddings(), show_progress=False)
    with pytest.raises(EvalError, match="seed 1 -> 2"):
        run_eval(config(tmp_path, seed=2), model=fake_model(), embeddings=HashingEmbeddings(), show_progress=False)


def test_the_adaptive_mode_is_a_setting_of_the_run(tmp_path):
    run_eval(config(tmp_path, adaptive="off"), model=fake_model(), embeddings=HashingEmbeddings(), show_progress=False)
    out = tmp_path / "out"
    assert json.loads((out / "run.json").read_text())["adaptive"] == "off"
    assert "adaptive off" in (out / "summary.md").read_text()
    # without the adaptive path the judge's answer is never final: every agentic row has an answer call
    assert all(r["usage"]["llm_calls"] >= 2 for r in read_rows(out / "agentic.jsonl"))
    with pytest.raises(EvalError, match="adaptive 'off' -> 'wording'"):
        run_eval(config(tmp_path), model=fake_model(), embeddings=HashingEmbeddings(), show_progress=False)
    # by default the one-hop question ("Who leads the Atlas team?") ends on the judge's answer
    run_eval(config(tmp_path, out=tmp_path / "default"), model=fake_model(), embeddings=HashingEmbeddings(), show_progress=False)
    assert sorted(r["usage"]["llm_calls"] for r in read_rows(tmp_path / "default" / "agentic.jsonl")) == [1, 2]


def test_a_run_recorded_before_the_adaptive_setting_resumes_with_the_default(tmp_path):
    run_eval(config(tmp_path), model=fake_model(), embeddings=HashingEmbeddings(), show_progress=False)
    path = tmp_path / "out" / "run.json"
    recorded = json.loads(path.read_text())
    del recorded["adaptive"]
    path.write_text(json.dumps(recorded))
    result = run_eval(config(tmp_path), model=fake_model(), embeddings=HashingEmbeddings(), show_progress=False)
    assert result.skipped == 4 and result.ran == 0


def test_an_unknown_adaptive_mode_is_refused(tmp_path):
    with pytest.raises(ConfigurationError, match="unknown adaptive mode 'sometimes'"):
        run_eval(config(tmp_path, adaptive="sometimes"), model=fake_model(), embeddings=HashingEmbeddings(), show_progress=False)


def test_persistent_failures_stop_the_run(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        class Graph:
            def invoke(self, state):
                raise RuntimeError("boom")

        return Graph()

    monkeypatch.setitem(runner_module.GRAPHS, "agentic", broken)
    with pytest.raises(EvalError, match="RuntimeError: boom"):
        run_eval(config(tmp_path, graphs=("agentic",), limit=3), model=fake_model(), embeddings=HashingEmbeddings(),
                 show_progress=False)


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("eval")(eval_command)
    return app


def test_cli_runs_end_to_end(tmp_path, monkeypatch):
    monkeypatch.setattr(runner_module, "_load_model", lambda name: fake_model())
    monkeypatch.setattr(runner_module, "_load_embeddings", HashingEmbeddings)
    dataset = write_json(tmp_path / "hotpot.json", HOTPOT)
    args = [str(dataset), "--format", "hotpotqa", "--graphs", "traditional,agentic", "--limit", "2", "--seed", "3",
            "--model", "fake", "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache"),
            "--k", "2", "--max-rounds", "2", "--no-progress"]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 0, result.output
    assert "4 runs, 0 already done" in result.output
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run["k"] == 2 and run["budget"]["max_rounds"] == 2 and run["model"] == "fake"
    assert (tmp_path / "out" / "recall_by_round.png").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.json"], "error: dataset file missing.json does not exist"),
        (["{data}", "--graphs", "agentic,magic"], "error: unknown graph 'magic'"),
        (["{data}", "--format", "musique"], "error: {data} holds no valid musique record"),
    ],
)
def test_cli_errors_are_one_clean_line(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    write_json(tmp_path / "data.json", HOTPOT)
    args = [a.replace("{data}", "data.json") for a in args]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(message.replace("{data}", "data.json"))


def test_rows_record_the_commit_that_produced_them_and_the_summary_reports_it(tmp_path, monkeypatch):
    monkeypatch.setattr("agentic_rag.eval.report.git_commit", lambda *a, **k: "a" * 40)
    run_eval(config(tmp_path), model=fake_model(), embeddings=HashingEmbeddings(), show_progress=False)
    monkeypatch.setattr("agentic_rag.eval.report.git_commit", lambda *a, **k: "b" * 40)  # newer code, nothing left to run
    run_eval(config(tmp_path), model=ScriptedChatModel(script=[]), embeddings=HashingEmbeddings(), show_progress=False)
    assert {r["commit"] for r in read_rows(tmp_path / "out" / "agentic.jsonl")} == {"a" * 40}
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["environment"]["commit"] == "a" * 40
    assert f"commit {'a' * 40}" in (tmp_path / "out" / "summary.md").read_text()


def test_a_summary_of_rows_from_two_commits_says_which_graph_came_from_which(tmp_path, monkeypatch):
    monkeypatch.setattr("agentic_rag.eval.report.git_commit", lambda *a, **k: "a" * 40)
    run_eval(config(tmp_path, graphs=("traditional",)), model=fake_model(), embeddings=HashingEmbeddings(), show_progress=False)
    monkeypatch.setattr("agentic_rag.eval.report.git_commit", lambda *a, **k: "b" * 40)
    run_eval(config(tmp_path), model=fake_model(), embeddings=HashingEmbeddings(), show_progress=False)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["environment"]["commit_by_graph"] == {"traditional": "a" * 40, "agentic": "b" * 40}
    assert f"traditional rows from {'a' * 40}; agentic rows from {'b' * 40}" in (tmp_path / "out" / "summary.md").read_text()


def test_an_eval_on_a_postgres_store_indexes_the_pool_once_and_scores_the_same_rows(tmp_path, postgres_url):
    from agentic_rag.eval.corpus import load_or_build_corpus
    from agentic_rag.eval.datasets import read_dataset

    faiss = run_eval(config(tmp_path, out=tmp_path / "faiss"), model=fake_model(), embeddings=HashingEmbeddings(),
                     show_progress=False)
    pg = run_eval(config(tmp_path, out=tmp_path / "pg", store=postgres_url), model=fake_model(),
                  embeddings=HashingEmbeddings(), show_progress=False)
    assert pg.ran == faiss.ran == 4
    run = json.loads((tmp_path / "pg" / "run.json").read_text())
    assert run["store"].startswith("postgresql://") and json.loads((tmp_path / "faiss" / "run.json").read_text())["store"] == "faiss"
    for graph in ("traditional", "agentic"):
        rows = read_rows(tmp_path / "pg" / f"{graph}.jsonl")
        assert all(not r.get("error") for r in rows) and rows[0]["citations"]
        assert [r["id"] for r in rows] == [r["id"] for r in read_rows(tmp_path / "faiss" / f"{graph}.jsonl")]
    again = load_or_build_corpus(read_dataset(tmp_path / "hotpot.json", "hotpotqa"), HashingEmbeddings(), store=postgres_url,
                                 cache_dir=tmp_path / "cache", chunk_size=800, chunk_overlap=200)
    assert again.reused and len(again.kb) >= len(again.documents)  # nothing embedded the second time
    again.kb.close()
