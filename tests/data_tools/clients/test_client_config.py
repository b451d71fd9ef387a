"""Endpoint configs load like every other config; keys come from the environment only."""

from __future__ import annotations

import pytest

from data_tools.clients.config import DeepLConfig, EndpointConfig, read_key
from data_tools.configuration import load_config
from data_tools.errors import UserError


def test_endpoint_config_from_yaml_and_overrides(tmp_path):
    path = tmp_path / "gen.yaml"
    path.write_text("base_url: http://localhost:8000/v1\nmodel: mistral-small\napi_key_env: GEN_KEY\n"
                    "params: {top_p: 0.9, seed: 1}\n")
    cfg = load_config(EndpointConfig, path, ["max_concurrency=32", "requests_per_minute=600"])
    assert cfg.max_concurrency == 32 and cfg.requests_per_minute == 600.0 and cfg.params == {"top_p": 0.9, "seed": 1}
    assert EndpointConfig("http://x/v1/", "m").endpoint_id == "http://x/v1"


@pytest.mark.parametrize("override, needle", [
    ("api_key=sk-123", "unknown key 'api_key'"),
    ("max_concurrency=0", "max_concurrency must be >= 1"),
    ("base_url=localhost:8000", "base_url must start with http"),
    ("max_backoff_s=0.1", "backoff_s <= max_backoff_s"),
])
def test_bad_endpoint_values_are_user_errors(override, needle):
    with pytest.raises(UserError, match=needle):
        load_config(EndpointConfig, None, ["base_url=http://h/v1", "model=m", override])


def test_deepl_config_checks():
    assert load_config(DeepLConfig, None, ["formality=prefer_less"]).formality == "prefer_less"
    with pytest.raises(UserError, match="formality"):
        load_config(DeepLConfig, None, ["formality=casual"])
    with pytest.raises(UserError, match="batch_size must be between 1 and 50"):
        load_config(DeepLConfig, None, ["batch_size=51"])


def test_read_key(monkeypatch):
    monkeypatch.setenv("SOME_KEY", "  value-1  ")
    assert read_key("SOME_KEY", "generator") == "value-1"
    assert read_key(None, "local", default="EMPTY") == "EMPTY"
    monkeypatch.setenv("SOME_KEY", "")
    with pytest.raises(UserError, match="environment variable SOME_KEY is not set or empty"):
        read_key("SOME_KEY", "generator")


def test_redact_ignores_placeholder_keys():
    from data_tools.clients.config import redact

    assert redact("token EMPTY sent", "EMPTY") == "token EMPTY sent"  # a keyless server's placeholder
    assert redact("saw sk-live-0123456789", "sk-live-0123456789") == "saw [REDACTED]"
