"""`refuseu quickstart` and `--compare` end to end on a tiny random model (the bundled data, the real
evaluation): they train on the mix, export, evaluate base and trained models on harmful test prompts and harmless
prompts in all 12 languages, and print the examples and the per-language table (the transfer plot with
--compare)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from data_tools.taxonomy import LANGUAGES
from refuseu_jax.cli import main
from tests.refuseu_jax.train.tiny_assets import build_checkpoint


@pytest.fixture(scope="module")
def tiny_config(tmp_path_factory):
    root = tmp_path_factory.mktemp("quickstart")
    build_checkpoint(root / "tiny")
    # The tiny tokenizer is byte-level: prompts need more tokens than SmolLM2's.
    (root / "tiny.yaml").write_text(f"""
run_dir: {root / 'runs' / 'demo'}
model: {{path: {root / 'tiny'}, compute_dtype: auto, scan_layers: false}}
data: {{path: sample, mix: balanced, max_length: 320, pad_multiple: 64, benign_ratio: 0.25}}
validation: {{fraction: 0.1, every: 2, patience: 2}}
batch_size: 8                # one pair per device on the test session's 8 fake CPU devices
epochs: 1
max_steps: 4
dpo: {{beta: 0.1, sft_weight: 0.5}}
optim: {{learning_rate: 1.0e-3, warmup_ratio: 0.0}}
progress: false
""")
    return root


def _table_rows(output: str) -> list[str]:
    return [line.split(" | ")[0].lstrip("| ").strip() for line in output.splitlines() if line.startswith("| ")]


@pytest.mark.slow  # trains, exports and evaluates twice (~1 min on 2 cores)
def test_quickstart_trains_exports_and_reports_per_language(tiny_config):
    result = CliRunner().invoke(main, ["quickstart", "--config", str(tiny_config / "tiny.yaml"),
                                       "--eval-per-language", "1", "--max-new-tokens", "8", "--examples", "3"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    out = result.output
    assert "harmful +" in out and "benign" in out and "tokens/s" in out and "validation at step 0" in out
    run = tiny_config / "runs" / "demo"
    assert (run / "hf" / "config.json").is_file() and (run / "hf" / "tokenizer.json").is_file()
    rows = _table_rows(out)
    assert set(LANGUAGES) <= set(rows)  # one row per language (and a pooled one)
    assert out.count("  base:") == 3 and out.count("  trained:") == 3  # the examples, before and after
    for name in ("base", "trained"):
        judged = [json.loads(l) for l in (run / "eval" / name / "judgements.jsonl").read_text().splitlines()]
        benign = [json.loads(l) for l in (run / "eval" / name / "benign_judgements.jsonl").read_text().splitlines()]
        assert sorted(r["lang"] for r in judged) == sorted(LANGUAGES) == sorted(r["lang"] for r in benign)


@pytest.mark.slow  # two trainings and three evaluations (~1.5 min on 2 cores)
def test_compare_trains_en_only_and_balanced_for_the_same_steps_and_plots(tiny_config):
    result = CliRunner().invoke(main, ["quickstart", "--compare", "--config", str(tiny_config / "tiny.yaml"),
                                       "--set", f"run_dir={tiny_config / 'runs' / 'compare'}",
                                       "--set", "validation.fraction=0", "--set", "validation.every=0",
                                       "--set", "validation.patience=0", "--set", "max_steps=3",
                                       "--set", "epochs=20", "--eval-per-language", "1", "--max-new-tokens", "8"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    out = result.output
    assert "en-only run" in out and "balanced run" in out and "(en_only)" in out and "(balanced)" in out
    root = tiny_config / "runs" / "compare"
    for name in ("en-only", "balanced"):
        steps = [json.loads(l)["step"] for l in (root / name / "metrics.jsonl").read_text().splitlines()]
        assert steps == [1, 2, 3]
    assert (root / "eval" / "transfer.png").stat().st_size > 10_000
    rates = json.loads((root / "eval" / "transfer.json").read_text())
    assert set(rates) == {"base", "en-only", "balanced"} and set(rates["balanced"]) == set(LANGUAGES)
    assert set(LANGUAGES) <= set(_table_rows(out))
