"""Where each step of a build keeps its output inside the build directory, and atomic writes of those files.

Every step reads the previous step's file and replaces its own file in one rename, so a killed build leaves
either the old complete file or the new complete file, never a half-written one.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from data_tools.atomic import current_umask, write_bytes_atomic, write_json_atomic, write_text_atomic
from data_tools.errors import UserError
from data_tools.schema import iter_jsonl, write_jsonl_atomic


@dataclass(frozen=True)
class BuildDir:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"        # the resolved config of the last command (no keys in it)

    @property
    def cache(self) -> Path:
        return self.root / "cache.sqlite"

    @property
    def seeds(self) -> Path:
        return self.root / "seeds.jsonl"        # import-seeds

    @property
    def material(self) -> Path:
        return self.root / "material.json"      # translate (native mode)

    @property
    def source_prompts(self) -> Path:
        return self.root / "source_prompts.jsonl"   # generate (parallel mode: English only)

    @property
    def prompts(self) -> Path:
        return self.root / "prompts.jsonl"      # generate (native) or translate (parallel)

    @property
    def pairs(self) -> Path:
        return self.root / "pairs.jsonl"        # respond

    @property
    def filtered(self) -> Path:
        return self.root / "filtered.jsonl"     # filter: schema records that passed

    @property
    def filter_dropped(self) -> Path:
        return self.root / "filter_dropped.jsonl"   # filter: what was dropped, why, and every verdict

    @property
    def split(self) -> Path:
        return self.root / "split.jsonl"        # split: schema records with their split

    @property
    def mixes(self) -> Path:
        return self.root / "mixes"              # mix: one JSONL of training records per mix

    @property
    def export(self) -> Path:
        return self.root / "export"

    # Inside the export (data_tools/steps/export.py writes them; configs and docs name them, tests/test_paths.py
    # checks that they agree).
    @property
    def dataset(self) -> Path:
        return self.export / "refuseu"          # DatasetDict(train, test): what training and evaluation read

    @property
    def dataset_jsonl(self) -> Path:
        return self.export / "refuseu.jsonl"

    @property
    def card(self) -> Path:
        return self.export / "README.md"

    def export_mix(self, name: str) -> Path:
        return self.export / "mixes" / mix_slug(name)   # DatasetDict(train = the mix, test = the full test split)

    @property
    def audit(self) -> Path:
        return self.root / "audit"

    def report(self, step: str) -> Path:
        return self.root / "reports" / f"{step}.json"

    def mix_file(self, name: str) -> Path:
        return self.mixes / f"{mix_slug(name)}.jsonl"


def remove_leftovers(build: BuildDir) -> list[Path]:
    """Delete temporary files and staging directories a killed run left behind (they are never read)."""
    if not build.root.is_dir():
        return []
    previous = build.root / ".export-old"
    if previous.is_dir() and not build.export.exists():
        previous.rename(build.export)  # killed between the two renames of an export swap: the old one is good
    found = [p for d in (build.root, build.root / "reports", build.mixes, build.audit) if d.is_dir()
             for p in d.glob(".*.tmp")]
    found += [p for p in build.root.glob(".export-*") if p.is_dir()]
    for path in found:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return found


def mix_slug(name: str) -> str:
    """'single:de' -> 'single-de': a colon is not a portable file name character."""
    return name.replace(":", "-")


def read_json(path: Path, produced_by: str):
    if not path.is_file():
        raise UserError(f"{path}: not found (run `refuseu-data {produced_by}` first)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise UserError(f"{path}:{err.lineno}: malformed JSON ({err.msg})") from None


def read_step_records(path: Path, produced_by: str) -> list[dict]:
    """Schema records a step wrote, validated; a missing file names the command that makes it."""
    from data_tools.schema import read_records

    if not path.exists():
        raise UserError(f"{path}: not found (run `refuseu-data {produced_by}` first)")
    return read_records(path)


def read_jsonl(path: Path, produced_by: str) -> list[dict]:
    """Intermediate (not yet schema-shaped) rows of a step's output."""
    if not path.is_file():
        raise UserError(f"{path}: not found (run `refuseu-data {produced_by}` first)")
    return [row for _, row in iter_jsonl(path)]


__all__ = ["BuildDir", "mix_slug", "read_json", "read_jsonl", "read_step_records", "write_bytes_atomic", "write_json_atomic",
           "write_jsonl_atomic", "write_text_atomic"]
