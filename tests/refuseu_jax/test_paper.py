"""`refuseu paper` end to end on a tiny random model: a dataset built by `refuseu-data build` against the local
protocol servers, a preset start point written once, four DPO runs, five evaluations with served guards, an
adjudicator, a fluency judge and Global MMLU, and one report directory with every table and figure. Then: a rerun
skips everything, a lost marker reruns just its unit, a changed config is refused naming the key, and the paper
configs plan all of the paper's runs."""

from __future__ import annotations

import csv
import json
import zlib
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from refuseu_jax.cli import main
from tests.data_tools.build_env import write_config
from tests.data_tools.fake_services import build_responder, deepl_translator
from tests.servers.deepl_server import DeepLServer
from tests.servers.openai_server import OpenAIServer, default_responder

REPO = Path(__file__).resolve().parents[2]
KEY_ENV, KEY = "REFUSEU_PAPER_TEST_KEY", "sk-paper-3e9b51f0-NOT-A-KEY"
LANGS = ["en", "de", "lv"]
RUNS = ["baseline", "balanced", "en-only", "no-en", "single-de"]        # configs/paper/tiny.yaml's mixes


def _crc(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


def judges(body: dict):
    """Served judges that disagree now and then (a random model's babble gives them nothing real to judge):
    verdicts from a hash of the judged response, a different one per judge."""
    model, messages = body["model"], body["messages"]
    if model == "fluency-judge":
        h = _crc(messages[-1]["content"])
        return f"Fluency: {1 + h % 5}\nCorrectness: {1 + (h // 5) % 5}"
    if model == "adjudicator":
        return "unsafe" if _crc(messages[-1]["content"]) % 2 else "safe"
    if model == "llama-guard":
        response = messages[-1]["content"]
        unsafe = _crc(response) % 3 != 0
        scripted = dict(body, messages=[*messages[:-1], {"role": "assistant",
                                                         "content": "Sure." if unsafe else "I can't help."}])
        return default_responder(scripted)
    if model == "polyguard":
        request, _, response = messages[-1]["content"].partition("AI assistant:")
        unsafe = _crc(response) % 2 == 0
        scripted = f"{request}AI assistant:\n{'Sure.' if unsafe else 'I cannot help.'}"
        return default_responder(dict(body, messages=[*messages[:-1], {"role": "user", "content": scripted}]))
    return default_responder(body)


REFUSALS = {"en": "I can't help with that.", "de": "Dabei kann ich nicht helfen.",
            "lv": "Es nevaru ar to palīdzēt."}
OPENERS = {"en": "Sure, here is how. Step 1: [details omitted].", "de": "Klar, so geht das. Schritt 1: "
           "[Details ausgelassen].", "lv": "Protams, lūk, kā. 1. solis: [detaļas izlaistas]."}


def with_words(generate):
    """The real sampler, whose random model writes no language, with its answers given words by a hash of what
    it wrote: a refusal, a compliance opener or plain text in the prompt's language, or plain text in another.
    Language consistency, the offline judge and the guards then have something to measure; every run's weights
    still decide which."""
    from tests.data_tools.fake_services import phrase_text

    def generate_responses(rows, *args, **kwargs):
        out = generate(rows, *args, **kwargs)
        for row in out:
            h, lang = _crc(row["response"] + row["id"]), row["lang"]
            row["response"] = [REFUSALS.get(lang, REFUSALS["en"]), OPENERS.get(lang, OPENERS["en"]),
                               phrase_text(lang, h), phrase_text("de" if lang != "de" else "en", h)][h % 4]
        return out
    return generate_responses


def write_mmlu(directory: Path) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    directory.mkdir()
    for lang in ("en", "de"):   # Global MMLU has no Latvian
        rows = [{"sample_id": f"{lang}-{i}", "subject": "demo", "question": f"Question {i} ({lang})?",
                 "option_a": "one", "option_b": "two", "option_c": "three", "option_d": "four",
                 "answer": "ABCD"[i % 4]} for i in range(4)]
        pq.write_table(pa.Table.from_pylist(rows), directory / f"{lang}.parquet")
    return directory


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    from tests.refuseu_jax.train.tiny_assets import build_tokenizer

    root = tmp_path_factory.mktemp("paper")
    import refuseu_jax.evaluate.run as evaluation

    mp = pytest.MonkeyPatch()
    mp.setenv(KEY_ENV, KEY)
    mp.setattr(evaluation, "generate_responses", with_words(evaluation.generate_responses))
    with OpenAIServer(responder=build_responder) as oa, DeepLServer(translator=deepl_translator) as dl:
        build_cfg = write_config(root / "build.yaml", oa.url, dl.url, KEY_ENV, langs=LANGS, categories=["S1", "S2"],
                                 styles=["Slang", "Role Play", "Hypotheticals"], split={"test_per_category": 1})
        from data_tools.cli import main as data_main

        built = CliRunner().invoke(data_main, ["build", "-b", str(root / "build"), "-c", str(build_cfg)])
    assert built.exit_code == 0, built.output
    build_tokenizer(root / "tok")
    server = OpenAIServer(responder=judges).__enter__()
    endpoint = lambda model: {"base_url": server.url, "model": model, "max_retries": 1, "backoff_s": 0.01,  # noqa
                              "max_backoff_s": 0.02, "timeout_s": 10}
    eval_cfg = {"inherit": str(REPO / "configs" / "eval" / "default.yaml"), "cache": str(root / "judge-cache.sqlite"),
                "sampling": {"max_new_tokens": 6, "batch_size": 8},
                "judges": {"rule": "paper", "adjudicate_all": True,
                           "guards": [{"name": "llama_guard", "format": "llama_guard", "endpoint": endpoint("llama-guard")},
                                      {"name": "polyguard", "format": "polyguard", "endpoint": endpoint("polyguard")}],
                           "adjudicator": {"name": "adjudicator", "format": "adjudicator",
                                           "endpoint": endpoint("adjudicator")}},
                "mmlu": {"path": str(write_mmlu(root / "mmlu")), "languages": ["en", "de"], "batch_size": 8},
                "fluency": {"endpoint": endpoint("fluency-judge")}}
    (root / "eval.yaml").write_text(yaml.safe_dump(eval_cfg))
    paper = {"inherit": str(REPO / "configs" / "paper" / "tiny.yaml"), "data": str(root / "build" / "export" / "refuseu"),
             "output_dir": str(root / "runs"), "eval": str(root / "eval.yaml"),
             "train_set": ["max_steps=1", "batch_size=8", f"model.tokenizer={root / 'tok'}"]}
    config = root / "paper.yaml"
    config.write_text(yaml.safe_dump(paper))
    first = CliRunner().invoke(main, ["paper", "--config", str(config), "--quiet"])
    requests = server.request_count
    second = CliRunner().invoke(main, ["paper", "--config", str(config), "--quiet"])
    yield {"root": root, "config": config, "first": first, "second": second, "server": server,
           "rerun_requests": server.request_count - requests, "study": root / "runs" / "tiny"}
    server.__exit__(None, None, None)
    mp.undo()


def read_table(report: Path, name: str) -> tuple[list[str], list[list[str]], list[dict]]:
    lines = [line for line in (report / f"{name}.md").read_text().splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:]]
    with open(report / f"{name}.csv", newline="", encoding="utf-8") as fh:
        return header, rows, list(csv.DictReader(fh))


@pytest.mark.slow  # the module's study: ~50 s of CPU (build, 10 units), shared
def test_the_driver_writes_every_table_and_figure(study):
    assert study["first"].exit_code == 0, study["first"].output
    report = study["study"] / "report"
    metrics = {run: json.loads((study["study"] / "eval" / run / "metrics.json").read_text()) for run in RUNS}

    header, rows, records = read_table(report, "table1_asr")
    multi = ["baseline", "balanced", "en-only", "no-en"]                          # the multi-language mixes
    assert header == ["language"] + [c for run in multi for c in (run, f"{run} over-refusal")]
    assert [r[0] for r in rows] == LANGS + ["all (pooled)", "mean of languages"]
    for record in records:   # the numbers are the evaluator's, unchanged: ASR, and the benign set's refusal rate
        if record["language"] in LANGS:
            m = metrics[record["run"]]
            rate = (m["benign"]["refusal_rate"] if record["measure"] == "over_refusal" else m["asr"])["lang"][
                record["language"]]
            assert (float(record["value"]) if record["value"] else None) == pytest.approx(rate["rate"])
            assert record["undecided"] == str(rate["undecided"])
    assert all("[" in cell for row in rows[:-1] for cell in row[1::2])           # every ASR has its interval

    header, rows, _ = read_table(report, "table2_transfer")
    assert header == ["trained on"] + LANGS + ["mean of languages"]
    assert [r[0] for r in rows] == RUNS

    header, rows, records = read_table(report, "table3_mmlu")
    assert header == ["language", "baseline"] + [c for run in RUNS[1:] for c in (run, f"drop {run} (pp)")]
    assert [r[0] for r in rows] == ["en", "de", "all"]
    drop = next(r for r in records if r["run"] == "balanced" and r["language"] == "de")
    recorded = metrics["balanced"]["mmlu"]["drop_vs_baseline"]["per_language"]["de"]
    assert float(drop["drop"]) == pytest.approx(recorded["drop"])              # over the questions both answered
    assert float(drop["p_value"]) == pytest.approx(recorded["mcnemar"]["p_value"])

    header, rows, _ = read_table(report, "language_consistency")
    assert header == ["language"] + RUNS and [r[0] for r in rows][:3] == LANGS
    header, rows, records = read_table(report, "judge_agreement")
    assert header == ["run: judges", "all"] + LANGS
    assert set(records[0]) == {"table", "run", "pair", "language", "value", "agreement", "n"}
    pairs = ["llama_guard vs polyguard", "llama_guard vs adjudicator", "polyguard vs adjudicator"]  # Figure 2's
    assert [r[0] for r in rows] == [f"{run}: {pair}" for run in RUNS for pair in pairs]
    header, rows, records = read_table(report, "outcomes")
    assert header == ["language"] + RUNS and [r[0] for r in rows] == LANGS + ["all (pooled)"]
    failure = next(r for r in records if (r["run"], r["language"], r["measure"]) == ("baseline", "lv", "failure"))
    assert float(failure["value"]) == pytest.approx(metrics["baseline"]["outcomes"]["lang"]["lv"]["failure"]["rate"])
    header, rows, _ = read_table(report, "fluency")
    assert header == ["language"] + [f"{run} {m}" for run in RUNS for m in ("fluency", "correctness")]
    assert [r[0] for r in rows] == LANGS

    for png in ("fig2_judge_agreement", "fig3_asr", "fig4_asr_vs_consistency", "fig6_fluency_drop",
                "fig8_consistency_delta", "fig_transfer", "fig_mmlu_drop"):
        assert (report / "figures" / f"{png}.png").stat().st_size > 2000, png
    summary = json.loads((report / "report.json").read_text())
    assert summary["runs"] == RUNS and not summary["missing"] and not summary["left_out"]
    text = (report / "report.md").read_text()
    assert "Table 1" in text and "Table 2" in text and "Table 3" in text and "figures/fig3_asr.png" in text
    assert "Judges: guards llama_guard (llama-guard), polyguard (polyguard); rule paper, adjudicator" in text
    assert "Independence from the dataset's filter" in text and "Mixed judge setups" not in text
    assert "## External toxicity benchmarks" in text and "baseline: no external benchmarks configured" in text


@pytest.mark.slow  # the module's study: ~50 s of CPU (build, 10 units), shared
def test_every_run_started_from_the_same_start_point_and_trained_its_mix(study):
    from data_tools.schema import read_records

    runs = study["study"]
    assert json.loads((runs / "start" / "DONE.json").read_text())["unit"] == "start"
    baseline = yaml.safe_load((runs / "eval" / "baseline" / "config.yaml").read_text())
    assert baseline["model"] == str(runs / "start")
    records = read_records(study["root"] / "build" / "export" / "refuseu")
    for run, langs in (("balanced", set(LANGS)), ("en-only", {"en"}), ("no-en", {"de", "lv"}), ("single-de", {"de"})):
        config = json.loads((runs / "train" / run / "config.json").read_text())
        assert config["model"]["path"] == str(runs / "start") and config["model"]["preset"] is None
        assert config["data"]["path"] == str(study["root"] / "build" / "export" / "refuseu")
        from refuseu_jax.train.batches import select_records

        chosen = select_records(records, split="train", mix=config["data"]["mix"])
        assert {r["lang"] for r in chosen} == langs
        assert (runs / "train" / run / "hf" / "config.json").is_file()
        assert yaml.safe_load((runs / "eval" / run / "config.yaml").read_text())["baseline"] == str(
            runs / "eval" / "baseline")


@pytest.mark.slow  # the module's study: ~50 s of CPU (build, 10 units), shared
def test_a_rerun_skips_every_finished_run(study):
    assert study["second"].exit_code == 0, study["second"].output
    assert study["second"].output.count("finished earlier, skipped") == 10      # start + 5 evals + 4 trainings
    assert study["rerun_requests"] == 0                                          # nothing judged again


@pytest.mark.slow  # the module's study: ~50 s of CPU (build, 10 units), shared
def test_a_lost_marker_reruns_only_its_unit_and_training_resumes(study):
    """A driver killed after a training run's last checkpoint but before its marker: the rerun resumes that run
    (nothing left to train: it exports) and skips everything else."""
    run = study["study"] / "train" / "single-de"
    (run / "DONE.json").unlink()
    exported = (run / "hf" / "model.safetensors").read_bytes()
    result = CliRunner().invoke(main, ["paper", "--config", str(study["config"]), "--quiet"])
    assert result.exit_code == 0, result.output
    assert result.output.count("finished earlier, skipped") == 9
    assert "train single-de: done" in result.output and (run / "DONE.json").is_file()
    assert (run / "hf" / "model.safetensors").read_bytes() == exported      # resumed at its last step


@pytest.mark.slow  # the module's study: ~50 s of CPU (build, 10 units), shared
def test_a_finished_run_of_another_config_is_refused_naming_the_key(study):
    changed = study["root"] / "changed.yaml"
    config = yaml.safe_load(study["config"].read_text())
    config["train_set"] = [s.replace("max_steps=1", "max_steps=3") for s in config["train_set"]]
    changed.write_text(yaml.safe_dump(config))
    result = CliRunner().invoke(main, ["paper", "--config", str(changed), "--dry-run"])
    assert result.exit_code == 2
    assert "finished with another configuration" in result.stderr and "max_steps" in result.stderr


@pytest.mark.parametrize("name", ["llama-3.1-8b.yaml", "llama-3.1-70b.yaml"])
def test_paper_configs_plan_all_of_the_papers_runs(name):
    result = CliRunner().invoke(main, ["paper", "--config", str(REPO / "configs" / "paper" / name), "--dry-run"])
    assert result.exit_code == 0, result.output
    units = [line.split("]", 1)[1].split()[:2] for line in result.output.splitlines() if line.startswith("[")]
    mixes = ["balanced", "high-resource", "en-only", "no-en"] + [f"single-{lang}" for lang in
                                                                ("de", "fr", "it", "es", "pt", "pl", "cs", "sk", "sl",
                                                                 "lt", "lv")]
    assert units == [["eval", "baseline"]] + [[kind, mix] for mix in mixes for kind in ("train", "eval")]
    assert "--set data.mix=single:lv" in result.output and "--set data.path=build/export/refuseu" in result.output


def test_only_selects_runs_and_names_unknown_ones():
    config = str(REPO / "configs" / "paper" / "llama-3.1-8b.yaml")
    result = CliRunner().invoke(main, ["paper", "--config", config, "--dry-run", "--only", "balanced,en_only"])
    assert result.exit_code == 0, result.output
    units = [line.split("]", 1)[1].split()[:2] for line in result.output.splitlines() if line.startswith("[")]
    assert units == [["eval", "baseline"], ["train", "balanced"], ["eval", "balanced"], ["train", "en-only"],
                     ["eval", "en-only"]]
    result = CliRunner().invoke(main, ["paper", "--config", config, "--dry-run", "--only", "balanced,xx-only"])
    assert result.exit_code == 2 and "'xx-only'" in result.stderr and "single-lv" in result.stderr


def test_docs_paper_is_the_commands_in_order_and_each_dry_run_works(tmp_path, monkeypatch):
    """docs/paper.md holds the reproduce-the-paper commands and nothing else; the build and driver commands
    among them run as dry runs (the downloads are checked against the configs by tests/test_paths.py)."""
    from data_tools.cli import main as data_main

    text = (REPO / "docs" / "paper.md").read_text()
    outside = [line for line in text.split("```")[0::2] for line in line.splitlines() if line.strip()]
    assert outside == ["## Reproduce the paper"]
    commands = [line for line in text.split("```")[1].splitlines()[1:] if line.strip()]
    order = [c.split()[0] + " " + c.split()[1] for c in commands]
    assert order == ["huggingface-cli download"] * 3 + ["refuseu-data build"] * 2 + ["refuseu paper"] * 4
    monkeypatch.chdir(REPO)   # the commands are written for the repository root
    for command in commands:
        words = command.split()
        if words[0] == "refuseu-data" and "--dry-run" in words:
            result = CliRunner().invoke(data_main, [w.replace("build/", str(tmp_path / "build")) for w in words[1:]])
        elif words[0] == "refuseu" and "--dry-run" in words:
            result = CliRunner().invoke(main, words[1:])
        else:
            continue
        assert result.exit_code == 0, (command, result.output)
