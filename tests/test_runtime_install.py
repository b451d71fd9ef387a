"""The runtime install alone runs the commands: every module of both packages imports, and every command's
--help works, in a process where whatever only the test extras bring in cannot be imported.

The blocked set comes from setup.cfg, so it follows the pins: the distributions the `test` extra needs (with
their own dependencies) minus those the runtime requirements need (with theirs). jinja2, for example, comes with
torch; it is runtime only because setup.cfg pins it there (transformers' chat templates need it), and deleting
that pin makes this test fail. CI also runs `make demo` in a venv without the test extras; this is the fast
version of that check.
"""

from __future__ import annotations

import configparser
import importlib.metadata as md
import json
import subprocess
import sys
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def _requirements(section: str, key: str) -> list[Requirement]:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    lines = [line.split("#")[0].strip() for line in cfg[section][key].splitlines()]
    return [Requirement(line) for line in lines if line]


def _closure(requirements: list[Requirement]) -> set[str]:
    """Canonical names of the installed distributions these requirements pull in (markers evaluated, extras
    followed as requested)."""
    seen: set[str] = set()
    todo = [(r, frozenset(r.extras)) for r in requirements]
    while todo:
        req, extras = todo.pop()
        name = canonicalize_name(req.name)
        key = name + "[" + ",".join(sorted(extras)) + "]"
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue  # an optional dependency that is not installed cannot be imported either way
        for text in dist.requires or []:
            sub = Requirement(text)
            envs = [{"extra": e} for e in extras] or [{"extra": ""}]
            if sub.marker is None or any(sub.marker.evaluate(env) for env in envs):
                todo.append((sub, frozenset(sub.extras)))
    return {key.split("[")[0] for key in seen}


VENV_OWN = ("pip", "setuptools")  # what `python3.11 -m venv` puts in every venv


def blocked_modules() -> list[str]:
    runtime = _closure(_requirements("options", "install_requires") + [Requirement(n) for n in VENV_OWN])
    test_only = _closure(_requirements("options.extras_require", "test")) - runtime
    by_dist: dict[str, set[str]] = {}
    for module, dists in md.packages_distributions().items():
        for dist in dists:
            by_dist.setdefault(canonicalize_name(dist), set()).add(module)
    return sorted({m for dist in test_only for m in by_dist.get(dist, ()) if m.isidentifier()})


CHILD = r"""
import importlib, importlib.machinery, importlib.util, json, pkgutil, sys
BLOCKED = set(json.loads(sys.argv[1]))


class WithoutTestExtras(importlib.machinery.PathFinder):
    # As if not installed: find_spec answers None (transformers probes optional packages that way).
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            return None
        return super().find_spec(name, path, target)


sys.meta_path[:] = [WithoutTestExtras if f is importlib.machinery.PathFinder else f for f in sys.meta_path]
assert importlib.util.find_spec("torch") is None and importlib.util.find_spec("trl") is None

import click
from click.testing import CliRunner

imported = []
for package in ("refuseu_jax", "data_tools"):
    pkg = importlib.import_module(package)
    for info in pkgutil.walk_packages(pkg.__path__, package + "."):
        importlib.import_module(info.name)
        imported.append(info.name)
# TEMPLATE: what the demo does first with the model's tokenizer (transformers imports jinja2 only here, lazily).
import tempfile
from tests.refuseu_jax.train.tiny_assets import build_tokenizer
rendered = build_tokenizer(tempfile.mkdtemp()).apply_chat_template([{"role": "user", "content": "Hi"}], tokenize=False)
assert "Hi" in rendered
# END TEMPLATE
leaked = sorted(m for m in sys.modules if m.partition(".")[0] in BLOCKED)
assert not leaked, leaked

from data_tools.cli import main as data_main
from refuseu_jax.cli import main as refuseu_main


def walk(group, path):
    yield path
    for name, command in getattr(group, "commands", {}).items():
        yield from walk(command, path + [name])


helped = []
for main in (refuseu_main, data_main):
    for path in walk(main, []):
        result = CliRunner().invoke(main, path + ["--help"])
        assert result.exit_code == 0 and "Usage:" in result.output, (path, result.output, result.exception)
        helped.append(" ".join([main.name or "main"] + path))
print(json.dumps({"imported": imported, "helped": helped}))
"""


def test_every_module_imports_and_every_command_helps_without_the_test_extras():
    blocked = blocked_modules()
    assert {"torch", "trl", "accelerate", "pytest"} <= set(blocked)
    assert "jinja2" not in blocked and "numpy" not in blocked  # runtime (pinned, or needed by jax)
    proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps(blocked)], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    done = json.loads(proc.stdout.strip().splitlines()[-1])
    assert {"refuseu_jax.commands.quickstart", "refuseu_jax.commands.train", "refuseu_jax.quickstart",
            "refuseu_jax.train.trainer", "data_tools.commands.build"} <= set(done["imported"])
    assert any(h.endswith(" quickstart") for h in done["helped"]) and len(done["helped"]) >= 10


def test_the_check_would_catch_a_runtime_import_of_a_test_extra(tmp_path):
    """The same child process fails when a module imports torch at the top, and when jinja2 is missing (the
    runtime install before jinja2 was pinned: the demo's first chat template failed)."""
    (tmp_path / "uses_torch.py").write_text("import torch\n")
    code = CHILD.split("import click")[0] + "import uses_torch\n"
    env = {**__import__("os").environ, "PYTHONPATH": f"{tmp_path}:{ROOT}"}
    proc = subprocess.run([sys.executable, "-c", code, json.dumps(blocked_modules())], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode != 0 and "No module named 'torch'" in proc.stderr
    template = CHILD.split("import click")[0] + "#" + CHILD.split("# TEMPLATE")[1].split("# END TEMPLATE")[0]
    proc = subprocess.run([sys.executable, "-c", template, json.dumps(blocked_modules() + ["jinja2"])], cwd=ROOT,
                          capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode != 0 and "requires jinja2" in proc.stderr
