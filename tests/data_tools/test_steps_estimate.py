"""`build --dry-run`: the shipped paper config fills the paper's split, a config that cannot is refused naming the
key, and the cost estimate counts top-up rounds and every generator at its own price."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from data_tools.build_config import BuildConfig
from data_tools.cli import main
from data_tools.configuration import load_config
from data_tools.steps.estimate import estimate, expected_yield

PAPER = Path(__file__).resolve().parents[2] / "configs" / "data" / "refuseu.yaml"


def test_paper_config_dry_run_fills_the_papers_split(tmp_path):
    result = CliRunner().invoke(main, ["build", "-b", str(tmp_path / "out"), "-c", str(PAPER), "--dry-run"])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if line.startswith("expected at"))
    rate = float(re.search(r"survival_rate ([\d.]+)", line).group(1))
    pairs, train, test = map(int, re.search(r"-> (\d+) pairs \(train (\d+), test (\d+)", line).groups())
    assert rate == load_config(BuildConfig, PAPER).estimate.survival_rate == 0.5
    assert pairs >= 4000 and test >= 1400 and train + test == pairs          # per language, as the paper had
    assert not (tmp_path / "out").exists()                                   # a dry run writes nothing


@pytest.mark.parametrize("overrides, fragments", [
    (["generate.per_cell=4"], ["key 'generate.per_cell'", "at least 23", "split.test_per_category"]),
    (["estimate.survival_rate=0.05"], ["key 'generate.per_cell'", "survival_rate 0.05"]),
    (["styles=[Slang]"], ["key 'styles'", "at least 2 attack styles"]),
])
def test_counts_that_cannot_fill_the_split_exit_2_naming_the_key(tmp_path, overrides, fragments):
    args = ["build", "-b", str(tmp_path / "out"), "-c", str(PAPER), "--dry-run"]
    result = CliRunner().invoke(main, args + [f"--set={o}" for o in overrides])
    assert result.exit_code == 2, result.output
    [line] = result.stderr.strip().splitlines()
    for fragment in fragments:
        assert fragment in line, line


def test_the_smallest_per_cell_it_names_is_enough():
    """The bound in the message is tight: per_cell at the bound fills the split, one less does not."""
    cfg = load_config(BuildConfig, PAPER, ["generate.per_cell=23"])
    assert expected_yield(cfg)["fills_split"] and expected_yield(cfg)["test_per_language"] == 1400
    assert not expected_yield(load_config(BuildConfig, PAPER, ["generate.per_cell=22"]))["fills_split"]


def test_generation_counts_top_up_rounds_and_every_generator_at_its_price():
    extra = ("endpoints.extra_generators=[{base_url: 'http://localhost:9/v1', model: gen-b, "
             "prompt_price_per_mtok: 2.0, completion_price_per_mtok: 4.0}]")
    base = ["langs=[en, de]", "categories=[S1, S2]", "styles=[Slang, Role Play, Hypotheticals]",
            "generate.per_cell=10", "generate.max_rounds=3", "estimate.generation_drop_rate=0.5",
            "endpoints.extra_generators=[]",
            "endpoints.generator.prompt_price_per_mtok=1.0", "endpoints.generator.completion_price_per_mtok=2.0"]
    one = estimate(load_config(BuildConfig, PAPER, base))
    first_round = 2 * 2 * 3 * 10
    assert one["roles"]["generator"]["calls"] == first_round * (1 + 0.5 + 0.25)    # 120 + 60 + 30
    two = estimate(load_config(BuildConfig, PAPER, [*base, extra]))
    a, b = two["roles"]["generator"], two["roles"]["generator[1]"]
    assert a["calls"] + b["calls"] == 210 and abs(a["calls"] - b["calls"]) <= 1   # round-robin by slot
    assert b["model"] == "gen-b"
    # each at its own endpoint's rates: the second costs twice as much per token
    assert b["cost_usd"] == pytest.approx(2 * a["cost_usd"] * b["calls"] / a["calls"])
    assert two["cost_usd"] == pytest.approx(one["cost_usd"] + a["cost_usd"] + b["cost_usd"]
                                            - one["roles"]["generator"]["cost_usd"])
