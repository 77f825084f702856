"""The chat page in headless Chromium (Debian's package, driven by Playwright): ask, watch, read a citation."""

from __future__ import annotations

import os
import shutil

import pytest

pytest.importorskip("fastapi", reason="the serve extra is not installed")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (the test extra)")

from agentic_rag.serve.app import create_app  # noqa: E402
from agentic_rag.serve.settings import ServeSettings  # noqa: E402
from tests.serve.http_world import ReadingModel, WritingModel, agent_factory, knowledge_base, running  # noqa: E402

CHROMIUM = os.environ.get("AGENTIC_RAG_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
# The flags a root user on a machine with no outside network needs.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium binary (Debian: apt-get install chromium; `make test` installs it as root)"
)


@pytest.fixture
def browser_page():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            yield browser.new_page()
        finally:
            browser.close()


def ask(page, question: str) -> None:
    page.fill("#question", question)
    page.click("#send")


def test_ask_watch_the_steps_and_open_a_citation(browser_page):
    page = browser_page
    app = create_app(agent_factory(ReadingModel(), knowledge_base()), ServeSettings())
    with running(app) as url:
        page.goto(url)
        ask(page, "Who owns orbit07?")
        turn = page.locator(".turn").nth(0)
        marker = turn.locator(".answer .text .marker")
        marker.wait_for(timeout=15_000)
        assert turn.locator(".answer .text").inner_text() == "Falcon07 [1]"
        steps = turn.locator(".steps li").all_inner_texts()
        assert any(s.startswith("search") and "3 passages" in s for s in steps), steps
        assert any(s.startswith("judge") for s in steps), steps

        marker.click()
        panel = turn.locator(".citation")
        assert panel.is_visible()
        assert panel.locator("blockquote").inner_text() == "The orbit07 service is owned by the Falcon07 team."
        assert "services/orbit07.md" in panel.locator(".source").inner_text()

        # the page keeps its conversation id: a follow-up is understood
        ask(page, "And who leads it?")
        second = page.locator(".turn").nth(1)
        second.locator(".answer .text .marker").wait_for(timeout=15_000)
        assert second.locator(".answer .text").inner_text() == "Avery07 [1]"
        assert "asked as: who leads orbit07?" in second.locator(".meta").inner_text()


def test_the_page_asks_for_a_key_when_the_server_needs_one(browser_page):
    page = browser_page
    app = create_app(agent_factory(ReadingModel(), knowledge_base()), ServeSettings(api_keys=("secret-key",)))
    with running(app) as url:
        page.goto(url)
        ask(page, "Who owns orbit01?")
        page.locator("#key-form").wait_for(state="visible", timeout=15_000)
        assert "API key" in page.locator(".turn .steps").inner_text()
        page.fill("#api-key", "secret-key")
        page.click("#key-form button")
        ask(page, "Who owns orbit01?")
        page.locator(".turn").nth(1).locator(".answer .text .marker").wait_for(timeout=15_000)
        assert page.locator(".turn").nth(1).locator(".answer .text").inner_text() == "Falcon01 [1]"


def test_enter_does_not_ask_while_a_question_runs(browser_page):
    import threading

    page = browser_page
    entered, release = threading.Event(), threading.Event()

    def hold(question: str) -> None:
        if "orbit20" in question:
            entered.set()
            release.wait(timeout=30)

    app = create_app(agent_factory(ReadingModel(on_question=hold), knowledge_base()), ServeSettings())
    with running(app) as url:
        page.goto(url)
        ask(page, "Who owns orbit20?")
        assert entered.wait(timeout=15)
        page.fill("#question", "Who owns orbit03?")
        page.press("#question", "Enter")
        assert page.locator(".turn").count() == 1
        assert page.input_value("#question") == "Who owns orbit03?"  # kept for when the answer is in
        release.set()
        page.locator(".turn .answer .text .marker").wait_for(timeout=15_000)
        page.press("#question", "Enter")
        page.locator(".turn").nth(1).locator(".answer .text .marker").wait_for(timeout=15_000)
        assert page.locator(".turn").nth(1).locator(".answer .text").inner_text() == "Falcon03 [1]"


def test_a_broken_stream_shows_an_error(browser_page):
    page = browser_page
    app = create_app(agent_factory(ReadingModel(), knowledge_base()), ServeSettings())
    with running(app) as url:
        page.route("**/v1/research", lambda route: route.fulfill(
            status=200, content_type="text/event-stream", body='event: plan\ndata: {"searches": [\n\n'))
        page.goto(url)
        ask(page, "Who owns orbit01?")
        alert = page.locator(".turn .steps [role=alert]")
        alert.wait_for(timeout=15_000)
        assert "broke off" in alert.inner_text()
        assert page.locator(".turn .answer .text.writing").count() == 0
        assert page.is_enabled("#send")


HOSTILE = ('<img src=x onerror="window.__xss = 1"> <script>window.__xss = 2</script> '
           '[click](javascript:window.__xss=3) **<b onmouseover="window.__xss=4">bold</b>**')


def test_a_detailed_answer_is_rendered_as_markdown_and_nothing_in_it_runs(browser_page):
    page = browser_page
    model = WritingModel(extra=f"1. First step\n2. {HOSTILE}")
    app = create_app(agent_factory(model, knowledge_base(), style="detailed"), ServeSettings())
    with running(app) as url:
        page.goto(url)
        ask(page, "Who owns orbit07?")
        text = page.locator(".turn .answer .text")
        text.locator(".marker").first.wait_for(timeout=15_000)
        assert text.locator("strong").first.inner_text() == "Falcon07"
        assert text.locator("table td").all_inner_texts() == ["orbit07", "Falcon07 [1]"]
        assert text.locator("ol li").count() == 2
        # the hostile text is shown as text: no element, no handler, no script ran
        assert text.locator("img, script, b, a").count() == 0
        assert '<img src=x onerror="window.__xss = 1">' in text.inner_text()
        text.locator("ol li").nth(1).hover()
        assert page.evaluate("window.__xss") is None
        text.locator("table .marker").click()
        assert "services/orbit07.md" in page.locator(".turn .citation .source").inner_text()


def test_a_research_report_shows_its_plan_its_sub_questions_and_its_sections(browser_page):
    page = browser_page
    app = create_app(agent_factory(WritingModel(), knowledge_base(), style="detailed"), ServeSettings())
    with running(app) as url:
        page.goto(url)
        page.select_option("#model", "agentic-rag-research")
        ask(page, "Compare orbit02 and orbit04")
        turn = page.locator(".turn")
        turn.locator(".answer .text h3").first.wait_for(timeout=30_000)
        steps = turn.locator(".steps li").all_inner_texts()
        assert any(s.startswith("plan") and "2 sub-questions" in s for s in steps), steps
        assert sum(1 for s in steps if s.startswith("done")) == 2, steps
        assert any(s.startswith("search") and s[len("search"):].strip().startswith("[1]") for s in steps), steps
        headings = turn.locator(".answer .text h3").all_inner_texts()
        assert headings == ["Who owns orbit02?", "Who owns orbit04?", "References"]
        assert turn.locator(".answer .text h2").inner_text() == "Compare orbit02 and orbit04"
