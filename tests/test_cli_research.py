"""`agentic-rag research` and detailed answers from the command line, on fakes."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from agentic_rag import cli
from tests.fakes import HashingEmbeddings, ScriptedChatModel

runner = CliRunner()
QUESTION = "Compare the Harbor team and the Atlas team"


def _asked(prompt: str) -> str:
    return prompt.rsplit("Question: ", 1)[-1].split("\n", 1)[0]


def writer(messages):
    """Sub-questions per team, a judge and a detailed answer citing the passage that names the lead."""
    text = str(messages[-1].content)
    if "sub-questions" in text:
        return {"subquestions": ["Who leads the Harbor team?", "Who leads the Atlas team?"]}
    if text.startswith("Findings:"):
        return "Harbor is led by Ines Okafor [1] and Atlas by Tomas Reyes [2]."
    asked = _asked(text)
    lead = "Ines Okafor" if "Harbor" in asked else "Tomas Reyes"
    numbered = [line for line in text.splitlines() if line.startswith("[")]
    cited = next((n for n, line in enumerate(numbered, start=1) if lead in line), None)
    if "Give the numbers of the passages" in text:
        return {"answer": lead if cited else "", "sources": [cited] if cited else [], "missing": "", "next_query": ""}
    return f"The team is led by **{lead}** [{cited}].\n\n1. Page the lead [{cited}]." if cited else "The passages do not say."


@pytest.fixture
def index(tmp_path, monkeypatch):
    monkeypatch.setattr("agentic_rag.tools.embeddings.default_embeddings", lambda *a, **k: HashingEmbeddings())
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "harbor.md").write_text("# Harbor\n\nThe Harbor team is led by Ines Okafor.\n")
    (docs / "atlas.md").write_text("# Atlas\n\nThe Atlas team is led by Tomas Reyes.\n")
    assert runner.invoke(cli.app, ["index", str(docs), "--index", str(tmp_path / "idx")]).exit_code == 0
    model = ScriptedChatModel(script=[writer] * 30)
    monkeypatch.setattr("agentic_rag.agent.agent.resolve_chat_model", lambda spec, **kw: model)
    return tmp_path / "idx"


def test_research_shows_the_plan_and_each_subquestion_then_writes_the_report(index, tmp_path):
    out = tmp_path / "report.md"
    result = runner.invoke(cli.app, ["research", QUESTION, "--index", str(index), "--k", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    lines = result.stdout
    assert "2 sub-questions" in lines and "1. Who leads the Harbor team?" in lines
    assert lines.count("] answered") == 2
    assert lines.index("2 sub-questions") < lines.index("] answered") < lines.index(QUESTION + "\n\n")
    # "Page the lead" is in no passage: the view says so
    assert "2 of 5 claims are not supported by the passages they cite" in lines
    report = out.read_text()
    assert report.startswith(f"# {QUESTION}\n") and "## References" in report
    assert "Ines Okafor" in report and "Tomas Reyes" in report
    assert f"report written to {out}" in " ".join(lines.split())


def test_research_json_is_the_answer_with_its_claims(index):
    result = runner.invoke(cli.app, ["research", QUESTION, "--index", str(index), "--k", "1", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["style"] == "report" and data["citations"]
    checked = {(c["text"], c["supported"]) for c in data["claims"]}
    assert checked == {("Harbor is led by Ines Okafor and Atlas by Tomas Reyes.", True),
                       ("The team is led by **Ines Okafor**.", True), ("The team is led by **Tomas Reyes**.", True),
                       ("Page the lead.", False)}


def test_ask_answers_in_detail_by_default_and_json_has_the_claims(index):
    result = runner.invoke(cli.app, ["ask", "Who leads the Harbor team?", "--index", str(index), "--k", "1", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["answer"].startswith("The team is led by **Ines Okafor** [1].")
    claims = [(c["text"], c["markers"], c["supported"]) for c in data["claims"]]
    assert claims == [("The team is led by **Ines Okafor**.", [1], True), ("Page the lead.", [1], False)]


@pytest.mark.parametrize(("args", "message"), [
    (["research", "  "], "question is empty"),
    (["research", "Q", "--resume"], "--resume needs --thread"),
    (["research", "Q", "--out", "/no/such/dir/r.md"], "no directory"),
    (["research", "Q", "--set", "max_subquestions=9"], "max_subquestions"),
    (["ask", "Q", "--style", "poem"], "style"),
])
def test_bad_research_options_are_one_line_errors(index, args, message):
    result = runner.invoke(cli.app, [*args, "--index", str(index)])
    assert result.exit_code == 1, result.output
    assert message in result.stderr and "Traceback" not in result.stderr
