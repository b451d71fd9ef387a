"""Paths named in configs, README, docs and scripts agree with what the repository holds and what the steps write.

- Every config file named anywhere (`configs/...yaml`) exists.
- Every path a config's value names (data, models, run and output directories, inherited files) exists in the
  repository or is produced by a step: the dataset build's layout (BuildDir, for `build/`), a training config's
  run_dir/export_dir, an evaluation config's output_dir/name, a paper config's output directory, or a download
  command written in some config (`huggingface-cli download ... --local-dir DIR`, `git clone URL DIR`).
- Every `build/...` path named in README, docs and scripts is part of the build's layout.
- Every `runs/`, `checkpoints/` or `data/` path named in configs, scripts and the docs of the pipeline is produced
  as above. README.md and docs/evaluation.md are left out of this last check: their `refuseu report runs/eval/...`
  examples name runs the reader chooses with `--set name=...` (the lead rewrites README.md at merge).
The produced paths are computed from the code and the configs themselves, never listed here by hand.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from data_tools.configuration import read_yaml
from data_tools.steps.layout import BuildDir
from data_tools.steps.mix import default_mix_names
from data_tools.taxonomy import HIGH_RESOURCE, LANGUAGES

REPO = Path(__file__).resolve().parents[1]
CONFIGS = sorted((REPO / "configs").rglob("*.yaml"))
TEXTS = sorted([REPO / "README.md", *(REPO / "docs").glob("*.md"), *(REPO / "tpu_scripts").glob("*.sh"), *CONFIGS])
RUN_PATH_TEXTS = [p for p in TEXTS if p.name not in ("README.md", "evaluation.md")]
# Config keys whose values are paths (model ids of served endpoints sit under `endpoint(s)` and are skipped).
PATH_KEYS = {"inherit", "path", "tokenizer", "reference_path", "model", "data", "baseline", "run_dir", "export_dir",
             "output_dir", "train", "eval", "responses", "seeds", "template", "prompt_file", "refusal_patterns"}
NAMES = {"sample", "bundled", "smollm2-135m"}        # the bundled data and the embedded model, not paths
# Placeholders in examples: configs/train/X.yaml, runs/<mix>, build/reports/<step>.json, runs/x/checkpoints/100.
PLACEHOLDER = re.compile(r"[A-Z<>{}*]|\.\.\.|(^|/)[a-z](/|$)")


def build_layout(root: str = "build") -> set[str]:
    build = BuildDir(Path(root))
    paths = {build.root, build.config, build.cache, build.seeds, build.material, build.source_prompts, build.prompts,
             build.pairs, build.filtered, build.filter_dropped, build.split, build.mixes, build.export, build.audit,
             build.dataset, build.dataset_jsonl, build.card, build.export / "mixes", build.root / "reports"}
    for name in default_mix_names(LANGUAGES, HIGH_RESOURCE):
        paths |= {build.mix_file(name), build.export_mix(name)}
    return {str(p) for p in paths}


def produced_roots() -> set[str]:
    """Directories a step writes, from the shipped configs: everything below them is produced."""
    from data_tools.configuration import load_config
    from refuseu_jax.evaluate.run import EvalConfig
    from refuseu_jax.paper.plan import PaperConfig, build_plan
    from refuseu_jax.train.config import TrainConfig

    roots = set()
    for path in CONFIGS:
        kind = path.parent.name
        if kind == "train":
            cfg = load_config(TrainConfig, path)
            roots |= {cfg.run_dir} | ({cfg.export_dir} if cfg.export_dir else set())
        elif kind == "eval":
            cfg = load_config(EvalConfig, path)
            roots |= {str(cfg.run_dir)} | ({cfg.cache} if cfg.cache else set())   # the judge call cache too
        elif kind == "paper":
            plan = build_plan(load_config(PaperConfig, path))
            roots |= {str(plan.paper.root)} | {str(u.directory) for u in plan.units}
        text = path.read_text()
        roots |= set(re.findall(r"--local-dir (\S+)", text)) | set(re.findall(r"git clone \S+ (\S+)", text))
    return roots


def is_produced(path: str, roots: set[str], layout: set[str]) -> bool:
    """In the build layout, or at, below or above (an output_dir holding runs) a directory a step writes."""
    path = path.rstrip("/")
    return path in layout or any(path == r or path.startswith(r.rstrip("/") + "/") or r.startswith(path + "/")
                                 for r in roots)


def config_values(tree, key: str = "") -> list[tuple[str, str]]:
    """(key, value) of every path-valued key in a YAML tree, outside endpoint definitions."""
    out = []
    if isinstance(tree, dict):
        for k, v in tree.items():
            if k in ("endpoint", "endpoints"):
                continue
            if isinstance(v, str) and k in PATH_KEYS:
                out.append((k, v))
            else:
                out += config_values(v, k)
    elif isinstance(tree, list):
        for v in tree:
            out += config_values(v, key)
    return out


def named(text: str, prefix: str) -> list[str]:
    """Paths starting with `prefix` at the start of a token (not `refuseu_jax/checkpoints/...`)."""
    found = re.findall(rf"(?:^|(?<=[\s`'\"(=:\[]))({re.escape(prefix)}[\w./-]*)", text, flags=re.MULTILINE)
    return [p.rstrip(".,:") for p in found if not PLACEHOLDER.search(p)]


@pytest.fixture(scope="module")
def produced():
    return produced_roots(), build_layout()


@pytest.mark.parametrize("path", TEXTS, ids=lambda p: str(p.relative_to(REPO)))
def test_named_config_files_exist(path):
    for name in named(path.read_text(encoding="utf-8"), "configs/"):
        if name.endswith(".yaml"):
            assert (REPO / name).is_file(), f"{path.relative_to(REPO)} names {name}, which does not exist"


@pytest.mark.parametrize("path", TEXTS, ids=lambda p: str(p.relative_to(REPO)))
def test_named_build_paths_are_the_build_layout(path, produced):
    _, layout = produced
    for name in named(path.read_text(encoding="utf-8"), "build/"):
        assert name.rstrip("/") in layout, f"{path.relative_to(REPO)} names {name}: the build writes no such path"


@pytest.mark.parametrize("path", RUN_PATH_TEXTS, ids=lambda p: str(p.relative_to(REPO)))
def test_named_run_model_and_data_paths_are_produced(path, produced):
    roots, layout = produced
    text = path.read_text(encoding="utf-8")
    for prefix in ("runs/", "checkpoints/", "data/"):
        for name in named(text, prefix):
            if name.endswith(".py"):
                continue   # a module named by its package-relative path (checkpoints/hf.py), not an output
            assert is_produced(name, roots, layout) or (REPO / name).exists(), (
                f"{path.relative_to(REPO)} names {name}: no step, config or download command produces it")


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(REPO)))
def test_config_values_exist_or_are_produced(path, produced):
    roots, layout = produced
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    read_yaml(path)   # the inherit chain resolves
    for key, value in config_values(raw):
        if key == "inherit":
            assert (path.parent / value).is_file(), f"{path.name}: inherit {value} not found"
            continue
        if value in NAMES or "://" in value or value.startswith("/"):
            continue   # the bundled data or embedded model, a URL, or a place on the user's machine
        if key in ("model", "data") and "/" not in value:
            continue   # a registry name
        assert (REPO / value).exists() or is_produced(value, roots, layout), (
            f"{path.relative_to(REPO)}: key '{key}' names {value}, which neither exists nor is produced by a step")


def test_the_checker_catches_a_wrong_path(produced):
    """The names this issue found: the export is build/export/refuseu, not build/refuseu/dataset, and training
    writes its model to its config's export_dir, not runs/train/balanced/hf."""
    roots, layout = produced
    assert "build/export/refuseu" in layout and "build/refuseu/dataset" not in layout
    assert is_produced("runs/llama-3.1-8b-balanced/hf", roots, layout)
    assert not is_produced("runs/train/balanced/hf", roots, layout)
    assert is_produced("checkpoints/NeuralDaredevil-8B-abliterated", roots, layout)   # its download command
    assert named("see refuseu_jax/checkpoints/hf.py and `checkpoints/model-a`", "checkpoints/") == ["checkpoints/model-a"]


def test_test_module_basenames_are_unique():
    """pytest imports test modules by basename (rootdir mode, no __init__.py): two files with one name make the whole
    collection fail on a clean checkout, while a warm checkout's __pycache__ can hide it."""
    seen: dict[str, Path] = {}
    for path in sorted((REPO / "tests").rglob("test_*.py")):
        assert path.name not in seen, f"{path.relative_to(REPO)} and {seen[path.name].relative_to(REPO)} share a name"
        seen[path.name] = path
