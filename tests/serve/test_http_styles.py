"""Detailed answers, claims, the reader's instructions and research reports through the OpenAI client."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("fastapi", reason="the serve extra is not installed")
openai = pytest.importorskip("openai")

from agentic_rag.serve.app import create_app  # noqa: E402
from agentic_rag.serve.openai_protocol import ContentStream  # noqa: E402
from agentic_rag.serve.settings import ServeSettings  # noqa: E402
from tests.serve.http_world import WritingModel, agent_factory, knowledge_base, running  # noqa: E402


@pytest.fixture(scope="module")
def world():
    model = WritingModel()
    app = create_app(agent_factory(model, knowledge_base(), style="detailed"), ServeSettings())
    with running(app) as url:
        yield url, model


@pytest.fixture
def client(world):
    return openai.OpenAI(base_url=f"{world[0]}/v1", api_key="unused", max_retries=0)


def ask(client, question: str, **options):
    messages = options.pop("messages", [])
    return client.chat.completions.create(
        model=options.pop("model", "agentic-rag"), messages=[*messages, {"role": "user", "content": question}], **options)


def test_a_detailed_answer_keeps_its_markers_inline_and_carries_checked_claims(client):
    message = ask(client, "Who owns orbit07?").choices[0].message
    assert message.content.startswith("The orbit07 service is owned by the **Falcon07** team [1].")
    assert "| orbit07 | Falcon07 [1] |" in message.content
    claims = message.model_extra["claims"]
    assert claims and all(c["supported"] for c in claims if c["markers"])
    assert {c["source"] for c in message.model_extra["citations"]} == {"services/orbit07.md"}


def test_the_streamed_text_is_the_final_text_markers_and_all(client):
    final = ask(client, "Who owns orbit05?").choices[0].message.content
    stream = ask(client, "Who owns orbit05?", stream=True)
    chunks = list(stream)
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert streamed == final
    assert chunks[-1].choices[0].delta.model_extra["claims"]


def test_a_system_message_is_the_readers_instructions(world, client):
    _, model = world
    ask(client, "Who owns orbit03?", messages=[{"role": "system", "content": "Answer in French, in one line."}])
    assert any("The reader asks: Answer in French, in one line." in p for p in model.prompts())


def test_style_short_is_a_request_field(client):
    reply = ask(client, "Who owns orbit09?", extra_body={"style": "short"})
    assert reply.choices[0].message.content == "Falcon09 [1]"
    with pytest.raises(openai.UnprocessableEntityError):
        ask(client, "Who owns orbit09?", extra_body={"style": "poem"})


def test_too_long_instructions_are_refused_before_any_work(world, client):
    _, model = world
    before = len(model.prompts())
    with pytest.raises(openai.UnprocessableEntityError):
        ask(client, "Who owns orbit09?", messages=[{"role": "system", "content": "x" * 5000}])
    assert len(model.prompts()) == before


def test_the_research_model_answers_with_a_report(client):
    reply = ask(client, "Compare orbit02 and orbit04", model="agentic-rag-research")
    report = reply.choices[0].message.content
    assert report.startswith("# Compare orbit02 and orbit04")
    assert "## Who owns orbit02?" in report and "## Who owns orbit04?" in report and "## References" in report
    assert "Falcon02" in report and "Falcon04" in report
    assert {c["source"] for c in reply.choices[0].message.model_extra["citations"]} == {
        "services/orbit02.md", "services/orbit04.md"}


def test_a_marker_split_across_tokens_is_held_back_then_sent_whole():
    stream = ContentStream(keep_markers=True)
    sent = "".join(stream.token(t) for t in ["Falcon07 owns it [", "1", "]. More."])
    assert sent + stream.final("Falcon07 owns it [1]. More.") == "Falcon07 owns it [1]. More."
    bare = ContentStream()
    assert "".join(bare.token(t) for t in ["Falcon07 [", "1]"]) == "Falcon07"
    assert json.dumps(bare.final("Falcon07 [1]")) == json.dumps(" [1]")


def test_markers_the_checker_added_to_streamed_text_do_not_repeat_the_answer():
    stream = ContentStream(keep_markers=True)
    sent = "".join(stream.token(t) for t in ["Ines leads Harbor", ". Steps:\n\n1. Scale it", "."])
    rest = stream.final("Ines leads Harbor [1]. Steps:\n\n1. Scale it [2].\n2. Check the broker [3].")
    assert sent == "Ines leads Harbor. Steps:\n\n1. Scale it." and rest == "\n2. Check the broker [3]."
    other = ContentStream(keep_markers=True)
    other.token("Something else entirely.")
    assert other.final("Ines leads Harbor [1].") == "\n\nInes leads Harbor [1]."  # not a continuation: whole


def test_a_marker_the_checker_moved_does_not_repeat_the_answer():
    stream = ContentStream(keep_markers=True)
    stream.token("Odalys Fenwick leads it. [3]")
    assert stream.final("Odalys Fenwick leads it [2].") == ""
