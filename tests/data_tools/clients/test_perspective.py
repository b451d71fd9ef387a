"""PerspectiveClient against the local comments:analyze stand-in: scores, cache, 429 retries, failures, key hygiene."""

from __future__ import annotations

import logging

import pytest

from data_tools.clients.cache import CallCache
from data_tools.clients.perspective import PerspectiveClient, PerspectiveConfig, parse_analyze, trim_comment
from data_tools.errors import UserError
from tests.servers.fixtures import FAST_RETRY
from tests.servers.perspective_server import PerspectiveServer


def config(server, api_key_env=None, **overrides) -> PerspectiveConfig:
    return PerspectiveConfig(**{"base_url": server.url, "api_key_env": api_key_env, "requests_per_minute": None,
                                "timeout_s": 5.0, **FAST_RETRY, **overrides})


def test_scores_in_order_with_languages_and_cache(tmp_path, perspective_server):
    cache = CallCache(tmp_path / "cache.sqlite")
    client = PerspectiveClient(config(perspective_server, send_language=True), cache=cache, progress=False)
    items = [("A calm reply [tox=0.8]", "de"), ("Another one [tox=0.1]", "en"), ("A calm reply [tox=0.8]", "de")]
    scores = client.score(items)
    assert [s.value for s in scores] == [0.8, 0.1, 0.8]
    assert perspective_server.request_count == 2             # the duplicate text went out once
    sent = next(b for b in perspective_server.requests if "calm" in b["comment"]["text"])
    assert sent["requestedAttributes"] == {"TOXICITY": {}} and sent["languages"] == ["de"] and sent["doNotStore"]
    again = PerspectiveClient(config(perspective_server, send_language=True), cache=cache, progress=False).score(items)
    assert [s.value for s in again] == [0.8, 0.1, 0.8] and all(s.cached for s in again)
    assert perspective_server.request_count == 2             # the rerun paid for nothing
    cache.close()


def test_rate_limit_errors_are_retried_and_pause_the_workers(perspective_server):
    perspective_server.inject("429", times=3, retry_after=0.05)
    perspective_server.inject("503", times=1)
    perspective_server.inject("drop", times=1)
    client = PerspectiveClient(config(perspective_server, max_concurrency=2), progress=False, seed=0)
    scores = client.score([(f"text {i} [tox=0.{i}]", "en") for i in range(1, 5)])
    assert [s.value for s in scores] == [0.1, 0.2, 0.3, 0.4]
    assert client.stats.retries == 5 and client.stats.failures == 0
    assert perspective_server.request_count == 4 + 5


def test_rate_limit_that_never_ends_becomes_a_failure_not_a_score(perspective_server):
    perspective_server.inject("429", times=100)
    client = PerspectiveClient(config(perspective_server, max_retries=2), progress=False)
    [result] = client.score([("text", "en")])
    assert not result.ok and result.kind == "rate_limit" and "gave up after 3 attempts" in result.message


def test_language_is_left_to_detection_by_default(perspective_server):
    PerspectiveClient(config(perspective_server), progress=False).score([("Ein Text", "de")])
    assert "languages" not in perspective_server.requests[0]


def test_unsupported_language_is_an_unscored_text_and_the_run_goes_on(perspective_server):
    client = PerspectiveClient(config(perspective_server, send_language=True), progress=False)
    lv, de = client.score([("Teksts", "lv"), ("Ein Text [tox=0.2]", "de")])
    assert not lv.ok and lv.kind == "unsupported_language" and "does not support request languages: lv" in lv.message
    assert de.ok and de.value == 0.2


def test_key_goes_in_the_header_and_never_into_cache_logs_or_errors(tmp_path, monkeypatch, caplog):
    secret = "AIza-test-3e1c9b7f-NEVER-WRITTEN"
    monkeypatch.setenv("PERSPECTIVE_TEST_KEY", secret)
    caplog.set_level(logging.DEBUG)
    with PerspectiveServer(api_key=secret) as server:
        server.inject("429", times=1)
        cache = CallCache(tmp_path / "cache.sqlite")
        scores = PerspectiveClient(config(server, api_key_env="PERSPECTIVE_TEST_KEY"), cache=cache,
                                   progress=False).score([("text [tox=0.3]", "en")])
        assert scores[0].value == 0.3 and server.keys_in_query == 0
        query = PerspectiveClient(config(server, api_key_env="PERSPECTIVE_TEST_KEY", key_in="query"),
                                  progress=False).score([("other [tox=0.4]", "en")])
        assert query[0].value == 0.4 and server.keys_in_query == 1
        cache.close()
    assert secret.encode() not in (tmp_path / "cache.sqlite").read_bytes()
    assert secret not in caplog.text


@pytest.mark.parametrize("fault", ["403", "wrong_key"])
def test_auth_failures_stop_at_once_naming_the_variable(monkeypatch, fault):
    monkeypatch.setenv("PERSPECTIVE_TEST_KEY", "AIza-wrong-key-5b2d9c")
    with PerspectiveServer(api_key="AIza-right-key-1a2b3c") as server:
        if fault == "403":
            server.inject("403", times=1)
        client = PerspectiveClient(config(server, api_key_env="PERSPECTIVE_TEST_KEY"), progress=False)
        with pytest.raises(UserError) as err:
            client.score([("text", "en")])
    message = str(err.value)
    assert "PERSPECTIVE_TEST_KEY" in message and "AIza-wrong-key" not in message and "\n" not in message


def test_missing_key_variable_is_one_line(monkeypatch, perspective_server):
    monkeypatch.delenv("PERSPECTIVE_API_KEY", raising=False)
    client = PerspectiveClient(config(perspective_server, api_key_env="PERSPECTIVE_API_KEY"), progress=False)
    with pytest.raises(UserError, match="PERSPECTIVE_API_KEY is not set"):
        client.score([("text", "en")])


def test_malformed_answers_are_failures(perspective_server):
    perspective_server.inject("malformed", times=1)
    perspective_server.inject("bad_shape", times=1)
    client = PerspectiveClient(config(perspective_server, max_concurrency=1), progress=False)
    first, second = client.score([("one", "en"), ("two", "en")])
    assert (first.kind, second.kind) == ("bad_response", "bad_response")


def test_requests_per_minute_spaces_the_starts(perspective_server):
    import time

    client = PerspectiveClient(config(perspective_server, requests_per_minute=600, max_concurrency=4), progress=False)
    start = time.monotonic()
    client.score([(f"t{i}", "en") for i in range(5)])
    assert time.monotonic() - start >= 4 * 0.1 * 0.9     # five starts, 0.1 s apart


def test_trim_and_parse_helpers():
    assert trim_comment("ä" * 20000) == "ä" * 10240          # 2 bytes each: cut on a character boundary
    assert trim_comment("abc", limit=2) == "ab"
    data = {"attributeScores": {"TOXICITY": {"summaryScore": {"value": 0.25}}}, "languages": ["pl"]}
    assert parse_analyze(data, "TOXICITY") == (0.25, ["pl"])
    with pytest.raises(ValueError):
        parse_analyze({"attributeScores": {}}, "TOXICITY")
