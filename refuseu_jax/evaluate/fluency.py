"""Fluency and correctness of responses, scored 1-5 by an LLM judge whose prompt lives in a YAML file."""

from __future__ import annotations

import re
from collections import defaultdict
from importlib import resources
from pathlib import Path
from typing import Sequence

import yaml

from data_tools.clients.config import EndpointConfig
from data_tools.errors import UserError
from data_tools.taxonomy import LANGUAGE_NAMES, LANGUAGES

_LINE = re.compile(r"^\s*(fluency|correctness)\s*:\s*([1-5])\s*$", re.IGNORECASE | re.MULTILINE)


def load_prompt(path: str | None = None) -> dict:
    if path is None:
        text, source = resources.files("refuseu_jax.evaluate.data").joinpath("fluency.yaml").read_text("utf-8"), "packaged"
    else:
        text, source = Path(path).read_text(encoding="utf-8"), path
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or set(data) != {"system", "user"}:
        raise UserError(f"{source}: fluency prompt needs exactly the keys 'system' and 'user'")
    for field in ("{language}", "{prompt}", "{response}"):
        if field not in data["user"]:
            raise UserError(f"{source}: key 'user' must contain {field}")
    return data


def parse_scores(text: str | None) -> dict | None:
    """{"fluency": int, "correctness": int}, or None when either line is missing or repeated."""
    found = [(k.lower(), int(v)) for k, v in _LINE.findall(text or "")]
    keys = [k for k, _ in found]
    if sorted(keys) != ["correctness", "fluency"]:
        return None
    return dict(found)


def score(rows: Sequence[dict], endpoint: EndpointConfig, prompt_file: str | None = None, cache=None,
          progress: bool = True) -> dict:
    """Mean fluency/correctness per language over the rows the judge answered in format; counts the rest.
    Adds row["fluency"] = scores | {"status": "unparsed"|"failed"} in place."""
    from data_tools.clients.llm import ChatClient, ChatRequest

    prompt = load_prompt(prompt_file)
    requests = [ChatRequest([
        {"role": "system", "content": prompt["system"]},
        {"role": "user", "content": prompt["user"].format(language=LANGUAGE_NAMES.get(r["lang"], r["lang"]),
                                                          prompt=r["prompt"], response=r["response"])},
    ], max_tokens=20, temperature=0.0) for r in rows]
    results = ChatClient("fluency", endpoint, cache=cache, progress=progress).run(requests, desc="fluency")
    per_lang: dict[str, dict[str, list]] = defaultdict(lambda: {"fluency": [], "correctness": [], "missing": []})
    for row, result in zip(rows, results):
        scores = parse_scores(result.text) if result.ok else None
        row["fluency"] = scores or {"status": "unparsed" if result.ok else "failed"}
        bucket = per_lang[row["lang"]]
        if scores is None:
            bucket["missing"].append(row["fluency"]["status"])
            continue
        bucket["fluency"].append(scores["fluency"])
        bucket["correctness"].append(scores["correctness"])
    out = {}
    for lang in [lang for lang in LANGUAGES if lang in per_lang] + sorted(set(per_lang) - set(LANGUAGES)):
        b = per_lang[lang]
        n = len(b["fluency"])
        out[lang] = {"n": n, "fluency": sum(b["fluency"]) / n if n else None,
                     "correctness": sum(b["correctness"]) / n if n else None,
                     "unparsed": b["missing"].count("unparsed"), "failed": b["missing"].count("failed")}
    return out
