"""A full `refuseu-data build --langs all` against the local OpenAI and DeepL protocol servers.

One build per module (about 10 s); the tests then check what the issue asks of its output: schema-valid,
loadable with datasets, no group in both splits, no duplicate ids, the configured counts, no key anywhere, a rerun
that pays for nothing, and one DPOTrainer step on it unchanged.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from data_tools.cli import main
from data_tools.clients.cache import canonical_json
from data_tools.schema import read_records
from data_tools.taxonomy import LANGUAGES
from tests.data_tools.build_env import CATEGORIES, PER_CELL, STYLES, TEST_PER_CATEGORY, write_config
from tests.data_tools.fake_services import build_responder, deepl_translator
from tests.servers.deepl_server import DeepLServer
from tests.servers.openai_server import OpenAIServer

KEY_ENV, KEY = "REFUSEU_BUILD_TEST_KEY", "sk-build-7c1d93e2-NEVER-WRITTEN"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv(KEY_ENV, KEY)
    root = tmp_path_factory.mktemp("build")
    with OpenAIServer(responder=build_responder, api_key=KEY) as oa, DeepLServer(translator=deepl_translator) as dl:
        config = write_config(root / "build.yaml", oa.url, dl.url, KEY_ENV)
        build_dir = root / "out"
        first = CliRunner().invoke(main, ["build", "-b", str(build_dir), "-c", str(config), "--langs", "all"])
        calls = (oa.request_count, dl.request_count)
        bodies = {canonical_json(b) for b in oa.requests}
        second = CliRunner().invoke(main, ["build", "-b", str(build_dir), "-c", str(config), "--langs", "all"])
        rerun_calls = (oa.request_count - calls[0], dl.request_count - calls[1])
    mp.undo()
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    return {"dir": build_dir, "root": root, "calls": calls, "rerun_calls": rerun_calls, "bodies": bodies,
            "output": first.output + second.output}


def test_dataset_validates_and_loads(built):
    import datasets

    export = built["dir"] / "export"
    records = read_records(export / "refuseu.jsonl")
    assert {r["lang"] for r in records} == set(LANGUAGES)
    loaded = datasets.load_from_disk(str(export / "refuseu"))
    assert set(loaded) == {"train", "test"}
    from_arrow = read_records(export / "refuseu")          # validates every row of both splits
    assert sorted(r["id"] for r in from_arrow) == sorted(r["id"] for r in records)
    # labels survive the Arrow round trip as the same verdicts
    by_id = {r["id"]: r for r in records}
    for rec in from_arrow[:20]:
        assert rec["labels"] == by_id[rec["id"]]["labels"]
    assert loaded["train"][0]["prompt"][0]["role"] == "user"


def test_splits_groups_ids_and_counts(built):
    records = read_records(built["dir"] / "export" / "refuseu.jsonl")
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids))
    groups = {s: {r["group"] for r in records if r["split"] == s} for s in ("train", "test")}
    assert groups["train"] and groups["test"] and not groups["train"] & groups["test"]
    test_counts = Counter((r["lang"], r["category"]) for r in records if r["split"] == "test")
    assert test_counts == {(lang, c): TEST_PER_CATEGORY for lang in LANGUAGES for c in CATEGORIES}
    generated = [json.loads(line) for line in (built["dir"] / "prompts.jsonl").read_text().splitlines()]
    assert Counter((p["lang"], p["category"], p["style"]) for p in generated) == {
        (lang, c, s): PER_CELL for lang in LANGUAGES for c in CATEGORIES for s in STYLES}
    # the phrase-bank generator repeats itself now and then: dedup dropped those and a second round topped up
    report = json.loads((built["dir"] / "reports" / "generate.json").read_text())["result"]
    assert report["dropped"].get("near_duplicate", 0) + report["dropped"].get("exact_duplicate", 0) > 0
    assert report["rounds"] >= 2 and report["short_cells"] == 0
    # prompts the scripted guards call safe ("[benign]") were filtered out; everything kept has all verdicts
    assert not any("[benign]" in r["prompt"][0]["content"] for r in records)
    assert all(set(r["labels"]) >= {"prompt", "chosen", "rejected"} for r in records)
    # provenance: models per role and the tokens and cost of the calls that made each record
    for rec in records:
        assert rec["meta"]["generator"] == "gen-small" and rec["meta"]["polyguard"] == "polyguard-qwen"
        assert set(rec["meta"]["usage"]) == {"generator", "refuser", "complier", "llama_guard", "polyguard"}
        assert rec["meta"]["cost_usd"] > 0


def test_mixes_come_from_train_only(built):
    import datasets

    records = read_records(built["dir"] / "export" / "refuseu.jsonl")
    test_ids = {r["id"] for r in records if r["split"] == "test"}
    train_per_lang = Counter(r["lang"] for r in records if r["split"] == "train")
    mixes = built["dir"] / "export" / "mixes"
    balanced = datasets.load_from_disk(str(mixes / "balanced"))
    assert not set(balanced["train"]["id"]) & test_ids
    assert set(Counter(balanced["train"]["lang"]).values()) == {min(train_per_lang.values())}
    assert set(datasets.load_from_disk(str(mixes / "en_only"))["train"]["lang"]) == {"en"}
    assert set(datasets.load_from_disk(str(mixes / "high_resource"))["train"]["lang"]) == {"en", "de", "fr", "it",
                                                                                         "es", "pt"}
    assert "en" not in set(datasets.load_from_disk(str(mixes / "no_en"))["train"]["lang"])
    single = datasets.load_from_disk(str(mixes / "single-lv"))
    assert len(single["train"]) == train_per_lang["lv"] and len(single["test"]) == len(test_ids)


def test_card_reports_counts_models_and_cost(built):
    card = (built["dir"] / "export" / "README.md").read_text()
    records = read_records(built["dir"] / "export" / "refuseu.jsonl")
    n_test = sum(r["split"] == "test" for r in records)
    assert f"test {n_test}" in card
    assert "| lv (Latvian) |" in card and "| S9 |" in card and "| Word Play |" in card
    assert "`gen-small`" in card and "`polyguard-qwen`" in card
    assert "Total priced cost:" in card and "Total priced cost: 0.0000" not in card


def test_rerun_is_served_from_cache(built):
    assert built["calls"][0] > 2000 and built["calls"][1] > 0
    assert built["rerun_calls"] == (0, 0)


def test_key_never_written(built):
    for path in built["root"].rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
    assert KEY not in built["output"]


def test_dpo_trainer_takes_one_step_on_the_export(built, tmp_path):
    import datasets
    from transformers import AutoTokenizer
    from trl import DPOConfig, DPOTrainer

    from tests.refuseu_jax.train.tiny_assets import build_checkpoint

    model = build_checkpoint(tmp_path / "model", seed=0)
    reference = build_checkpoint(tmp_path / "ref", seed=0)
    tokenizer = AutoTokenizer.from_pretrained(str(tmp_path / "model"))
    data = datasets.load_from_disk(str(built["dir"] / "export" / "refuseu"))
    args = DPOConfig(output_dir=str(tmp_path / "dpo"), max_steps=1, per_device_train_batch_size=2, max_length=256,
                     report_to=[], save_strategy="no", logging_steps=1, use_cpu=True, bf16=False)
    trainer = DPOTrainer(model=model, ref_model=reference, args=args, train_dataset=data["train"],
                         processing_class=tokenizer)
    result = trainer.train()
    assert result.global_step == 1
    assert abs(trainer.state.log_history[0]["loss"] - 0.6931) < 0.05  # identical policy and reference: ln 2


def _run_build(config: Path, build_dir: Path, kill_after: float | None):
    """`refuseu-data build` in its own process; with `kill_after`, SIGKILL it after that many seconds."""
    import os
    import signal
    import subprocess
    import sys

    exe = Path(sys.executable).parent / "refuseu-data"
    env = dict(os.environ, **{KEY_ENV: KEY})
    proc = subprocess.Popen([str(exe), "build", "-b", str(build_dir), "-c", str(config)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        out, _ = proc.communicate(timeout=kill_after if kill_after is not None else 120)
        return proc.returncode, out.decode()
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate()
        return None, out.decode()


@pytest.mark.slow
def test_kill_minus_nine_then_rerun_equals_uninterrupted_build(built, tmp_path):
    """Killed twice at seeded random moments, then rerun: the same dataset, and no call answered twice except
    the ones in flight at a kill (at most the concurrency windows of the roles running at that moment)."""
    import random

    rng = random.Random(5)
    kills = [rng.uniform(2.0, 6.0), rng.uniform(2.0, 9.0)]
    with OpenAIServer(responder=build_responder, api_key=KEY) as oa, DeepLServer(translator=deepl_translator) as dl:
        config = write_config(tmp_path / "build.yaml", oa.url, dl.url, KEY_ENV)
        build_dir = tmp_path / "out"
        killed = 0
        for seconds in kills:
            code, _ = _run_build(config, build_dir, kill_after=seconds)
            killed += code is None
        code, output = _run_build(config, build_dir, kill_after=None)
        assert code == 0, output
        chat_bodies = Counter(canonical_json(b) for b in oa.requests)
        deepl_bodies = Counter(canonical_json(b) for b in dl.requests)
    assert killed >= 1, "no run was killed mid-build; the kill times are too late for this machine"
    reference = built["dir"] / "export"
    for name in ("refuseu.jsonl", "README.md"):
        mine = (build_dir / "export" / name).read_text()
        theirs = (reference / name).read_text()
        if name == "README.md":  # the card's step reports carry timings; compare what the data says
            mine, theirs = mine.split("## Steps")[0], theirs.split("## Steps")[0]
        assert mine == theirs, name
    assert (build_dir / "prompts.jsonl").read_text() == (built["dir"] / "prompts.jsonl").read_text()
    # every distinct call was made, and only calls in flight at a kill were made twice
    assert set(chat_bodies) == built["bodies"]      # the very same requests as the uninterrupted build
    # in flight at a kill: at most two roles' windows (steps run two roles at once), 16 requests each
    assert sum(n - 1 for n in chat_bodies.values()) <= 2 * 16 * killed
    assert sum(n - 1 for n in deepl_bodies.values()) <= killed
    assert not list(build_dir.rglob("*.tmp")) and not list(build_dir.glob(".export-*"))
    for path in build_dir.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path


def test_audit_sample_and_score(built, tmp_path):
    """The three-question audit end to end: a balanced sheet, filled (half of Q3 left blank) in the XLSX an
    annotator uses, scored: rates as counted by hand, each guard's kappa as scikit-learn computes it."""
    import csv

    from openpyxl import load_workbook
    from sklearn.metrics import cohen_kappa_score


    out = built["dir"]
    result = CliRunner().invoke(main, ["audit", "sample", "-b", str(out), "--per-language", "6"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((out / "audit" / "sheet.csv").open(encoding="utf-8")))
    assert Counter(r["lang"] for r in rows) == {lang: 6 for lang in LANGUAGES}
    for lang in LANGUAGES:   # 6 per language over 3 categories: 2 each
        assert Counter(r["category"] for r in rows if r["lang"] == lang) == {c: 2 for c in CATEGORIES}
    assert not any(c.startswith(("llama_guard", "polyguard")) for c in rows[0])   # blind: no guard verdicts
    assert "q1_chosen_safe_refusal" in (out / "audit" / "sheet.html").read_text()

    book = load_workbook(out / "audit" / "sheet.xlsx")
    sheet = book["audit"]
    header = [c.value for c in sheet[1]]
    col = {name: header.index(name) + 1 for name in header}
    answers = []
    for i, excel_row in enumerate(sheet.iter_rows(min_row=2), start=0):
        lang = excel_row[col["lang"] - 1].value
        q1 = not (lang == "lv" and i % 2 == 0)              # three Latvian chosen answers judged not a safe refusal
        q3 = None if lang == "de" else i % 3 != 0            # Q3 left blank for German
        harmful = not (lang == "sk" and i % 3 == 0)
        values = {"q1_chosen_safe_refusal": "yes" if q1 else "no", "q2_prompt_on_topic": 1,
                  "q3_prompt_follows_style": None if q3 is None else ("y" if q3 else "n"),
                  "rejected_harmful": True if harmful else False}
        for name, value in values.items():
            sheet.cell(row=i + 2, column=col[name], value=value)
        answers.append((excel_row[col["id"] - 1].value, lang, q1, q3, harmful))
    book.save(tmp_path / "filled.xlsx")
    result = CliRunner().invoke(main, ["audit", "score", str(tmp_path / "filled.xlsx"), "-b", str(out)])
    assert result.exit_code == 0, result.output
    assert "missing 6 (q3_prompt_follows_style: 6)" in result.output
    table = json.loads((out / "audit" / "score.json").read_text())
    lv = [a for a in answers if a[1] == "lv"]
    assert table["lv"]["rates"]["q1_chosen_safe_refusal"]["k"] == sum(a[2] for a in lv) == 3
    assert table["de"]["missing"]["q3_prompt_follows_style"] == 6
    assert table["de"]["rates"]["q3_prompt_follows_style"]["n"] == 0
    assert table["all"]["rates"]["q2_prompt_on_topic"]["rate"] == 1.0
    assert table["all"]["rates"]["q3_prompt_follows_style"]["k"] == sum(bool(a[3]) for a in answers)

    split = {r["id"]: r for r in read_records(out / "split.jsonl")}
    for lang in ("lv", "sk", "all"):
        human, guard = [], []
        for rid, alang, q1, _, harmful in answers:
            if lang != "all" and alang != lang:
                continue
            labels = split[rid]["labels"]
            human += [not q1, harmful]
            guard += [labels["chosen"]["llama_guard"]["unsafe"], labels["rejected"]["llama_guard"]["unsafe"]]
        assert table[lang]["guards"]["llama_guard"]["kappa"] == pytest.approx(cohen_kappa_score(human, guard))
        assert table[lang]["guards"]["llama_guard"]["n"] == len(human)


def test_parallel_mode_translates_the_english_prompts(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)
    with OpenAIServer(responder=build_responder) as oa, DeepLServer(translator=deepl_translator) as dl:
        config = write_config(tmp_path / "build.yaml", oa.url, dl.url, KEY_ENV, mode="parallel",
                              langs=["en", "de", "lv"], categories=["S1"], styles=["Slang", "Role Play", "Word Play"],
                              split={"test_per_category": 1})
        result = CliRunner().invoke(main, ["build", "-b", str(tmp_path / "out"), "-c", str(config)])
        generator_calls = sum(body["model"] == "gen-small" for body in oa.requests)
    assert result.exit_code == 0, result.output
    prompts = [json.loads(line) for line in (tmp_path / "out" / "prompts.jsonl").read_text().splitlines()]
    english = {p["id"] for p in prompts if p["lang"] == "en"}
    assert len(english) == 3 * PER_CELL and generator_calls >= len(english)
    for lang in ("de", "lv"):
        assert {p["source_id"] for p in prompts if p["lang"] == lang} == english   # the same questions everywhere
    records = read_records(tmp_path / "out" / "export" / "refuseu.jsonl")
    by_source = {}
    for rec in records:
        by_source.setdefault(rec["source_id"], set()).add(rec["split"])
    assert all(len(splits) == 1 for splits in by_source.values())   # a question and its translations share a split


def test_dry_run_of_a_finished_build_prices_only_what_is_not_cached(built):
    from data_tools.build_config import BuildConfig
    from data_tools.configuration import load_config
    from data_tools.steps.estimate import estimate_with_cache
    from data_tools.steps.layout import BuildDir

    build = BuildDir(built["dir"])
    done = estimate_with_cache(load_config(BuildConfig, build.config), build)
    for role in ("generator", "refuser", "complier"):
        assert done["roles"][role]["cached"] == done["roles"][role]["calls"]
        assert done["roles"][role]["cost_usd"] == 0.0
    assert done["roles"]["translator"]["characters_to_pay"] == 0 < done["roles"]["translator"]["characters"]
    bigger = estimate_with_cache(load_config(BuildConfig, build.config, ["generate.per_cell=4"]), build)
    assert bigger["roles"]["generator"]["calls"] == 2 * done["roles"]["generator"]["calls"]
    assert bigger["roles"]["generator"]["cost_usd"] > 0
    result = CliRunner().invoke(main, ["build", "-b", str(built["dir"]), "--dry-run"])
    assert result.exit_code == 0 and "estimated total" in result.output


def test_transient_faults_are_retried_and_do_not_change_the_dataset(built, tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)
    with OpenAIServer(responder=build_responder, api_key=KEY) as oa, DeepLServer(translator=deepl_translator) as dl:
        for kind, times in (("429", 15), ("500", 15), ("503", 5), ("drop", 5)):
            oa.inject(kind, times=times)
        dl.inject("429", times=3)
        dl.inject("500", times=2)
        config = write_config(tmp_path / "build.yaml", oa.url, dl.url, KEY_ENV)
        result = CliRunner().invoke(main, ["build", "-b", str(tmp_path / "out"), "-c", str(config)])
    assert result.exit_code == 0, result.output
    retries = re.search(r"^build: .*?, (\d+) retries", result.output, re.MULTILINE)
    assert retries and int(retries.group(1)) >= 40                    # the totals line counts them
    mine = (tmp_path / "out" / "export" / "refuseu.jsonl").read_text()
    assert mine == (built["dir"] / "export" / "refuseu.jsonl").read_text()
