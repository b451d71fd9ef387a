"""The order of the build steps for a dataset mode. A module of its own, imported by the pipeline that runs the
steps and by the export step's card that lists them, so neither imports the other."""

from __future__ import annotations


def build_order(mode: str) -> tuple[str, ...]:
    first = ("translate", "generate") if mode == "native" else ("generate", "translate")
    return first + ("respond", "filter", "split", "mix", "export")
