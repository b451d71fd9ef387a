"""`refuseu quickstart`: bad values are one-line errors, its configs ship inside the package (a wheel finds them
outside the repository), and the pieces of its report (examples, the transfer plot, the disjointness check)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from data_tools.errors import UserError
from refuseu_jax import quickstart as qs
from refuseu_jax.cli import main

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("args,expected", [
    (["--examples", "0"], "Invalid value for '--examples': 0 is not in the range 1<=x<=24"),
    (["--max-new-tokens", "-3"], "Invalid value for '--max-new-tokens'"),
    (["--eval-per-language", "0"], "Invalid value for '--eval-per-language'"),
    (["--bogus"], "No such option '--bogus'"),
    (["--set", "batch_size=0"], "key 'batch_size' must be >= 1"),
    (["--set", "data.benign_ratio=1.5"], "key 'data.benign_ratio' must be in [0, 1)"),
    (["--config", "nowhere.yaml"], "nowhere.yaml: config file not found"),
    (["--compare", "--set", "max_steps=null"], "--compare needs a fixed number of steps"),
])
def test_bad_values_are_one_line_errors_with_exit_2(args, expected, monkeypatch):
    # --compare's check runs before any model is loaded; nothing here trains.
    result = CliRunner().invoke(main, ["quickstart", *args])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], lines


def test_a_model_inside_the_run_directory_is_refused_not_deleted(tmp_path):
    # The quickstart empties its run directory first; a start point inside it would be lost.
    model = tmp_path / "run" / "ablated"
    model.mkdir(parents=True)
    (model / "config.json").write_text("{}")
    result = CliRunner().invoke(main, ["quickstart", "--set", f"run_dir={tmp_path / 'run'}",
                                       "--set", f"model.path={model}"])
    assert result.exit_code == 2, result.output
    assert "key 'model.path'" in result.stderr and "inside the run directory" in result.stderr, result.stderr
    assert (model / "config.json").is_file()


def test_packaged_configs_are_the_repository_configs():
    path = qs.packaged_config(qs.QUICKSTART_CONFIG)
    assert path.is_file() and path.read_bytes() == (ROOT / "configs" / qs.QUICKSTART_CONFIG).read_bytes()
    assert qs.resolve_config("configs/train/smollm2-135m-compare.yaml").is_file()
    compare = qs.load_train_config(f"configs/{qs.COMPARE_CONFIG}")
    demo = qs.load_train_config(f"configs/{qs.QUICKSTART_CONFIG}")
    # Same start; the comparison keeps the recipe its README figures were measured with, for a fixed step count.
    assert compare.model.path == demo.model.path and compare.max_steps and compare.validation.fraction == 0


@pytest.mark.slow  # builds a wheel (~15 s on 2 cores)
def test_an_installed_wheel_finds_its_configs_outside_the_repository(tmp_path):
    """`pip install <checkout>` (a wheel, not an editable install), then the quickstart's config and --help from
    another directory, with the repository off sys.path."""
    import shutil

    # pip builds in the source tree (build/, *.egg-info): build from a copy, symlinks kept as they are in git.
    src = tmp_path / "checkout"
    shutil.copytree(ROOT, src, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", "runs", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", str(src), "-w",
                    str(tmp_path / "wheel")], check=True, capture_output=True, cwd=tmp_path)
    wheel = next((tmp_path / "wheel").glob("refuseu_jax-*.whl"))
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    assert (site / "refuseu_jax" / "configs" / "train" / "smollm2-135m-quickstart.yaml").is_file()
    code = ("import json, sys; from refuseu_jax.quickstart import load_train_config, resolve_config; "
            "cfg = load_train_config('configs/train/smollm2-135m-quickstart.yaml'); "
            "print(json.dumps([str(resolve_config('configs/train/smollm2-135m-quickstart.yaml')), cfg.model.path, "
            "[p for p in sys.path if p.rstrip('/') == %r]]))" % str(ROOT))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(site)
    run = tmp_path / "elsewhere"
    run.mkdir()
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=run, capture_output=True, text=True, check=True)
    found, model, repo_on_path = json.loads(out.stdout.strip().splitlines()[-1])
    assert Path(found).is_relative_to(site) and model == "smollm2-135m" and repo_on_path == []
    helped = subprocess.run([sys.executable, "-m", "refuseu_jax.cli", "quickstart", "--help"], env=env, cwd=run,
                            capture_output=True, text=True)
    assert helped.returncode == 0 and "--compare" in helped.stdout


def test_benign_training_and_evaluation_prompts_must_be_disjoint(tmp_path):
    def write(path, prompts):
        path.write_text("".join(json.dumps({"prompt": [{"role": "user", "content": p}]}) + "\n" for p in prompts))

    write(tmp_path / "pairs.jsonl", ["How do I kill a stuck process?", "Sharpen a knife safely?"])
    write(tmp_path / "eval.jsonl", ["How do I bake bread?", "What is a haiku?"])
    assert qs.check_benign_disjoint(tmp_path / "pairs.jsonl", tmp_path / "eval.jsonl") == 2
    write(tmp_path / "eval.jsonl", ["How do I bake bread?", "how do I  kill a stuck process?"])
    with pytest.raises(UserError, match=r"eval.jsonl: 1 harmless evaluation prompt\(s\) also appear"):
        qs.check_benign_disjoint(tmp_path / "pairs.jsonl", tmp_path / "eval.jsonl")


def test_shorten_cuts_at_a_sentence_or_word_boundary():
    text = "I can't help with that. It could hurt someone. If you want, I can explain the law instead of it."
    assert qs.shorten(text, 60) == "I can't help with that. It could hurt someone. …"
    assert qs.shorten("word " * 40, 50).endswith("word …") and len(qs.shorten("word " * 40, 50)) <= 52
    assert qs.shorten("  short\n reply ") == "short reply"
    assert qs.shorten("x" * 100, 40) == "x" * 40 + " …"  # no boundary at all: cut, but say so


def _judged(lang, kind, outcome, i=0):
    return {"lang": lang, "prompt": f"{kind} prompt {i} in {lang}", "response": f"{outcome} reply",
            "refusal": {"outcome": outcome}}


def test_examples_are_spread_over_languages_and_alternate_kinds():
    from data_tools.taxonomy import LANGUAGES

    before = {"harmful": [_judged(l, "harmful", "compliance", i) for l in LANGUAGES for i in range(2)],
              "benign": [_judged(l, "benign", "compliance", i) for l in LANGUAGES for i in range(2)]}
    after = {"harmful": [_judged(l, "harmful", "refusal", i) for l in LANGUAGES for i in range(2)],
             "benign": [_judged(l, "benign", "compliance", i) for l in LANGUAGES for i in range(2)]}
    picked = qs.pick_examples(before, after, 4)
    assert [(p["lang"], p["kind"]) for p in picked] == [("en", "harmful"), ("es", "benign"), ("cs", "harmful"),
                                                        ("lv", "benign")]
    assert picked[0]["prompt"] == "harmful prompt 0 in en" and picked[0]["after_outcome"] == "refusal"
    text = qs.format_examples(picked, ("base", "trained"))
    assert "[en, harmful, held-out group] harmful prompt 0 in en" in text
    assert "  trained: [refusal] refusal reply" in text


def test_transfer_plot_and_rates(tmp_path):
    from data_tools.schema import write_jsonl_atomic

    run = tmp_path / "en-only"
    run.mkdir()
    write_jsonl_atomic(run / "judgements.jsonl", [_judged("en", "harmful", "refusal"),
                                                  _judged("en", "harmful", "compliance", 1),
                                                  _judged("de", "harmful", "failure")])
    write_jsonl_atomic(run / "benign_judgements.jsonl", [_judged("en", "benign", "refusal")])
    rates = qs.per_language_rates(run)
    assert rates["en"] == {"harmful_non_refusal": 0.5, "benign_refusal": 1.0}
    assert rates["de"] == {"harmful_non_refusal": None, "benign_refusal": None}  # failures are not decided
    png = qs.transfer_plot({"base": rates, "en-only": rates}, tmp_path / "plot" / "transfer.png", steps=3)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
