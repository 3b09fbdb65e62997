"""Settings precedence (environment > config.toml > defaults) and strict validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatkb.errors import ConfigError
from chatkb.settings import load_settings


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
