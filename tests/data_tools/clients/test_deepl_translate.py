"""DeepLTranslator through the real `deepl` client against the local DeepL v2 server."""

from __future__ import annotations

import logging

import pytest

from data_tools.clients.cache import CallCache
from data_tools.clients.llm import EndpointAuthError
from data_tools.clients.translate import DeepLTranslator, QuotaExhausted, TranslationError
from data_tools.errors import UserError
from tests.servers.base import Fault
from tests.servers.fixtures import deepl_config_for


def translator(server, api_key, cache=None, **overrides) -> DeepLTranslator:
    return DeepLTranslator(deepl_config_for(server, api_key_env=api_key.env, **overrides), cache=cache,
                           progress=False)


def test_translates_in_order_with_deepl_codes_and_dedup(deepl_server, api_key):
    tr = translator(deepl_server, api_key, batch_size=2)
    out = tr.translate(["one", "two", "one", "", "three"], target="pt", source="en")
    assert out == ["[PT-PT] one", "[PT-PT] two", "[PT-PT] one", "", "[PT-PT] three"]
    assert sorted(b["text"] for b in deepl_server.requests) == [["one", "two"], ["three"]]  # "one" sent once
    assert {b["target_lang"] for b in deepl_server.requests} == {"PT-PT"}
    assert {b["source_lang"] for b in deepl_server.requests} == {"EN"}
    assert tr.translate(["hi"], target="en", source="de") == ["[EN-US] hi"]
    assert tr.stats.billed_characters == len("one") + len("two") + len("three") + len("hi")
    assert tr.translate(["same language"], target="en", source="en") == ["same language"]


def test_batches_run_concurrently_up_to_the_limit(deepl_server, api_key):
    deepl_server.latency_s = 0.05
    texts = [f"line {i}" for i in range(40)]
    out = translator(deepl_server, api_key, batch_size=4, max_concurrency=3).translate(texts, target="es")
    assert out == [f"[ES] {t}" for t in texts]
    assert deepl_server.request_count == 10 and deepl_server.max_in_flight == 3


def test_formality_only_where_deepl_supports_it(deepl_server, api_key):
    tr = translator(deepl_server, api_key, formality="less")
    tr.translate(["x"], target="de")
    tr.translate(["x"], target="lt")  # no formality in Lithuanian: an explicit "less" would be a 400
    assert deepl_server.requests[0]["formality"] == "less" and "formality" not in deepl_server.requests[1]
    prefer = translator(deepl_server, api_key, formality="prefer_more")
    prefer.translate(["y"], target="lv")
    assert deepl_server.requests[2]["formality"] == "prefer_more"


def test_unknown_language_is_a_user_error(deepl_server, api_key):
    with pytest.raises(UserError, match="unknown language code 'xx'"):
        translator(deepl_server, api_key).translate(["a"], target="xx")
    assert deepl_server.request_count == 0


def test_rerun_from_cache_makes_no_requests(deepl_server, api_key, tmp_path):
    texts = [f"sentence {i}" for i in range(23)]
    first = translator(deepl_server, api_key, CallCache(tmp_path / "c.sqlite"), batch_size=10)
    out = first.translate(texts, target="fr")
    assert deepl_server.request_count == 3
    again = translator(deepl_server, api_key, CallCache(tmp_path / "c.sqlite"), batch_size=7)
    assert again.uncached_characters(texts, target="fr") == 0
    assert again.translate(texts, target="fr") == out
    assert deepl_server.request_count == 3 and deepl_server.usage_count == 1  # no quota check either
    assert again.stats.cache_hits == 23 and again.stats.billed_characters == 0


def test_quota_exhausted_mid_run_keeps_what_was_done_and_resumes(deepl_server, api_key, tmp_path):
    texts = [f"text {i:02d}" for i in range(10)]  # 7 characters each
    deepl_server.character_limit = 7 * 6
    cache = CallCache(tmp_path / "c.sqlite")
    tr = translator(deepl_server, api_key, cache, batch_size=3, check_quota=False)
    with pytest.raises(QuotaExhausted) as err:
        tr.translate(texts, target="it")
    assert err.value.done == 6 and len(cache) == 6
    message = str(err.value)
    assert "HTTP 456" in message and "after 6 of 10" in message and "rerun the same command" in message.lower()
    assert api_key.env in message and api_key.value not in message

    deepl_server.character_limit = 10**6  # the quota resets
    sent_before = deepl_server.texts_translated
    out = translator(deepl_server, api_key, CallCache(tmp_path / "c.sqlite"), batch_size=3).translate(texts, "it")
    assert out == [f"[IT] {t}" for t in texts]
    assert deepl_server.texts_translated - sent_before == 4  # only what the first run did not finish


def test_quota_check_refuses_a_run_that_cannot_finish(deepl_server, api_key):
    deepl_server.character_limit = 10
    with pytest.raises(QuotaExhausted, match="needs 14 characters but only 10"):
        translator(deepl_server, api_key).translate(["seven77", "eight88"], target="de")
    assert deepl_server.request_count == 0 and deepl_server.usage_count == 1


def test_usage_reports_billed_characters(deepl_server, api_key):
    tr = translator(deepl_server, api_key)
    tr.translate(["abcd", "ef"], target="sk")
    assert tr.usage() == (6, 10**9)


def test_403_stops_at_once(deepl_server, api_key):
    deepl_server.api_key = "some-other-key"
    with pytest.raises(EndpointAuthError, match=f"HTTP 403.*{api_key.env}") as err:
        translator(deepl_server, api_key, check_quota=False, batch_size=5, max_concurrency=2).translate(
            [f"t{i}" for i in range(120)], target="de")
    # No batch starts after the first 403; the other one already in flight may have been sent.
    assert deepl_server.request_count <= 2 and api_key.value not in str(err.value)


def test_429_500_and_timeouts_are_retried(deepl_server, api_key):
    deepl_server.inject("429")
    deepl_server.inject("500")
    deepl_server.inject("timeout", delay_s=3.0)
    tr = translator(deepl_server, api_key, timeout_s=0.5, max_retries=3)
    assert tr.translate(["hello"], target="sl") == ["[SL] hello"]
    assert tr.stats.retries == 3 and deepl_server.request_count == 4


def test_retries_are_bounded(deepl_server, api_key, tmp_path):
    deepl_server.inject("503", times=100, match="second")
    cache = CallCache(tmp_path / "c.sqlite")
    tr = translator(deepl_server, api_key, cache, batch_size=1, max_retries=2)
    with pytest.raises(TranslationError, match="gave up after 3 attempts"):
        tr.translate(["first", "second"], target="cs")
    assert deepl_server.request_count == 1 + 3 and len(cache) == 1  # "first" kept


@pytest.mark.parametrize("fault", ["malformed", "bad_shape"])
def test_malformed_answers_are_errors(deepl_server, api_key, fault):
    deepl_server.inject(fault)
    with pytest.raises(TranslationError, match="malformed answer"):
        translator(deepl_server, api_key).translate(["a", "b"], target="lv")


def test_empty_translation_is_an_error_and_the_rest_is_cached(deepl_server, api_key, tmp_path):
    deepl_server.translator = lambda text, target, source, formality: "" if text == "blank" else f"ok {text}"
    cache = CallCache(tmp_path / "c.sqlite")
    with pytest.raises(TranslationError, match="empty translation .* 'blank'"):
        translator(deepl_server, api_key, cache).translate(["fine", "blank", "also fine"], target="pl")
    assert len(cache) == 2


def test_the_key_is_never_written_anywhere(deepl_server, api_key, tmp_path, caplog):
    deepl_server.api_key = api_key.value
    caplog.set_level(logging.DEBUG)  # the deepl client logs requests at debug level

    def hostile(text, target, source, formality):
        header = " ".join(sorted(deepl_server.auth_headers_seen))
        return Fault("500", message=f"backend saw {header}") if text == "fails" else f"[{target}] {text}"

    deepl_server.translator = hostile
    cache_dir = tmp_path / "cache"
    tr = translator(deepl_server, api_key, CallCache(cache_dir / "c.sqlite"), batch_size=1, max_retries=1)
    written = []
    for texts in (["good"], ["fails"]):
        try:
            written.append(str(tr.translate(texts, target="de")))
        except UserError as err:
            written += [str(err), repr(err)]
    assert "[REDACTED]" in written[-2]  # the server echoed the key and the message scrubbed it
    deepl_server.api_key = "rotated"
    with pytest.raises(EndpointAuthError) as err:
        tr.translate(["new text"], target="de")
    written += [str(err.value), caplog.text, tr.summary()]
    assert all(api_key.value not in text for text in written)
    assert all(api_key.value.encode() not in path.read_bytes() for path in cache_dir.iterdir())
