from dataclasses import dataclass, field
from typing import Literal

import pytest

from data_tools.configuration import load_config, parse_overrides, to_dict
from data_tools.errors import UserError


@dataclass(frozen=True)
class Optim:
    learning_rate: float = 1e-6
    schedule: Literal["cosine", "linear"] = "cosine"


@dataclass(frozen=True)
class Run:
    name: str
    steps: int = 10
    langs: tuple[str, ...] = ("en",)
    optim: Optim = field(default_factory=Optim)
    seed: int | None = None


def test_yaml_inherit_and_overrides(tmp_path):
    (tmp_path / "base.yaml").write_text("name: base\nsteps: 3\noptim:\n  schedule: linear\n")
    (tmp_path / "run.yaml").write_text("inherit: base.yaml\nname: run\noptim:\n  learning_rate: 1e-6\n")
    cfg = load_config(Run, tmp_path / "run.yaml", ["steps=7", "langs=[de, fr]", "optim.learning_rate=2e-5"])
    assert cfg == Run(name="run", steps=7, langs=("de", "fr"), optim=Optim(2e-5, "linear"))
    assert to_dict(cfg)["optim"] == {"learning_rate": 2e-5, "schedule": "linear"}


def test_yaml_string_numbers_and_comma_lists():
    cfg = load_config(Run, None, ["name=x", "optim.learning_rate=1e-6", "langs=de,fr,pl", "seed=null"])
    assert cfg.optim.learning_rate == 1e-6 and cfg.langs == ("de", "fr", "pl") and cfg.seed is None


@pytest.mark.parametrize("overrides, message", [
    (["name=x", "optim.lr=1"], "unknown key 'optim.lr'"),
    (["name=x", "stepz=1"], "unknown key 'stepz'"),
    (["name=x", "steps=many"], "key 'steps': expected an integer"),
    (["name=x", "optim.schedule=exp"], "key 'optim.schedule': expected one of cosine, linear"),
    (["steps=1"], "missing required key 'name'"),
    (["name"], "expected KEY=VALUE"),
])
def test_errors_name_the_key(overrides, message):
    with pytest.raises(UserError, match=message):
        load_config(Run, None, overrides)


def test_yaml_errors_name_file_and_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: a\nsteps: [1,\n")
    with pytest.raises(UserError, match=r"bad.yaml:\d+: invalid YAML"):
        load_config(Run, bad)
    with pytest.raises(UserError, match="config file not found"):
        load_config(Run, tmp_path / "missing.yaml")
    (tmp_path / "unknown.yaml").write_text("name: a\nfoo: 1\n")
    with pytest.raises(UserError, match=r"unknown.yaml: unknown key 'foo'"):
        load_config(Run, tmp_path / "unknown.yaml")


def test_parse_overrides_nests():
    assert parse_overrides(["a.b.c=1", "a.d=x"]) == {"a": {"b": {"c": 1}, "d": "x"}}


def test_errors_in_overrides_name_the_override_not_the_file(tmp_path):
    (tmp_path / "run.yaml").write_text("name: run\noptim:\n  schedule: linear\n")
    with pytest.raises(UserError, match=r"^--set steps=many: key 'steps': expected an integer"):
        load_config(Run, tmp_path / "run.yaml", ["steps=many"])
    with pytest.raises(UserError, match=r"^--set optim.lr=1: unknown key 'optim.lr'"):
        load_config(Run, tmp_path / "run.yaml", ["optim.lr=1"])
    with pytest.raises(UserError, match=r"^--set optim=\{schedule: exp\}: key 'optim.schedule'"):
        load_config(Run, tmp_path / "run.yaml", ["optim={schedule: exp}"])
    with pytest.raises(UserError, match=r"^--langs xx: key 'langs\[0\]'"):
        load_config(Checked, None, ["name=x"], [("--langs xx", "langs=[xx]")])
    # what the file holds is still blamed on the file
    (tmp_path / "bad.yaml").write_text("name: run\nsteps: many\n")
    with pytest.raises(UserError, match=r"bad.yaml: key 'steps'"):
        load_config(Run, tmp_path / "bad.yaml", ["optim.learning_rate=1e-5"])


@dataclass(frozen=True)
class Checked:
    name: str
    langs: tuple[str, ...] = ()

    def __post_init__(self):
        for i, lang in enumerate(self.langs):
            if lang == "xx":
                raise UserError(f"key 'langs[{i}]': unknown language {lang!r}")
