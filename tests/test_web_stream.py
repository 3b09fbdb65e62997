"""Streaming answers in the browser from a real language model: the web UI against a chatkb
server whose LLM is the llama.cpp server with SmolLM2-135M (tests/_llm_server.py).

The model is tiny, so these tests check how answers arrive (in pieces, stoppable, labelled
with the model), not what they say.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from _datasets import doc
from chatkb.llm.llamacpp_server import LlamaCppServer
from chatkb.settings import load_settings
from test_web_ui import chromium, clean_env, expect, new_page, pick_kb, serve, shot

pytestmark = pytest.mark.server

KB = "wiki"
ANSWER_MS = 120_000  # one CPU thread reads the prompt for several seconds before it answers


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def llm_web(tmp_path_factory: pytest.TempPathFactory, llm_server: LlamaCppServer) -> Iterator[str]:
    home = tmp_path_factory.mktemp("web-llm-home")
    with pytest.MonkeyPatch.context() as mp:
        clean_env(mp, home)
        mp.setenv("CHATKB_LLM__BACKEND", "openai")
        mp.setenv("CHATKB_LLM__BASE_URL", llm_server.base_url)
        mp.setenv("CHATKB_LLM__MODEL", llm_server.model)
        mp.setenv("CHATKB_LLM__MAX_TOKENS", "160")
        mp.setenv("CHATKB_LLM__TEMPERATURE", "0")
        # Every question reaches the model; two passages keep its prompt (and the test) short.
        mp.setenv("CHATKB_RETRIEVAL__RELEVANCE", "off")
        mp.setenv("CHATKB_RETRIEVAL__TOP_K", "2")
        with serve(load_settings()) as url:
            yield url


@pytest.fixture
def page(browser: Any, llm_web: str) -> Iterator[Any]:
    page = new_page(browser, llm_web)
    yield page
    assert page.errors == [], page.errors
    page.context.close()


@pytest.fixture(scope="module")
def wiki(browser: Any, llm_web: str) -> str:
    """One small document, added through the REST API (uploading is tested elsewhere)."""
    context = browser.new_context(base_url=llm_web)
    api = context.request
    assert api.post("/api/kbs", data={"name": KB}).ok
    path = doc("en_wiki_ibm.md")
    files = {"files": {"name": path.name, "mimeType": "text/markdown", "buffer": path.read_bytes()}}
    job = api.post(f"/api/kbs/{KB}/documents", multipart=files).json()["job"]
    deadline = time.monotonic() + 120
    while api.get(f"/api/jobs/{job['id']}").json()["status"] != "done":
        assert time.monotonic() < deadline, "indexing did not finish"
        time.sleep(0.3)
    context.close()
    return KB


RECORD_LENGTHS = """() => new Promise((resolve) => {
    const lengths = [];
    const watch = () => {
        const answer = [...document.querySelectorAll('.msg-assistant')].pop();
        if (answer) lengths.push(answer.querySelector('.msg-body')?.textContent.length ?? 0);
        if (answer && answer.dataset.status !== 'streaming') resolve(lengths);
        else setTimeout(watch, 15);
    };
    watch();
})"""


def test_answer_streams_in_pieces(page: Any, wiki: str, llm_server: LlamaCppServer) -> None:
    page.goto("/#/chat")
    pick_kb(page, wiki)
    page.get_by_label("Message").fill("Who founded IBM and when?")
    page.get_by_label("Message").press("Enter")
    expect(page.locator("[data-action=stop]")).to_be_visible()
    lengths = page.evaluate(RECORD_LENGTHS)
    answer = page.locator(".msg-assistant").last
    expect(answer).to_have_attribute("data-status", "done", timeout=ANSWER_MS)
    growing = sorted(set(n for n in lengths if n > 0))
    assert len(growing) >= 3, f"the answer should appear piece by piece, saw lengths {growing}"
    expect(answer.locator(".msg-model")).to_have_text(llm_server.model)
    expect(answer.locator("[data-flag=extractive]")).to_have_count(0)
    if answer.locator(".cite-marker").count():  # cited: the document is listed once
        expect(answer.locator('.source-doc[data-source="en_wiki_ibm.md"]')).to_have_count(1)
    else:  # a small model may cite nothing: the answer then says it is not grounded
        expect(answer.locator("[data-flag=ungrounded]")).to_be_visible()
        expect(answer.locator(".source-doc")).to_have_count(0)
    expect(page.locator("[data-action=send]")).to_be_visible()
    shot(page, "chat-llm")


def test_stop_keeps_the_partial_answer(page: Any, wiki: str) -> None:
    page.goto("/#/chat")
    pick_kb(page, wiki)
    page.get_by_label("Message").fill("Write a long history of IBM, decade by decade.")
    page.get_by_label("Message").press("Enter")
    answer = page.locator(".msg-assistant").last
    expect(answer.locator(".msg-body.is-streaming")).to_be_visible(timeout=ANSWER_MS)
    page.get_by_role("button", name="Stop generating").click()
    expect(answer).to_have_attribute("data-status", "stopped")
    expect(answer.locator(".badge")).to_have_text("Stopped")
    assert answer.locator(".msg-body").inner_text().strip()
    expect(page.get_by_label("Message")).to_be_enabled()


def test_plain_model_without_knowledge_base(page: Any) -> None:
    schema = page.request.get("/openapi.json").json()["components"]["schemas"]["ChatRequest"]
    if schema["properties"]["kbs"].get("minItems", 0) > 0:
        pytest.skip("this server requires a knowledge base for every chat (plain LLM chat)")
    page.goto("/#/chat")
    page.get_by_label("Message").fill("Say hello.")
    page.get_by_label("Message").press("Enter")
    answer = page.locator(".msg-assistant").last
    expect(answer).to_have_attribute("data-status", "done", timeout=ANSWER_MS)
    expect(answer.locator(".source")).to_have_count(0)
    expect(answer.locator("[data-flag=not-found]")).to_have_count(0)
