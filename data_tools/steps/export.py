"""`export`: the dataset as an HF DatasetDict on disk, as JSONL, per training mix, with a dataset card.

Layout of <build>/export (the names come from BuildDir: dataset, dataset_jsonl, export_mix, card):
    refuseu/               DatasetDict(train, test)      datasets.load_from_disk, TRL's DPOTrainer
    refuseu.jsonl          every record, both splits (labels and meta as JSON objects)
    mixes/<mix>/           DatasetDict(train = the mix, test = the full test split)
    README.md              dataset card: counts, models, settings, cost

In the Arrow copies `labels` and `meta` are JSON text: their keys differ between records (guard verdicts with
nulls, provenance fields), and Arrow would otherwise infer a different struct type per split. `schema.read_records`
decodes them back. The whole directory is built beside the old one and swapped in, so a killed export leaves the
previous export complete.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import datasets

from data_tools.errors import UserError
from data_tools.schema import write_jsonl_atomic
from data_tools.steps.card import render_card
from data_tools.steps.layout import current_umask, read_step_records, write_text_atomic
from data_tools.steps.leakage import find_leaks
from data_tools.steps.mix import default_mix_names

ARROW_COLUMNS = ("id", "source_id", "lang", "category", "style", "group", "prompt", "chosen", "rejected", "split",
                 "labels", "meta")


def to_arrow_row(rec: dict) -> dict:
    row = {key: rec[key] for key in ARROW_COLUMNS}
    row["labels"] = json.dumps(rec.get("labels") or {}, ensure_ascii=False, sort_keys=True)
    row["meta"] = json.dumps(rec.get("meta") or {}, ensure_ascii=False, sort_keys=True)
    return row


def dataset_dict(train: list[dict], test: list[dict]):
    message = datasets.List({"role": datasets.Value("string"), "content": datasets.Value("string")})
    features = datasets.Features({
        **{key: datasets.Value("string") for key in ARROW_COLUMNS},
        "prompt": message, "chosen": message, "rejected": message,
    })
    return datasets.DatasetDict({
        "train": datasets.Dataset.from_list([to_arrow_row(r) for r in train], features=features),
        "test": datasets.Dataset.from_list([to_arrow_row(r) for r in test], features=features),
    })


def run_export(ctx) -> dict:
    cfg, build = ctx.cfg, ctx.build
    records = read_step_records(build.split, "split")
    leaks = find_leaks(records)
    if leaks:
        more = f" (and {len(leaks) - 3} more)" if len(leaks) > 3 else ""
        raise UserError(f"{build.split}: {len(leaks)} train record(s) leak the test split, nothing exported: "
                        f"{'; '.join(leaks[:3])}{more}; rerun `refuseu-data split`")
    train = [r for r in records if r["split"] == "train"]
    test = [r for r in records if r["split"] == "test"]
    mix_names = cfg.mix.names or default_mix_names(cfg.languages, tuple(cfg.mix.high_resource))
    mixes = {name: read_step_records(build.mix_file(name), "mix") for name in mix_names}

    build.root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".export-", dir=build.root))
    os.chmod(staging, 0o777 & ~current_umask())  # mkdtemp makes 0700; the export is for sharing
    bars_were_on = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()  # one bar per split and mix drowns the step summary
    try:
        # build.export's layout (BuildDir names every part of it), built in the staging directory.
        inside = lambda path: staging / path.relative_to(build.export)  # noqa: E731
        dataset_dict(train, test).save_to_disk(str(inside(build.dataset)))
        write_jsonl_atomic(inside(build.dataset_jsonl), records)
        for name, mixed in mixes.items():
            dataset_dict(mixed, test).save_to_disk(str(inside(build.export_mix(name))))
        card = render_card(cfg, records, mixes, reports_dir=build.root / "reports")
        write_text_atomic(inside(build.card), card)
        _swap_in(staging, build.export)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        if bars_were_on:
            datasets.enable_progress_bars()
    return {"train": len(train), "test": len(test), "mixes": {n: len(m) for n, m in mixes.items()},
            "output": str(build.export.relative_to(build.root))}


def _swap_in(staging: Path, target: Path) -> None:
    """Replace `target` by `staging` with renames; the old copy is removed only after the new one is in place."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}-old")
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
    staging.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
