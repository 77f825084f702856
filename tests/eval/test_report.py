"""Summaries, the Markdown table and provenance."""

from __future__ import annotations

import pytest

from agentic_rag.eval.report import git_commit, markdown_table, summarise


def _row(qid: str, f1: float, calls: int, by_round: list[float], exit_reason: str = "answered") -> dict:
    metrics = {"em": float(f1 == 1.0), "f1": f1, "supporting_recall": by_round[-1] if by_round else 0.0,
               "answer_recall": 0.5, "citation_precision": None, "rounds": len(by_round), "recall_by_round": by_round}
    usage = {"llm_calls": calls, "prompt_tokens": 100, "completion_tokens": 10, "tool_calls": 1, "seconds": 1.0}
    return {"id": qid, "metrics": metrics, "usage": usage, "exit_reason": exit_reason}


def test_summary_means_rounds_comparisons_and_table():
    rows = {
        "traditional": [_row("a", 0.0, 1, [0.5]), _row("b", 1.0, 1, [1.0]), {"id": "c", "error": "RuntimeError: x"}],
        "agentic": [_row("a", 1.0, 3, [0.5, 1.0], "budget_rounds"), _row("b", 1.0, 4, [0.5]), _row("c", 0.5, 2, [])],
    }
    summary = summarise(rows, run={"dataset": "d.json", "model": "fake", "seed": 0})
    traditional, agentic = summary["graphs"]["traditional"], summary["graphs"]["agentic"]
    assert (traditional["n"], traditional["errors"]) == (2, 1)
    assert agentic["metrics"]["f1"]["mean"] == pytest.approx(2.5 / 3)
    assert agentic["metrics"]["llm_calls"]["mean"] == 3.0
    assert agentic["metrics"]["citation_precision"] == {"mean": None, "low": None, "high": None, "n": 0}
    assert agentic["exit_reasons"] == {"budget_rounds": 1, "answered": 2}
    # round 2: question a reached 1.0, b keeps its 0.5, c never searched (0)
    assert [r["mean"] for r in agentic["recall_by_round"]] == pytest.approx([1 / 3, 0.5])
    assert [r["reached"] for r in agentic["recall_by_round"]] == [2, 1]
    f1 = next(c for c in summary["comparisons"] if c["metric"] == "f1")
    assert (f1["graph"], f1["baseline"]) == ("agentic", "traditional")
    assert f1["difference"]["mean"] == pytest.approx(0.5) and f1["difference"]["n"] == 2  # c failed for traditional
    table = markdown_table(summary)
    assert "| traditional | 2 (1 failed) |" in table
    assert "| agentic | 3 | 66.7 [" in table
    rounds_rows = [line for line in table.splitlines() if line.startswith("| traditional | 75.0")]
    assert rounds_rows and rounds_rows[0].count("|") == 4  # padded to the agentic graph's two rounds


def test_git_commit_reads_refs_without_git(tmp_path):
    git = tmp_path / ".git"
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    assert git_commit(tmp_path) is None  # no commit yet
    (git / "packed-refs").write_text("# pack-refs with: peeled\n" + "a" * 40 + " refs/heads/main\n")
    assert git_commit(tmp_path / "sub" / "dir") == "a" * 40
    (git / "refs" / "heads" / "main").write_text("b" * 40 + "\n")
    assert git_commit(tmp_path) == "b" * 40
    (git / "HEAD").write_text("c" * 40 + "\n")  # detached
    assert git_commit(tmp_path) == "c" * 40
