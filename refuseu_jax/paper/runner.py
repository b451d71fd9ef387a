"""Running a plan: each unit once, finished units skipped, a killed driver resumed.

A unit is finished when its outputs are complete and its DONE.json marker, written atomically after them, records
the configuration that produced them. A rerun skips finished units; a unit without a marker is run again (a
training run resumes from its last checkpoint, an evaluation starts over with its judge calls cached). A marker
whose configuration differs from today's stops the driver with the keys that differ: silently reusing results
of another configuration would put them in the paper's tables.
"""

from __future__ import annotations

import gc
import json
import time
from pathlib import Path

from data_tools.atomic import write_json_atomic
from data_tools.configuration import to_dict
from data_tools.errors import UserError
from refuseu_jax.paper.plan import Plan, Unit

MARKER = "DONE.json"
# Keys that change how a run is carried out, never its numbers: a rerun may change them freely.
NOT_RESULTS = {"train": {"progress", "tensorboard", "log_every", "checkpoint_every", "keep_checkpoints", "resume",
                         "mesh"},
               "eval": {"cache", "mesh"}}


def fingerprint(unit: Unit) -> dict:
    """The unit's configuration, without the keys that cannot change its results (a start point depends only on
    the model preset, its tokenizer and the seed)."""
    config = to_dict(unit.config)
    if unit.kind == "start":
        return {"model": config["model"], "seed": config["seed"]}
    return {k: v for k, v in config.items() if k not in NOT_RESULTS[unit.kind]}


def outputs_complete(unit: Unit) -> bool:
    if unit.kind == "eval":
        return (unit.directory / "metrics.json").is_file()
    if unit.kind == "train":
        return (Path(unit.config.export_dir) / "config.json").is_file()
    return (unit.directory / "config.json").is_file()


def _flat(tree, prefix: str = "") -> dict:
    if isinstance(tree, dict):
        out = {}
        for key, value in tree.items():
            out.update(_flat(value, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): tree}


def _check_same(unit: Unit, recorded: dict, what: str) -> None:
    now = fingerprint(unit)
    recorded = {k: v for k, v in recorded.items() if k in now}
    if recorded != now:
        old, new = _flat(recorded), _flat(now)
        keys = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
        raise UserError(f"{unit.directory}: {unit.label} was {what} with another configuration (differs in "
                        f"{', '.join(keys[:5])}{' ...' if len(keys) > 5 else ''}); delete that directory to "
                        f"run it again, or restore the configuration")


def state(unit: Unit) -> str:
    """'done', 'started' (outputs or checkpoints from a run that did not finish) or 'to do'. A unit finished, or a
    training run started, with another configuration is a UserError naming the keys that differ: resuming its
    checkpoints under a new configuration would mix two runs."""
    marker = unit.directory / MARKER
    if marker.is_file() and outputs_complete(unit):
        _check_same(unit, json.loads(marker.read_text(encoding="utf-8"))["config"], "finished")
        return "done"
    started = unit.directory / "config.json"   # what the trainer records when a run starts
    if unit.kind == "train" and started.is_file():
        _check_same(unit, json.loads(started.read_text(encoding="utf-8")), "started")
    return "started" if unit.directory.exists() and any(unit.directory.iterdir()) else "to do"


def run_unit(unit: Unit, progress: bool) -> None:
    if unit.kind == "start":
        _write_start(unit)
    elif unit.kind == "train":
        from refuseu_jax.train.trainer import DPOTrainer

        cfg = unit.config.replace(progress=progress)
        trainer = DPOTrainer(cfg)
        trainer.train()
        del trainer
    else:
        from refuseu_jax.evaluate.run import run_eval

        run_eval(unit.config, progress=progress)
    gc.collect()  # the next unit loads a model of its own


def _write_start(unit: Unit) -> None:
    """A preset start point (random weights from the config's seed) as a checkpoint directory with its tokenizer."""
    from refuseu_jax.checkpoints.hf import save_hf
    from refuseu_jax.parallel import make_mesh
    from refuseu_jax.train.state import load_params

    model_cfg, params, _, tokenizer_source = load_params(unit.config, make_mesh(unit.config.mesh))
    save_hf(params, model_cfg, unit.directory, tokenizer_src=tokenizer_source)


def mark_done(unit: Unit, seconds: float) -> None:
    write_json_atomic(unit.directory / MARKER, {"unit": unit.label, "seconds": round(seconds, 1),
                                                "command": unit.command, "config": fingerprint(unit)})


def run_plan(plan: Plan, echo=print, progress: bool = True) -> dict[str, str]:
    """Run every unit not finished yet, in order; -> {unit label: 'skipped' | 'ran'}."""
    done: dict[str, str] = {}
    for i, unit in enumerate(plan.units, 1):
        where = f"[{i}/{len(plan.units)}] {unit.label}"
        if state(unit) == "done":
            echo(f"{where}: finished earlier, skipped ({unit.directory})")
            done[unit.label] = "skipped"
            continue
        echo(f"{where}: {unit.command}")
        start = time.monotonic()
        run_unit(unit, progress)
        if not outputs_complete(unit):
            raise UserError(f"{unit.directory}: {unit.label} ended without its outputs")
        mark_done(unit, time.monotonic() - start)
        echo(f"{where}: done in {time.monotonic() - start:.0f} s")
        done[unit.label] = "ran"
    return done


def format_plan(plan: Plan) -> str:
    lines = [f"plan: {len(plan.units)} units under {plan.paper.root} (report: {plan.report_dir})"]
    for i, unit in enumerate(plan.units, 1):
        lines.append(f"{f'[{i}/{len(plan.units)}]':<8} {unit.label:<22} {state(unit):<8} {unit.command}")
    return "\n".join(lines)
