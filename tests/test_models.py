"""LLM presets, Ollama auto-detection, ``chatkb models`` and per-knowledge-base prompts.

Ollama itself cannot run here (no binary in any registry this project may use), so a small
loopback server replays Ollama's documented ``/api/*`` answers (tests/fixtures/doctor) and
passes its OpenAI routes (``/v1/*``) through to the real llama.cpp server of ``llm_server``.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from _datasets import datasets_dir
from chatkb.errors import ConfigError, InvalidInputError
from chatkb.kb import Library
from chatkb.llm import GenerationOptions, make_chat_model
from chatkb.llm.llamacpp_server import LlamaCppServer
from chatkb.llm.openai_chat import OpenAIChat
from chatkb.llm.presets import (
    PRESETS,
    choose_chat_model,
    get_preset,
    is_embedding_model,
    resolve_llm_settings,
)
from chatkb.llm.prompts import SYSTEM_EN, SYSTEM_ZH, PromptTemplate, answer_messages
from chatkb.llm.servers import ollama_models, probe_ollama
from chatkb.models import Hit, Message
from chatkb.settings import LLMSettings
from conftest import Cli

FIXTURES = Path(__file__).parent / "fixtures" / "doctor"


class _Ollama(BaseHTTPRequestHandler):
    server: _OllamaServer

    def do_GET(self) -> None:
        body = self.server.routes.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self._send(200, body, "application/json")

    def do_POST(self) -> None:
        if not self.path.startswith("/v1/") or self.server.upstream is None:
            self.send_error(404)
            return
        length = int(self.headers.get("Content-Length", 0))
        url = self.server.upstream + self.path[len("/v1") :]
        with httpx.Client(timeout=120, trust_env=False) as client:
            answer = client.post(
                url, content=self.rfile.read(length), headers={"Content-Type": "application/json"}
            )
        self._send(answer.status_code, answer.content, answer.headers.get("content-type", ""))

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _OllamaServer(ThreadingHTTPServer):
    routes: dict[str, bytes]
    upstream: str | None


def _serve(tags: str, upstream: str | None = None) -> Iterator[str]:
    server = _OllamaServer(("127.0.0.1", 0), _Ollama)
    server.routes = {
        "/api/version": (FIXTURES / "ollama-version-docs.json").read_bytes(),
        "/api/tags": (FIXTURES / tags).read_bytes(),
        "/api/ps": (FIXTURES / "ollama-ps-docs.json").read_bytes(),
    }
    server.upstream = upstream
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def ollama() -> Iterator[str]:
    yield from _serve("ollama-tags-docs.json")


@pytest.fixture
def ollama_embed_first() -> Iterator[str]:
    yield from _serve("ollama-tags-embeddinggemma.json")


# -- presets ---------------------------------------------------------------------------------


def test_local_preset_fills_base_url_and_backend() -> None:
    resolved = resolve_llm_settings(LLMSettings(preset="ollama", model="qwen2.5:7b"), environ={})
    assert (resolved.backend, resolved.base_url) == ("openai", "http://127.0.0.1:11434/v1")
    explicit = LLMSettings(preset="vllm", base_url="http://gpu-box:8000/v1", model="m")
    assert resolve_llm_settings(explicit, environ={}).base_url == "http://gpu-box:8000/v1"
    assert resolve_llm_settings(LLMSettings(), environ={}) == LLMSettings()


def test_cloud_preset_reads_its_vendors_key_variable() -> None:
    resolved = resolve_llm_settings(
        LLMSettings(preset="deepseek"), environ={"DEEPSEEK_API_KEY": "sk-1"}
    )
    assert resolved.api_key == "sk-1" and resolved.model == "deepseek-chat"
    assert resolved.base_url == "https://api.deepseek.com/v1"
    own_key = LLMSettings(preset="qwen", api_key="sk-2", model="qwen-max")
    assert resolve_llm_settings(own_key, environ={"DASHSCOPE_API_KEY": "x"}).api_key == "sk-2"
    with pytest.raises(ConfigError, match="MOONSHOT_API_KEY"):
        resolve_llm_settings(LLMSettings(preset="moonshot"), environ={})


def test_preset_names_and_aliases() -> None:
    assert get_preset("DashScope").name == "qwen" and get_preset("zhipu").name == "glm"
    with pytest.raises(ConfigError, match="valid presets: deepseek, glm"):
        get_preset("gpt5")
    for preset in PRESETS.values():
        assert preset.base_url.endswith(("/v1", "/v4"))


@pytest.mark.server
def test_llamacpp_server_preset_against_the_real_server(llm_server: LlamaCppServer) -> None:
    settings = LLMSettings(
        preset="llamacpp-server", base_url=llm_server.base_url, model=llm_server.model
    )
    model = make_chat_model(settings)
    assert isinstance(model, OpenAIChat)
    text = "".join(model.stream([Message("user", "Say hi.")], GenerationOptions(0.0, 8)))
    assert text.strip()


def test_embedding_models_are_told_apart() -> None:
    assert is_embedding_model("nomic-embed-text:latest", "nomic-bert")
    assert is_embedding_model("embeddinggemma:latest", "gemma3")  # ollama/ollama#12202
    assert is_embedding_model("bge-m3:latest", "bert")
    assert not is_embedding_model("qwen2.5:7b", "qwen2")


def test_choose_prefers_a_loaded_model() -> None:
    assert choose_chat_model(["a", "b"], loaded=["b"]) == "b"
    assert choose_chat_model(["a", "b"], loaded=["z"]) == "a"
    assert choose_chat_model([]) is None


# -- Ollama ----------------------------------------------------------------------------------


def test_probe_ollama(ollama: str) -> None:
    server = probe_ollama(ollama)
    assert server.reachable and server.version == "0.5.1"
    assert [m.name for m in server.models] == ["codellama:13b", "llama3:latest"]
    assert server.models[0].size_bytes == 7365960935


def test_ollama_vram_share_from_api_ps() -> None:
    ps = json.loads((FIXTURES / "ollama-ps-docs.json").read_text())["models"]
    (model,) = ollama_models(ps, ps)
    assert model.loaded and model.vram_fraction == 1.0


def test_probe_ollama_down() -> None:
    server = probe_ollama("http://127.0.0.1:9", timeout=1)
    assert not server.reachable and "not reachable" in (server.error or "")


def test_auto_uses_the_first_chat_model(ollama_embed_first: str) -> None:
    model = make_chat_model(LLMSettings(backend="auto", ollama_url=ollama_embed_first))
    assert isinstance(model, OpenAIChat)
    assert model.name == "gemma3n:e2b"  # embeddinggemma, listed first, cannot chat
    assert model.base_url == f"{ollama_embed_first}/v1"


def test_auto_without_ollama_is_extractive(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO", logger="chatkb.llm.servers"):
        assert make_chat_model(LLMSettings(backend="auto", ollama_url="http://127.0.0.1:9")) is None
    assert "answers are extractive" in caplog.text


def test_auto_with_a_model_ollama_lacks(ollama: str) -> None:
    with pytest.raises(ConfigError, match=r"ollama pull qwen2\.5:7b"):
        make_chat_model(LLMSettings(backend="auto", ollama_url=ollama, model="qwen2.5:7b"))


@pytest.mark.server
def test_ask_through_auto_detected_ollama(
    cli: Cli, llm_server: LlamaCppServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for url in _serve("ollama-tags-docs.json", upstream=llm_server.base_url):
        shutil.copy(datasets_dir() / "zh-dev" / "corpus" / "TRIAL_109.txt", tmp_path / "t.txt")
        cli("kb", "create", "zh")
        cli("add", "zh", str(tmp_path / "t.txt"))
        monkeypatch.setenv("CHATKB_LLM__BACKEND", "auto")
        monkeypatch.setenv("CHATKB_LLM__OLLAMA_URL", url)
        monkeypatch.setenv("CHATKB_LLM__MAX_TOKENS", "24")
        answer = cli.json("ask", "zh", "马飚毕业于哪所大学？")
        assert answer["model"] == "codellama:13b" and answer["extractive"] is False
        assert answer["answer"].strip()


def test_cli_models_lists_ollama_and_tells_how_to_use_it(
    cli: Cli, ollama_embed_first: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHATKB_LLM__OLLAMA_URL", ollama_embed_first)
    data = cli.json("models")
    (server,) = data["servers"]
    assert server["reachable"] and server["configured"] is False
    kinds = {m["name"]: m["embedding_only"] for m in server["models"]}
    assert kinds == {"embeddinggemma:latest": True, "gemma3n:e2b": False}
    assert 'model = "gemma3n:e2b"' in data["hint"]
    text = cli("models")
    assert "gemma3n:e2b" in text.stdout and "preset" in text.stderr


def test_cli_models_with_a_configured_server_down(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHATKB_LLM__PRESET", "vllm")
    monkeypatch.setenv("CHATKB_LLM__BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("CHATKB_LLM__OLLAMA_URL", "http://127.0.0.1:9")
    data = cli.json("models")
    assert data["llm"]["backend"] == "openai" and data["hint"] is None
    (server,) = data["servers"]  # the same address is probed once
    assert server["role"] == "llm" and not server["reachable"]


# -- prompt templates ------------------------------------------------------------------------


def _hit(text: str) -> Hit:
    return Hit(1, 1.0, text, "a.md", "d", "c", None, 0, len(text))


def test_default_template_keeps_the_built_in_prompts() -> None:
    assert answer_messages("What is it?", [_hit("x")])[0].content == SYSTEM_EN
    assert answer_messages("这是什么？", [_hit("x")])[0].content == SYSTEM_ZH


def test_template_language_and_citations() -> None:
    zh = PromptTemplate(answer_language="zh")
    system = answer_messages("What is the leave policy?", [_hit("x")], template=zh)[0].content
    assert "用中文" in system and "[n]" in system
    end = PromptTemplate(citation_style="end").system("What?")
    assert "End the answer" in end and "[n]" in end
    none = PromptTemplate(citation_style="none", answer_language="en").system("请问？")
    assert "Do not add citation markers" in none and "in English" in none


def test_the_question_is_followed_by_a_short_reminder_in_its_language() -> None:
    # Small models follow the end of the user turn more than the system prompt.
    en = answer_messages("What is it?", [_hit("x")])[-1].content
    assert en.endswith(PromptTemplate().reminder("What is it?")) and "square brackets" in en
    zh = answer_messages("这是什么？", [_hit("x")])[-1].content
    assert zh.endswith(PromptTemplate().reminder("这是什么？")) and "例如 [1]" in zh
    quiet = PromptTemplate(citation_style="none", answer_language="zh").reminder("What?")
    assert "[" not in quiet and "in Chinese" in quiet


def test_template_own_system_prompt_keeps_the_rules() -> None:
    own = PromptTemplate(system_prompt="你是公司人事助理。").system("年假有几天？")
    assert own.startswith("你是公司人事助理。") and "[n]" in own and "不要编造" in own


def test_template_rejects_unknown_values() -> None:
    with pytest.raises(InvalidInputError, match="auto, zh, en"):
        PromptTemplate(answer_language="fr")
    with pytest.raises(InvalidInputError, match="inline, end, none"):
        PromptTemplate(citation_style="footnote")


def test_old_kb_json_still_loads(library: Library) -> None:
    kb = library.create("old")
    config = json.loads((kb.directory / "kb.json").read_text())
    for key in ("system_prompt", "answer_language", "citation_style"):
        del config[key]
    (kb.directory / "kb.json").write_text(json.dumps(config))
    reopened = Library(library.settings).open("old")
    assert reopened.config.prompt_template().is_default


def test_cli_kb_prompt_options(cli: Cli) -> None:
    created = cli.json(
        "kb", "create", "hr", "--answer-language", "zh", "--system-prompt", "你是人事助理。"
    )
    assert (created["answer_language"], created["system_prompt"]) == ("zh", "你是人事助理。")
    changed = cli.json("kb", "set", "hr", "--citation-style", "end", "-d", "leave rules")
    assert changed["citation_style"] == "end" and changed["answer_language"] == "zh"
    assert changed["description"] == "leave rules" and changed["system_prompt"] == "你是人事助理。"
    assert cli.json("kb", "info", "hr")["citation_style"] == "end"
    bad = cli("kb", "set", "hr", "--answer-language", "fr", code=1)
    assert "auto, zh, en" in bad.stderr
