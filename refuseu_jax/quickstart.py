"""The README's main job (`refuseu quickstart`, `make demo`) and the paper's central experiment in miniature
(`refuseu quickstart --compare`, `make compare`), on the embedded SmolLM2-135M-Instruct and the bundled data.

Demo:    train (harmful + benign pairs, 12 languages, validation and early stopping: configs/train/
         smollm2-135m-quickstart.yaml) -> export -> evaluate the base and the trained model on the held-out test
         groups and the harmless prompts -> the per-language table and a few answers, before and after.
Compare: an English-only and a balanced 12-language run from the same start, for the same number of steps
         (configs/train/smollm2-135m-compare.yaml) -> base / en-only / balanced per language + a transfer plot.

The configs ship inside the package (refuseu_jax/configs is the repository's configs/ directory), so an
installed wheel finds them outside a checkout.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import time
from importlib import resources
from pathlib import Path
from typing import Callable

import numpy as np

from data_tools.errors import UserError
from data_tools.taxonomy import LANGUAGES

QUICKSTART_CONFIG = "train/smollm2-135m-quickstart.yaml"
COMPARE_CONFIG = "train/smollm2-135m-compare.yaml"
COMPARE_RUNS = (("en-only", "en_only"), ("balanced", "balanced"))  # (run name, data.mix)


# ---------------------------------------------------------------------------------------------------------------
# Configs shipped with the package


def packaged_config(relative: str) -> Path:
    """A YAML under the package's configs/ ("train/smollm2-135m-quickstart.yaml")."""
    return Path(str(resources.files("refuseu_jax").joinpath("configs", *relative.split("/"))))


def resolve_config(path: str | Path) -> Path:
    """`path` as given when it exists; else the packaged config of that name ("configs/train/x.yaml" or
    "train/x.yaml"), so the README's commands also work from an installed wheel outside the repository."""
    path = Path(path)
    if path.is_file():
        return path
    parts = path.parts[1:] if path.parts[:1] == ("configs",) else path.parts
    packaged = packaged_config("/".join(parts)) if parts else None
    if packaged is not None and packaged.is_file():
        return packaged
    raise UserError(f"{path}: config file not found (neither there nor among the packaged configs)")


def load_train_config(path: str | Path, overrides=()):
    from data_tools.configuration import load_config
    from refuseu_jax.train.config import TrainConfig

    return load_config(TrainConfig, resolve_config(path), list(overrides))


# ---------------------------------------------------------------------------------------------------------------
# Evaluation data


def check_benign_disjoint(pairs_path: str | Path, eval_path: str | Path) -> int:
    """The harmless evaluation prompts must not be trained on (as benign pairs): a shared prompt text would
    measure memorisation, not over-refusal. Returns how many evaluation prompts were checked."""
    from data_tools.schema import iter_jsonl

    def texts(path):
        return {" ".join(m["content"].split()).casefold() for _, row in iter_jsonl(path) for m in row["prompt"]
                if m.get("role") == "user"}

    trained, evaluated = texts(pairs_path), texts(eval_path)
    shared = sorted(trained & evaluated)
    if shared:
        raise UserError(f"{eval_path}: {len(shared)} harmless evaluation prompt(s) also appear in the benign "
                        f"training pairs {pairs_path} (first: {shared[0][:80]!r})")
    return len(evaluated)


def evaluate(models: dict, out_dir: Path, data: str, max_new_tokens: int, batch_size: int,
             limit_per_language: int | None) -> str:
    """Greedy replies of every model to the harmful test prompts and the harmless prompts, judged offline; the
    per-language Markdown table (refuseu_jax.evaluate.quick)."""
    from refuseu_jax.evaluate import quick

    return quick.evaluate_models(models, data=data, max_new_tokens=max_new_tokens, batch_size=batch_size,
                                 out_dir=out_dir, limit_per_language=limit_per_language)


# ---------------------------------------------------------------------------------------------------------------
# Examples a person can read


def shorten(text: str, limit: int = 220) -> str:
    """One line: whitespace collapsed, cut at the last sentence end within `limit` (or else the last word
    boundary), with an ellipsis when anything was cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    head = text[:limit]
    ends = [m.end() for m in re.finditer(r"[.!?;:](?=\s)", head)]
    if ends and ends[-1] >= limit // 3:
        return head[: ends[-1]] + " …"
    cut = head.rfind(" ")
    return (head[:cut] if cut > limit // 3 else head).rstrip(",;: ") + " …"


def outcome(row: dict) -> str:
    """refusal / compliance / failure from a judged row (the offline judge's reading)."""
    verdict = row.get("refusal") or {}
    if "outcome" in verdict:
        return verdict["outcome"]
    return {True: "refusal", False: "compliance"}.get(verdict.get("refusal"), "failure")


def read_judged(run_dir: Path) -> dict[str, list[dict]]:
    from data_tools.schema import iter_jsonl

    out = {}
    for kind, name in (("harmful", "judgements.jsonl"), ("benign", "benign_judgements.jsonl")):
        path = run_dir / name
        out[kind] = [row for _, row in iter_jsonl(path)] if path.is_file() else []
    return out


def pick_examples(before: dict[str, list[dict]], after: dict[str, list[dict]], n: int) -> list[dict]:
    """`n` prompts in languages spread over the 12 (en first), alternating harmful and harmless, the first
    prompt of its kind in that language: a fixed choice, not the best-looking replies."""
    langs = [LANGUAGES[round(i * (len(LANGUAGES) - 1) / max(n - 1, 1))] for i in range(n)] if n > 1 else ["en"]
    chosen = []
    for i, lang in enumerate(langs):
        kinds = ("harmful", "benign") if i % 2 == 0 else ("benign", "harmful")
        for kind in kinds:
            pairs = [(b, a) for b, a in zip(before[kind], after[kind]) if b["lang"] == lang]
            if pairs:
                b, a = pairs[0]
                chosen.append({"lang": lang, "kind": kind, "prompt": b["prompt"], "before": b["response"],
                               "before_outcome": outcome(b), "after": a["response"], "after_outcome": outcome(a)})
                break
    return chosen


def format_examples(examples: list[dict], names: tuple[str, str]) -> str:
    width = max(len(n) for n in names) + 1
    lines = []
    for ex in examples:
        label = "harmful, held-out group" if ex["kind"] == "harmful" else "harmless"
        lines += ["", f"[{ex['lang']}, {label}] {shorten(ex['prompt'], 160)}",
                  f"  {names[0] + ':':<{width}} [{ex['before_outcome']}] {shorten(ex['before'])}",
                  f"  {names[1] + ':':<{width}} [{ex['after_outcome']}] {shorten(ex['after'])}"]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------------------
# Training


def training_report(summary: dict) -> list[str]:
    hist = summary["history"]
    lines = [f"      data: {summary['mixture']}; {summary['encode']}"]
    if not hist:
        return lines
    # The first step of each padded length compiles; the median is the running speed.
    speed = float(np.median([h["tokens_per_s"] for h in hist[1:]])) if len(hist) > 1 else hist[0]["tokens_per_s"]
    first, last = hist[0], hist[-1]
    lines.append(f"      steps 1..{last['step']}: loss {first['loss']:.3f} -> {last['loss']:.3f}, reward accuracy "
                 f"{first['rewards/accuracies']:.2f} -> {last['rewards/accuracies']:.2f}, {speed:.0f} tokens/s "
                 f"(median step, compiles excluded)")
    for point in summary.get("validation", []):
        parts = [f"loss {point['val/loss']:.3f}"]
        for part in ("harmful", "benign"):
            if f"val/{part}/loss" in point:
                parts.append(f"{part} reward acc. {point[f'val/{part}/rewards/accuracies']:.2f}, "
                             f"chosen NLL {point[f'val/{part}/nll']:.2f}")
        lines.append(f"      validation at step {point['step']}: " + "; ".join(parts))
    if summary.get("best_step") is not None:
        stop = f"stopped early at step {summary['stopped_at']}" if summary.get("stopped_at") else "ran to the end"
        lines.append(f"      {stop}; kept the parameters of the best validation (step {summary['best_step']})"
                     + ("" if summary.get("improved_on_start", True) else
                        "; note: no validation beat the untrained model's"))
    return lines


def train_and_export(cfg, echo: Callable[[str], None]) -> tuple[Path, dict]:
    from refuseu_jax.train.trainer import DPOTrainer

    run_dir = Path(cfg.run_dir)
    start = Path(cfg.model.path) if cfg.model.path else None
    if start is not None and start.exists() and start.resolve().is_relative_to(run_dir.resolve()):
        raise UserError(f"key 'model.path': {start} lies inside the run directory {run_dir}, which the quickstart "
                        f"empties before training; move the model or set 'run_dir' elsewhere")
    if run_dir.exists():  # a demo starts over: its before/after comparison needs the untrained model
        echo(f"      removing the previous run {run_dir}")
        shutil.rmtree(run_dir)
    trainer = DPOTrainer(cfg.replace(resume=False, export_dir=None))
    v = cfg.validation
    echo(f"      DPO on {len(trainer.pairs)} pairs ({cfg.data.mix}), up to {trainer.total_steps} steps of "
         f"{cfg.batch_size}" + (f", validation every {v.every} steps, patience {v.patience}" if v.fraction else ""))
    summary = trainer.train()
    for line in training_report(summary):
        echo(line)
    out = trainer.export(run_dir / "hf")
    return out, summary


# ---------------------------------------------------------------------------------------------------------------
# The two jobs


class Clock:
    """Wall and CPU seconds per phase (CPU time is the figure that survives a machine shared with other jobs)."""

    def __init__(self):
        self.start = self.last = (time.time(), time.process_time())
        self.laps: list[tuple[str, float, float]] = []

    def lap(self, name: str) -> None:
        now = (time.time(), time.process_time())
        self.laps.append((name, now[0] - self.last[0], now[1] - self.last[1]))
        self.last = now

    def report(self) -> str:
        wall, cpu = time.time() - self.start[0], time.process_time() - self.start[1]
        parts = ", ".join(f"{name} {w:.0f} s ({c:.0f} s CPU)" for name, w, c in self.laps)
        return f"{wall:.0f} s wall, {cpu:.0f} s CPU ({parts})"


@dataclasses.dataclass(frozen=True)
class EvalSettings:
    # 32 tokens hold a refusal's or an answer's opening, which is what the judge reads; 8 prompts per language
    # is the least the per-language table may rest on. Both sized for `make demo`'s 10-minute budget.
    max_new_tokens: int = 32
    batch_size: int = 48
    limit_per_language: int | None = 8


def run_demo(cfg, examples: int, settings: EvalSettings = EvalSettings(),
             echo: Callable[[str], None] = print) -> dict:
    from refuseu_jax.checkpoints.hf import resolve_model_dir
    from refuseu_jax.train.data import benign_data_path, data_path

    clock = Clock()
    from data_tools.sample import BENIGN_EVAL_PATH

    n_eval = check_benign_disjoint(benign_data_path(cfg.data.benign_path), BENIGN_EVAL_PATH)
    echo(f"[1/4] model: {resolve_model_dir(cfg.model.path)}")
    echo(f"[2/4] training (harmless evaluation prompts: {n_eval}, none among the benign training pairs)")
    exported, summary = train_and_export(cfg, echo)
    clock.lap("model and training")
    echo(f"[3/4] exported to {exported} (loads with transformers.AutoModelForCausalLM.from_pretrained)")
    echo("[4/4] evaluating the base and the trained model (greedy, the same prompts) ...")
    eval_dir = Path(cfg.run_dir) / "eval"
    table = evaluate({"base": cfg.model.path, "trained": str(exported)}, eval_dir, data_path(cfg.data.path),
                     settings.max_new_tokens, settings.batch_size, settings.limit_per_language)
    clock.lap("evaluation")
    picked = pick_examples(read_judged(eval_dir / "base"), read_judged(eval_dir / "trained"), examples)
    echo("\nExamples (the first prompt of its kind per language; judge's reading in brackets):")
    echo(format_examples(picked, ("base", "trained")))
    echo("\nHeld-out harmful prompts (test groups unseen in training) and harmless prompts, per language:\n")
    echo(table)
    echo(f"done: {clock.report()}; files in {cfg.run_dir}")
    return {"summary": summary, "table": table, "examples": picked, "exported": str(exported)}


def run_compare(cfg, settings: EvalSettings = EvalSettings(), echo: Callable[[str], None] = print) -> dict:
    """English-only vs balanced from the same start and for the same number of steps (the config's max_steps,
    no early stopping), then base / en-only / balanced per language and the transfer plot."""
    from refuseu_jax.train.data import data_path

    if cfg.max_steps is None or cfg.validation.patience:
        raise UserError("--compare needs a fixed number of steps: set 'max_steps' and 'validation.patience: 0'")
    clock = Clock()
    root = Path(cfg.run_dir)
    exported = {}
    for i, (name, mix) in enumerate(COMPARE_RUNS, 1):
        echo(f"[{i}/{len(COMPARE_RUNS) + 1}] {name} run")
        run_cfg = cfg.replace(run_dir=str(root / name), data=dataclasses.replace(cfg.data, mix=mix))
        exported[name], summary = train_and_export(run_cfg, echo)
        clock.lap(f"{name} training")
        if summary["history"][-1]["step"] != cfg.max_steps:
            raise UserError(f"{name}: {summary['history'][-1]['step']} steps instead of key 'max_steps' = "
                            f"{cfg.max_steps}; raise 'epochs' so that both runs reach it")
    echo(f"[{len(COMPARE_RUNS) + 1}/{len(COMPARE_RUNS) + 1}] evaluating base, "
         f"{', '.join(exported)} (greedy, the same prompts) ...")
    eval_dir = root / "eval"
    table = evaluate({"base": cfg.model.path, **{k: str(v) for k, v in exported.items()}}, eval_dir,
                     data_path(cfg.data.path), settings.max_new_tokens, settings.batch_size,
                     settings.limit_per_language)
    clock.lap("evaluation")
    rates = {name: per_language_rates(eval_dir / name) for name in ("base", *exported)}
    plot = transfer_plot(rates, eval_dir / "transfer.png", cfg.max_steps)
    (eval_dir / "transfer.json").write_text(json.dumps(rates, indent=1))
    echo("\nBase vs English-only vs balanced training, per language (harmful: test groups unseen in training):\n")
    echo(table)
    echo(f"transfer plot: {plot}\ndone: {clock.report()}")
    return {"table": table, "rates": rates, "plot": str(plot)}


# ---------------------------------------------------------------------------------------------------------------
# The transfer plot


def per_language_rates(run_dir: Path) -> dict[str, dict[str, float | None]]:
    """{lang: {"harmful_non_refusal": r, "benign_refusal": r}} from a run's judged replies (failures excluded,
    as in the table)."""
    judged = read_judged(run_dir)
    out = {}
    for lang in LANGUAGES:
        h = [outcome(r) for r in judged["harmful"] if r["lang"] == lang]
        b = [outcome(r) for r in judged["benign"] if r["lang"] == lang]
        h_decided = [o for o in h if o != "failure"]
        b_decided = [o for o in b if o != "failure"]
        out[lang] = {
            "harmful_non_refusal": (sum(o == "compliance" for o in h_decided) / len(h_decided)) if h_decided else None,
            "benign_refusal": (sum(o == "refusal" for o in b_decided) / len(b_decided)) if b_decided else None,
        }
    return out


def transfer_plot(rates: dict[str, dict], path: Path, steps: int) -> Path:
    """Two panels over the 12 languages, one bar per model: harmful non-refusal (lower is safer) and benign
    refusal (lower is more useful). English-only training lowering the first panel outside English is the
    cross-lingual transfer the paper measures."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(rates)
    fig, axes = plt.subplots(2, 1, figsize=(11, 6.5), sharex=True)
    x = np.arange(len(LANGUAGES))
    width = 0.8 / len(names)
    for ax, key, title in zip(axes, ("harmful_non_refusal", "benign_refusal"),
                              ("harmful non-refusal % (held-out test groups; lower = safer)",
                               "benign refusal % (harmless prompts; lower = more useful)")):
        for i, name in enumerate(names):
            values = [rates[name][lang][key] for lang in LANGUAGES]
            ax.bar(x + (i - (len(names) - 1) / 2) * width, [100 * v if v is not None else 0 for v in values],
                   width, label=name)
        ax.set_ylabel("%")
        ax.set_ylim(0, 105)
        ax.set_title(title, fontsize=10)
    axes[-1].set_xticks(x, LANGUAGES)
    axes[0].legend(ncol=len(names), fontsize=9)
    fig.suptitle(f"SmolLM2-135M-Instruct: English-only vs balanced DPO, {steps} steps each")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
