"""`refuseu paper`: what reproducing the paper takes, as a list of units with their configs and directories.

From one built dataset and one start point:
  start           a preset start point (random weights, smoke runs) written once as a checkpoint, so every run
                  starts from the same weights (skipped when the training config names a checkpoint)
  eval baseline   the start point on the test split: ASR, language consistency, Global MMLU, fluency
  train <mix>     one DPO run per mix (the paper's 15: balanced, high-resource, en-only, no-en and 11
                  single-language runs), on the full export with `data.mix`, exported to Hugging Face format
  eval <mix>      that model, with the baseline's metrics beside it (MMLU drop)
and then the report (refuseu_jax/paper/report.py). Everything lives under <output_dir>/<name>/:
  start/  eval/baseline/  train/<run>/ (run directory, hf/ = the exported model)  eval/<run>/  report/

Each unit is built from the shipped training and evaluation configs with the same `--set` overrides a user
would type, and `command` spells them out: the plan printed by `--dry-run` is also how to run one unit by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from data_tools.configuration import load_config
from data_tools.errors import UserError
from data_tools.taxonomy import LANGUAGES, mix_languages

# The paper's training runs: four mixes and one run per language but English (en_only is the English one).
PAPER_MIXES: tuple[str, ...] = ("balanced", "high_resource", "en_only", "no_en") + tuple(
    f"single:{lang}" for lang in LANGUAGES if lang != "en")
BASELINE = "baseline"


@dataclass(frozen=True)
class PaperConfig:
    name: str                       # the study, e.g. llama-3.1-8b: outputs go to <output_dir>/<name>
    train: str                      # training YAML every run starts from (configs/train/...)
    eval: str                       # evaluation YAML every evaluation starts from (configs/eval/...)
    data: str = "build/export/refuseu"   # the built dataset (`refuseu-data build -b build/`)
    output_dir: str = "runs/paper"
    train_set: list[str] = field(default_factory=list)   # --set overrides for every training run
    eval_set: list[str] = field(default_factory=list)    # --set overrides for every evaluation
    mixes: list[str] = field(default_factory=list)       # empty: the paper's 15 (PAPER_MIXES)

    def __post_init__(self):
        for i, mix in enumerate(self.mixes):
            try:
                mix_languages(mix)
            except UserError as err:
                raise UserError(f"key 'mixes[{i}]': {err}") from None

    @property
    def root(self) -> Path:
        return Path(self.output_dir) / self.name

    @property
    def mix_names(self) -> tuple[str, ...]:
        return tuple(self.mixes) or PAPER_MIXES


def run_name(mix: str) -> str:
    """'high_resource' -> 'high-resource', 'single:de' -> 'single-de': directory names and `--only` values."""
    return mix.replace("_", "-").replace(":", "-")


@dataclass(frozen=True)
class Unit:
    kind: str                       # "start" | "train" | "eval"
    run: str                        # "baseline" or a run name
    directory: Path                 # its outputs, and DONE.json once they are complete
    config: Any                     # TrainConfig | EvalConfig
    command: str                    # the same work as a `refuseu` command line

    @property
    def label(self) -> str:
        return self.kind if self.kind == self.run else f"{self.kind} {self.run}"


@dataclass(frozen=True)
class Plan:
    paper: PaperConfig
    units: tuple[Unit, ...]

    @property
    def report_dir(self) -> Path:
        return self.paper.root / "report"

    def evaluations(self) -> list[Unit]:
        return [u for u in self.units if u.kind == "eval"]


def _train_config(paper: PaperConfig, extra: list[str]):
    from refuseu_jax.train.config import TrainConfig

    return load_config(TrainConfig, paper.train, [*paper.train_set, f"data.path={paper.data}", *extra])


def _eval_config(paper: PaperConfig, extra: list[str]):
    from refuseu_jax.evaluate.run import EvalConfig

    return load_config(EvalConfig, paper.eval, [*paper.eval_set, f"data={paper.data}", *extra])


def _command(name: str, config: str, sets: list[str]) -> str:
    return " ".join([f"refuseu {name} --config {config}"] + [f"--set {s}" for s in sets])


def select_mixes(paper: PaperConfig, only: str | None) -> tuple[str, ...]:
    """The mixes `--only` names (run names or mix names, comma-separated); all of them without it."""
    if not only:
        return paper.mix_names
    by_name = {run_name(m): m for m in paper.mix_names}
    wanted = [run_name(item.strip()) for item in only.split(",") if item.strip()]
    unknown = [w for w in wanted if w not in by_name and w != BASELINE]
    if unknown:
        raise UserError(f"--only: unknown run {unknown[0]!r} (runs of this config: "
                        f"{', '.join([BASELINE, *by_name])})")
    return tuple(by_name[w] for w in by_name if w in wanted)


def build_plan(paper: PaperConfig, only: str | None = None) -> Plan:
    """Every unit, in the order they run. The baseline evaluation is always part of it: every comparison needs
    it (a finished one is skipped like any other unit)."""
    root = paper.root
    base = _train_config(paper, [])
    units, start_sets = [], []
    if base.model.preset is not None:
        start = root / "start"
        units.append(Unit("start", "start", start, base, f"(preset {base.model.preset!r} written to {start})"))
        start_model = str(start)
        start_sets = ["model.preset=null", f"model.path={start}", "model.tokenizer=null"]
    else:
        start_model = base.model.path
    eval_dir = root / "eval"
    sets = [f"model={start_model}", f"name={BASELINE}", f"output_dir={eval_dir}", "baseline=null"]
    units.append(Unit("eval", BASELINE, eval_dir / BASELINE, _eval_config(paper, sets),
                      _command("eval", paper.eval, [*paper.eval_set, f"data={paper.data}", *sets])))
    for mix in select_mixes(paper, only):
        name = run_name(mix)
        run_dir = root / "train" / name
        sets = [*start_sets, f"data.mix={mix}", f"run_dir={run_dir}", f"export_dir={run_dir / 'hf'}", "resume=true"]
        units.append(Unit("train", name, run_dir, _train_config(paper, sets),
                          _command("train", paper.train, [*paper.train_set, f"data.path={paper.data}", *sets])))
        sets = [f"model={run_dir / 'hf'}", f"name={name}", f"output_dir={eval_dir}",
                f"baseline={eval_dir / BASELINE}"]
        units.append(Unit("eval", name, eval_dir / name, _eval_config(paper, sets),
                          _command("eval", paper.eval, [*paper.eval_set, f"data={paper.data}", *sets])))
    return Plan(paper, tuple(units))
