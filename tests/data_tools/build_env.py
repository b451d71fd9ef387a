"""A small but complete build config pointing every role at the local test servers."""

from __future__ import annotations

from pathlib import Path

import yaml

CATEGORIES = ["S1", "S2", "S9"]
STYLES = ["Slang", "Role Play", "Hypotheticals", "Word Play"]
PER_CELL = 2
TEST_PER_CATEGORY = 2
# A build of 4 prompts (en, de; one category; two styles) for tests of single behaviours. The scripted guards pass
# every prompt but the "[benign]" ones (1 seed in 7), and one prompt per cell fills the split only if it survives:
# the dry run is told so (survival_rate 1.0), or it would refuse these counts at the default rate.
SMALL = dict(langs=["en", "de"], categories=["S1"], styles=["Slang", "Role Play"],
             generate={"per_cell": 1, "max_rounds": 2}, split={"test_per_category": 1},
             estimate={"survival_rate": 1.0})


def endpoint(url: str, model: str, key_env: str | None) -> dict:
    # A generous timeout: on a loaded 2-core machine a retry after a spurious timeout would change request counts.
    return {"base_url": url, "model": model, "api_key_env": key_env, "max_concurrency": 16, "timeout_s": 30.0,
            "backoff_s": 0.01, "max_backoff_s": 0.05, "prompt_price_per_mtok": 1.0, "completion_price_per_mtok": 2.0}


def write_config(path: Path, openai_url: str, deepl_url: str, key_env: str, **overrides) -> Path:
    cfg = {
        "mode": "native",
        "langs": ["all"],
        "categories": CATEGORIES,
        "styles": STYLES,
        "seed": 0,
        "generate": {"per_cell": PER_CELL, "max_rounds": 4},
        "split": {"test_per_category": TEST_PER_CATEGORY},
        "endpoints": {
            "generator": endpoint(openai_url, "gen-small", key_env),
            "refuser": endpoint(openai_url, "refuser-aligned", key_env),
            "complier": endpoint(openai_url, "complier-ablated", key_env),
            "llama_guard": endpoint(openai_url, "llama-guard-3", key_env),
            "polyguard": endpoint(openai_url, "polyguard-qwen", key_env),
            "adjudicator": endpoint(openai_url, "adjudicator", key_env),
            "translator": {"server_url": deepl_url, "api_key_env": key_env, "formality": "prefer_less",
                           "timeout_s": 30.0, "backoff_s": 0.01, "max_backoff_s": 0.05, "price_per_mchar": 25.0},
        },
    }
    for key, value in overrides.items():
        cfg[key] = value
    path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    return path
