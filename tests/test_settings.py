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
