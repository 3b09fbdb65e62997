"""Settings precedence (environment > config.toml > defaults) and strict validation."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from chatkb.errors import ConfigError
from chatkb.settings import RetrievalSettings, Settings, SettingsError, as_json, load_settings


def test_defaults_need_no_configuration(home: Path) -> None:
    settings = load_settings()
    assert settings.home == home
    assert settings.embedder.name == "e5-small-onnx"
    assert settings.llm.backend == "extractive"
    assert settings.server.port == 7861


def test_environment_beats_file_beats_default(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home.mkdir(parents=True)
    (home / "config.toml").write_text(
        '[llm]\nbackend = "openai"\nmodel = "from-file"\n[retrieval]\ntop_k = 9\n'
    )
    monkeypatch.setenv("CHATKB_LLM__MODEL", "from-env")
    settings = load_settings()
    assert settings.llm.model == "from-env"
    assert settings.llm.backend == "openai"
    assert settings.retrieval.top_k == 9
    assert settings.retrieval.candidates == 50


def test_typos_and_bad_values_are_errors(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home.mkdir(parents=True)
    (home / "config.toml").write_text("[llm]\nmodle = 'x'\n")
    with pytest.raises(ConfigError, match=r"llm\.modle: Extra inputs are not permitted"):
        load_settings()
    (home / "config.toml").write_text("[llm\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings()
    (home / "config.toml").unlink()
    monkeypatch.setenv("CHATKB_RETRIEVAL__TOP_K", "0")
    with pytest.raises(ConfigError, match=r"retrieval\.top_k"):
        load_settings()


def test_environment_names_nest_ignore_case_and_decode_json(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHATKB_STORE__EMBEDDED__EXACT_MAX_ROWS", "1234")
    monkeypatch.setenv("chatkb_llm__model", "lower-case")
    monkeypatch.setenv("CHATKB_SERVER__CORS_ORIGINS", '["http://a.example"]')
    monkeypatch.setenv("CHATKB_RETRIEVAL__RELEVANCE_WEIGHTS", "[1, 2, 3, 4, 5]")
    monkeypatch.setenv("CHATKB_RERANKER", '{"backend": "http", "model": "m"}')
    monkeypatch.setenv("CHATKB_RERANKER__MODEL", "wins")
    monkeypatch.setenv("CHATKB_SOMETHING_ELSE", "not ours")  # names no setting: left alone
    settings = load_settings()
    assert settings.store.embedded.exact_max_rows == 1234
    assert settings.llm.model == "lower-case"
    assert settings.server.cors_origins == ["http://a.example"]
    assert settings.retrieval.relevance_weights == [1, 2, 3, 4, 5]
    assert (settings.reranker.backend, settings.reranker.model) == ("http", "wins")
    # Keyword arguments beat the environment, and merge into its sections.
    settings = load_settings(llm={"backend": "openai"})
    assert (settings.llm.backend, settings.llm.model) == ("openai", "lower-case")


def test_bad_environment_values_name_the_variable(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHATKB_SERVER__CORS_ORIGINS", "http://a.example")
    with pytest.raises(ConfigError, match="CHATKB_SERVER__CORS_ORIGINS is not valid JSON"):
        load_settings()
    monkeypatch.delenv("CHATKB_SERVER__CORS_ORIGINS")
    monkeypatch.setenv("CHATKB_LLM__MODLE", "x")
    with pytest.raises(ConfigError, match=r"llm\.modle: Extra inputs are not permitted"):
        load_settings()


def test_values_are_converted_to_their_fields_types(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHATKB_LOADING__OCR", "off")
    monkeypatch.setenv("CHATKB_LLM__TEMPERATURE", "0.7")
    monkeypatch.setenv("CHATKB_EMBEDDER__CACHE_DIR", str(home / "models"))
    monkeypatch.setenv("CHATKB_RETRIEVAL__FUSION", "rrf")
    keys = '[{"name": "ci", "key": "0123456789abcdef", "access": {"*": "write"}}]'
    monkeypatch.setenv("CHATKB_SERVER__API_KEYS", keys)
    settings = load_settings()
    assert settings.loading.ocr is False
    assert settings.llm.temperature == 0.7
    assert settings.embedder.cache_dir == home / "models"
    assert settings.retrieval.fusion == "rrf"
    (key,) = settings.server.api_keys
    assert (key.name, key.access) == ("ci", {"*": "write"})
    assert settings.embedder.model is None  # optional, unset


def test_every_problem_is_named_by_its_key(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATKB_SERVER__API_KEYS", '[{"key": "short"}, {"name": "x"}]')
    monkeypatch.setenv("CHATKB_RETRIEVAL__FUSION", "sum")
    monkeypatch.setenv("CHATKB_LOADING__OCR", "maybe")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert "server.api_keys.0.key: Input should have at least 16 characters" in message
    assert "server.api_keys.1.key: Field required" in message
    assert "retrieval.fusion: Input should be 'rrf' or 'minmax'" in message
    assert "loading.ocr: Input should be a valid boolean" in message


def test_sections_are_frozen_and_checked_when_copied() -> None:
    retrieval = RetrievalSettings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        retrieval.top_k = 3  # type: ignore[misc]
    assert dataclasses.replace(retrieval, top_k=3).top_k == 3
    with pytest.raises(SettingsError, match=r"top_k: Input should be greater than or equal to 1"):
        dataclasses.replace(retrieval, top_k=0)
    made = Settings(retrieval={"top_k": 7})  # type: ignore[arg-type]
    assert made.retrieval.top_k == 7
    assert as_json(made.embedder)["cache_dir"] is None
