"""Typed configuration: frozen dataclasses loaded from YAML, every field overridable with `--set a.b=value`.

Shared by both CLIs (data_tools never imports jax, refuseu_jax may import data_tools). Unknown keys, wrong types
and malformed overrides are `UserError`s naming the file and the dotted key.

A YAML file may start from another with `inherit: other.yaml` (path relative to the file); the child's keys are
merged over the parent's, recursively for mappings.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from pathlib import Path
from typing import Any, Iterable, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

import yaml

from data_tools.errors import UserError

T = TypeVar("T")
INHERIT_KEY = "inherit"


def read_yaml(path: str | Path) -> dict:
    """Read a YAML mapping, following `inherit:` chains."""
    return _read_yaml(Path(path), seen=())


def _read_yaml(path: Path, seen: tuple) -> dict:
    if not path.is_file():
        raise UserError(f"{path}: config file not found")
    if path.resolve() in seen:
        raise UserError(f"{path}: 'inherit' forms a cycle")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise UserError(f"{path}{line}: invalid YAML ({getattr(err, 'problem', err)})") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    parent = data.pop(INHERIT_KEY, None)
    if parent is None:
        return data
    base = _read_yaml((path.parent / str(parent)), seen + (path.resolve(),))
    return deep_merge(base, data)


def deep_merge(base: dict, update: dict) -> dict:
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def parse_overrides(overrides: Iterable[str]) -> dict:
    """`["a.b=1", "c=[x, y]"]` -> nested dict; values are parsed as YAML scalars/lists."""
    tree: dict = {}
    for item in overrides:
        if "=" not in item:
            raise UserError(f"--set {item!r}: expected KEY=VALUE (e.g. --set train.learning_rate=1e-6)")
        key, raw = item.split("=", 1)
        key = key.strip()
        if not key or any(not part for part in key.split(".")):
            raise UserError(f"--set {item!r}: empty key segment")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        node = tree
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise UserError(f"--set {item!r}: {part} is set twice, once as a value")
        node[parts[-1]] = value
    return tree


def load_config(cls: type[T], path: str | Path | None = None, overrides: Iterable[str] = (),
                options: Iterable[tuple[str, str]] = ()) -> T:
    """Build `cls` (a dataclass) from an optional YAML file plus `--set` overrides.

    `options`: further (how the user wrote it, KEY=VALUE) overrides from dedicated command-line options, e.g.
    ("--langs en,xx", "langs=en,xx"). An error about a key that an override set names that override, not the file.
    """
    overrides = list(overrides)
    labelled = [(f"--set {item}", item) for item in overrides] + list(options)
    data = read_yaml(path) if path is not None else {}
    data = deep_merge(data, parse_overrides(item for _, item in labelled))
    source = str(path) if path is not None else "--set"
    origins = {item.split("=", 1)[0].strip(): label for label, item in labelled}
    return _convert(cls, data, source, "", origins)


def from_dict(cls: type[T], data: Any, source: str = "config", prefix: str = "") -> T:
    """Convert a plain mapping into dataclass `cls`, checking keys and types."""
    return _convert(cls, data, source, prefix)


def _origin(key: str, source: str, origins: dict[str, str]) -> str:
    """Where the value at dotted `key` came from: the override that set it (or a mapping above it), or `source`."""
    for set_key, label in origins.items():
        if key == set_key or key.startswith((set_key + ".", set_key + "[")):
            return label
    return source


def _origins_within(key: str, origins: dict[str, str]) -> list[str]:
    """Overrides that set something inside the mapping at `key` (all of them at the top level)."""
    return [label for set_key, label in origins.items()
            if not key or set_key == key or set_key.startswith((key + ".", key + "["))]


_NAMED_KEY = re.compile(r"key '([^']+)'")


def to_dict(obj: Any) -> Any:
    """Dataclass (nested) -> plain YAML-serialisable mapping."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj


def _describe(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _convert(tp: Any, value: Any, source: str, key: str, origins: dict[str, str] | None = None) -> Any:
    origins = origins or {}
    where = f"{_origin(key, source, origins)}: key '{key}'" if key else source
    origin = get_origin(tp)
    if tp is Any:
        return value
    if dataclasses.is_dataclass(tp):
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise UserError(f"{where}: expected a mapping for {tp.__name__}, got {value!r}")
        hints = get_type_hints(tp)
        fields = {f.name: f for f in dataclasses.fields(tp) if f.init}
        unknown = [k for k in value if k not in fields]
        if unknown:
            name = f"{key}.{unknown[0]}" if key else unknown[0]
            raise UserError(
                f"{_origin(name, source, origins)}: unknown key '{name}' (known keys here: {', '.join(sorted(fields))})"
            )
        kwargs = {}
        for name, field in fields.items():
            sub = f"{key}.{name}" if key else name
            if name in value:
                kwargs[name] = _convert(hints[name], value[name], source, sub, origins)
            elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                raise UserError(f"{source}: missing required key '{sub}'")
        try:
            return tp(**kwargs)
        except (ValueError, TypeError) as err:
            # A check across fields: name the overrides that took part, beside the file.
            within = _origins_within(key, origins)
            here = " with ".join([source] + within) if within and source not in within else source
            raise UserError(f"{here}: key '{key}': {err}" if key else f"{here}: {err}") from None
        except UserError as err:
            # A check that names its key itself ("key 'styles': ..."): say where that key's value came from.
            message = str(err)
            named = _NAMED_KEY.search(message)
            if named is None or message.startswith((source, "--")):
                raise
            message = message.removeprefix("config: ")
            raise UserError(f"{_origin(named.group(1), source, origins)}: {message}") from None
    if origin in (Union, types.UnionType):
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(arg, value, source, key, origins)
            except UserError as err:
                errors.append(str(err))
        raise UserError(errors[0] if len(errors) == 1 else f"{where}: {value!r} does not fit {_describe(tp)}")
    if origin is Literal:
        choices = get_args(tp)
        if value not in choices:
            raise UserError(f"{where}: expected one of {', '.join(map(str, choices))}, got {value!r}")
        return value
    if origin in (list, tuple, typing.Sequence):
        if isinstance(value, str) and origin is not str:
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            raise UserError(f"{where}: expected a list, got {value!r}")
        args = get_args(tp)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise UserError(f"{where}: expected {len(args)} items, got {len(value)}")
            return tuple(_convert(a, v, source, f"{key}[{i}]", origins) for i, (a, v) in enumerate(zip(args, value)))
        item = args[0] if args else Any
        items = [_convert(item, v, source, f"{key}[{i}]", origins) for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise UserError(f"{where}: expected a mapping, got {value!r}")
        kt, vt = get_args(tp) or (Any, Any)
        return {_convert(kt, k, source, key, origins): _convert(vt, v, source, f"{key}.{k}", origins)
                for k, v in value.items()}
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise UserError(f"{where}: expected true or false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise UserError(f"{where}: expected an integer, got {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)  # YAML reads '1e-6' (no dot) as a string
            except ValueError:
                pass
        raise UserError(f"{where}: expected a number, got {value!r}")
    if tp is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise UserError(f"{where}: expected a string, got {value!r}")
    return value
