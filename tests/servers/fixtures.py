"""Pytest fixtures for the local service servers (registered in tests/conftest.py through `pytest_plugins`).

    def test_x(openai_server, api_key):              # a running OpenAIServer, a fresh counter per test
        cfg = endpoint_for(openai_server, model="refuser", api_key_env=api_key.env)
        openai_server.responder = lambda body: "..."  # script answers from the request
        openai_server.inject("429", times=2)         # or faults

`api_key` puts a recognisable secret into the environment (monkeypatched, so it is gone after the test) for tests
that grep everything written for it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from data_tools.clients.config import DeepLConfig, EndpointConfig
from tests.servers.deepl_server import DeepLServer
from tests.servers.openai_server import OpenAIServer

# Fast retries so fault tests take milliseconds, not the production seconds.
FAST_RETRY = dict(backoff_s=0.01, max_backoff_s=0.05)


@dataclass(frozen=True)
class ApiKey:
    env: str  # the variable's name, as configs hold it
    value: str  # the secret itself, which must never be written anywhere


def endpoint_for(server: OpenAIServer, model: str = "local-model", **overrides) -> EndpointConfig:
    """An EndpointConfig pointing at `server`, with fast retries unless overridden."""
    return EndpointConfig(model=model, **{"base_url": server.url, "timeout_s": 5.0, **FAST_RETRY, **overrides})


def deepl_config_for(server: "DeepLServer", **overrides) -> DeepLConfig:
    return DeepLConfig(**{"server_url": server.url, "timeout_s": 5.0, **FAST_RETRY, **overrides})


@pytest.fixture
def openai_server():
    with OpenAIServer() as server:
        yield server


@pytest.fixture
def deepl_server():
    with DeepLServer() as server:
        yield server


@pytest.fixture
def api_key(monkeypatch) -> ApiKey:
    key = ApiKey("REFUSEU_TEST_API_KEY", "sk-test-9f3c1e7a-DO-NOT-LEAK-5b2d")
    monkeypatch.setenv(key.env, key.value)
    return key


@pytest.fixture
def perspective_server():
    from tests.servers.perspective_server import PerspectiveServer

    with PerspectiveServer() as server:
        yield server
