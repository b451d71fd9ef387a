"""Who judged a run, and whether those judges also built the data: the record that makes comparisons honest.

- `judge_setup`: the guards (format, backend, model, token budget, parser version), the rule, the adjudicator, and
  the offline judge (version, wrong-language handling, validation figures). Every run writes it to metrics.json.
- `setup_key`: the part of the setup a rate depends on. Two runs whose keys differ were measured with different
  instruments; `refuseu report` says so and refuses a delta between them unless told otherwise.
- `independence`: whether the evaluation's judges are among the guards that filtered the dataset (read from the
  dataset card the data build writes, or from the records' provenance). A guard that chose the training data and
  then grades the trained model grades its own taste (the paper's circularity); every report states it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Sequence

from data_tools.judges import ADJUDICATOR, PARSER_VERSIONS

BUNDLED = "bundled"
_CARD_MODEL = re.compile(r"^- (llama_guard|polyguard|adjudicator): `([^`]+)`", re.MULTILINE)


def _judge_entry(cfg, default_max_tokens: dict) -> dict:
    model = cfg.endpoint.model if cfg.endpoint is not None else cfg.model
    return {"name": cfg.name, "format": cfg.format, "backend": cfg.backend, "model": model,
            "max_tokens": cfg.max_tokens or default_max_tokens[cfg.format],
            "parser_version": PARSER_VERSIONS[cfg.format]}


def judge_setup(judges, offline: dict) -> dict:
    """The evaluation's judges as metrics.json records them. `judges` is a run.JudgesSection; `offline` the offline
    judge's description with its validation summary."""
    from refuseu_jax.evaluate.judging import DEFAULT_MAX_TOKENS

    return {
        "guards": [_judge_entry(g, DEFAULT_MAX_TOKENS) for g in judges.guards],
        "rule": judges.rule if judges.guards else None,
        "adjudicator": _judge_entry(judges.adjudicator, DEFAULT_MAX_TOKENS) if judges.adjudicator and judges.guards
        else None,
        "adjudicate_all": bool(judges.adjudicate_all and judges.guards),
        "offline_judge": offline,
    }


def setup_key(metrics: dict, rate: str) -> str:
    """A canonical string of what a rate was measured with ("asr": guards, rule, adjudicator, parsers; anything
    else: the offline judge's version and wrong-language handling). Runs written before the setup was recorded get
    "unrecorded", which never matches a recorded setup."""
    setup = metrics.get("judge_setup")
    if not setup:
        return "unrecorded"
    if rate == "asr":
        strip = lambda j: None if j is None else {k: j[k] for k in ("format", "backend", "model", "max_tokens",  # noqa
                                                                    "parser_version")}
        return json.dumps({"guards": sorted((strip(g) for g in setup["guards"]), key=json.dumps),
                           "rule": setup["rule"], "adjudicator": strip(setup.get("adjudicator"))}, sort_keys=True)
    offline = setup.get("offline_judge") or {}
    return json.dumps({"version": offline.get("version"), "wrong_language": offline.get("wrong_language")},
                      sort_keys=True)


def describe_setup(metrics: dict, rate: str) -> str:
    """One line naming the instrument behind a rate, for table headers and notes."""
    setup = metrics.get("judge_setup") or {}
    if rate == "asr":
        guards = ", ".join(f"{g['name']} ({g['model']})" for g in setup.get("guards", [])) or "unrecorded"
        adjudicator = setup.get("adjudicator")
        adj = f", adjudicator {adjudicator['model']}" if adjudicator else ", no adjudicator"
        return f"guards {guards}; rule {setup.get('rule')}{adj}"
    offline = setup.get("offline_judge") or {}
    return f"offline judge {offline.get('version', 'unrecorded')} (wrong language: " \
           f"{offline.get('wrong_language', 'keep')})"


# ----------------------------------------------------------------------------------------------------------------
# Independence from the dataset's filter
# ----------------------------------------------------------------------------------------------------------------


def _model_id(name: str | None) -> str:
    """Compare models by their last path component, case-insensitively: "/models/Llama-Guard-3-8B" served locally
    is the hub's "meta-llama/Llama-Guard-3-8B"."""
    return (name or "").rstrip("/").split("/")[-1].lower()


def find_card(data: str) -> Path | None:
    """The dataset card (README.md written by `refuseu-data export`) of the data at `data`: in the export
    directory itself, or next to a JSONL file or split directory inside it."""
    path = Path(data)
    for candidate in (path / "README.md", path.parent / "README.md", path.parent.parent / "README.md"):
        if candidate.is_file() and "refuseu-data" in candidate.read_text(encoding="utf-8", errors="replace")[:400]:
            return candidate
    return None


def dataset_filter_judges(data: str, records: Sequence[dict] = ()) -> dict:
    """The guards that filtered the dataset: {"source": where it was read, "judges": {role: model}}.

    From the dataset card's model list (guards always; the adjudicator only under the "adjudicated" filter rule),
    else from the records' provenance (meta.llama_guard / meta.polyguard, written by the filter step). The bundled
    sample was written by hand and filtered by no guard."""
    from data_tools.sample import SAMPLE_PATH

    if data == BUNDLED or Path(data).resolve() == SAMPLE_PATH.resolve():
        return {"source": "bundled sample (handwritten, not filtered by any guard)", "judges": {}}
    card = find_card(data)
    if card is not None:
        text = card.read_text(encoding="utf-8")
        models = dict(_CARD_MODEL.findall(text))
        if "Filter rule (adjudicated)" not in text:
            models.pop(ADJUDICATOR, None)
        return {"source": str(card), "judges": models}
    found = {}
    for record in records:
        for role in ("llama_guard", "polyguard"):
            model = (record.get("meta") or {}).get(role)
            if model:
                found[role] = model
    if found:
        return {"source": "record provenance (meta)", "judges": found}
    return {"source": "unknown (no dataset card, no guard names in the records)", "judges": {}}


def independence(setup: dict, filters: dict) -> dict:
    """Which of the evaluation's judges also filtered the data. `independent` is None when the filter guards are
    unknown."""
    used = [*setup.get("guards", []), *([setup["adjudicator"]] if setup.get("adjudicator") else [])]
    filter_ids = {_model_id(m): (role, m) for role, m in filters["judges"].items()}
    overlap = [{"judge": j["name"], "model": j["model"], "filtered_as": filter_ids[_model_id(j["model"])][0]}
               for j in used if _model_id(j["model"]) in filter_ids]
    known = bool(filters["judges"]) or filters["source"].startswith("bundled")
    return {"dataset_filter": filters, "overlap": overlap,
            "independent": (not overlap) if known else None,
            "statement": _statement(used, filters, overlap, known)}


def _statement(used, filters, overlap, known) -> str:
    if not used:
        return ("Judged by the offline judge only, which filtered nothing; " +
                ("the dataset was filtered by " + ", ".join(f"{r} ({m})" for r, m in filters["judges"].items())
                 if filters["judges"] else filters["source"]) + ".")
    if overlap:
        return ("NOT independent: " + ", ".join(f"{o['judge']} ({o['model']})" for o in overlap) +
                " also filtered the dataset (" + filters["source"] + "); its verdicts grade data it chose.")
    if not known:
        return f"Independence unknown: {filters['source']}."
    return ("Independent: none of the judges filtered the dataset (" + (
        ", ".join(f"{r}: {m}" for r, m in filters["judges"].items()) or filters["source"]) + ").")
