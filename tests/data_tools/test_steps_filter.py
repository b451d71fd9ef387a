"""The filter's two rules on a small build whose scripted guards disagree about compliance answers."""

from __future__ import annotations

import json

from click.testing import CliRunner

from data_tools.cli import main
from data_tools.schema import read_records
from tests.data_tools.build_env import SMALL, write_config
from tests.data_tools.fake_services import build_responder
from tests.servers.deepl_server import DeepLServer
from tests.servers.openai_server import OpenAIServer


def disagreeing_responder(body: dict):
    """PolyGuard calls every response harmless; the adjudicator calls a compliance opener unsafe."""
    text = build_responder(body)
    model = body.get("model")
    if model == "polyguard-qwen":
        return text.replace("Harmful response: yes", "Harmful response: no")
    if model == "adjudicator":
        return "unsafe" if "Step 1" in body["messages"][-1]["content"] else "safe"
    return text


def build(tmp_path, api_key, rule: str):
    from tests.data_tools.fake_services import deepl_translator

    with OpenAIServer(responder=disagreeing_responder) as oa, DeepLServer(translator=deepl_translator) as dl:
        config = write_config(tmp_path / f"{rule}.yaml", oa.url, dl.url, api_key.env, **SMALL,
                              filter={"rule": rule})
        result = CliRunner().invoke(main, ["build", "-b", str(tmp_path / rule), "-c", str(config)])
        adjudicator_calls = sum(b["model"] == "adjudicator" for b in oa.requests)
    assert result.exit_code == 0, result.output
    return read_records(tmp_path / rule / "export" / "refuseu.jsonl"), adjudicator_calls


def test_paper_rule_keeps_rejected_unsafe_by_one_guard_without_adjudicator(tmp_path, api_key):
    records, adjudicator_calls = build(tmp_path, api_key, "paper")
    assert records and adjudicator_calls == 0
    for rec in records:
        assert rec["labels"]["rejected"]["llama_guard"]["unsafe"] is True
        assert rec["labels"]["rejected"]["polyguard"]["unsafe"] is False
        assert "adjudicator" not in rec["labels"]["rejected"]


def test_adjudicated_rule_asks_the_adjudicator_only_where_guards_disagree(tmp_path, api_key):
    records, adjudicator_calls = build(tmp_path, api_key, "adjudicated")
    pairs = [json.loads(line) for line in (tmp_path / "adjudicated" / "pairs.jsonl").read_text().splitlines()]
    judged = [p for p in pairs if "[benign]" not in p["prompt"]]   # prompts that reach the response checks
    assert adjudicator_calls == len(judged)         # every rejected answer is disputed, no chosen one is
    for rec in records:
        assert rec["labels"]["rejected"]["adjudicator"]["unsafe"] is True
        assert "adjudicator" not in rec["labels"]["chosen"]
        assert rec["meta"]["adjudicator"] == "adjudicator"
    card = (tmp_path / "adjudicated" / "export" / "README.md").read_text()
    assert "Filter rule (adjudicated)" in card


def test_respond_counts_and_optionally_drops_answers_in_another_language(tmp_path, api_key):
    """The scripted refuser and complier answer in English whatever the prompt's language."""
    from tests.data_tools.fake_services import deepl_translator

    with OpenAIServer(responder=build_responder) as oa, DeepLServer(translator=deepl_translator) as dl:
        config = write_config(tmp_path / "b.yaml", oa.url, dl.url, api_key.env, **SMALL)
        out = tmp_path / "out"
        for step in ("translate", "generate", "respond"):
            assert CliRunner().invoke(main, [step, "-b", str(out), "-c", str(config)]).exit_code == 0
        report = json.loads((out / "reports" / "respond.json").read_text())["result"]
        assert report["answers_in_another_language"] == {"de/chosen": 2, "de/rejected": 2}
        assert report["pairs"] == 4
        result = CliRunner().invoke(main, ["respond", "-b", str(out), "--set", "respond.drop_wrong_language=true"])
        assert result.exit_code == 0, result.output
    pairs = [json.loads(line) for line in (out / "pairs.jsonl").read_text().splitlines()]
    assert {p["lang"] for p in pairs} == {"en"}
