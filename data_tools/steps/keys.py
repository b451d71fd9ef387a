"""Which API keys a build needs, checked before the first paid call.

Clients read their key only when they send a request (a fully cached rerun needs none), so without this check a
missing key of a late role (the complier, a guard) was found only after the translation and generation steps had
been paid for. A command now checks the key variable of every role its steps will call, all at once, and names
every missing one in one line.
"""

from __future__ import annotations

import os

from data_tools.errors import UserError


def roles_of_step(cfg, step: str) -> list[tuple[str, str | None]]:
    """(role, name of its key variable) for every service `step` calls with this config."""
    ep = cfg.endpoints
    if step == "translate":
        return [("translator", ep.translator.api_key_env)] if set(cfg.languages) - {"en"} else []
    if step == "generate":
        if cfg.generate.method == "rainbow":   # the archive loop: one generator, the target model and the judge
            return [("generator", ep.generator.api_key_env), ("target", ep.target.api_key_env),
                    ("judge", ep.judge.api_key_env)]
        return [("generator" if i == 0 else f"extra_generators[{i - 1}]", g.api_key_env)
                for i, g in enumerate(ep.generators)]
    if step == "respond":
        return [("refuser", ep.refuser.api_key_env), ("complier", ep.complier.api_key_env)]
    if step == "filter":
        roles = [("llama_guard", ep.llama_guard.api_key_env), ("polyguard", ep.polyguard.api_key_env)]
        if cfg.filter.rule == "adjudicated":
            roles.append(("adjudicator", ep.adjudicator.api_key_env))
        return roles
    return []  # split, mix, export, import-seeds: no service


def missing_keys(cfg, steps) -> list[str]:
    """'role (VARIABLE)' for every role of `steps` whose key variable is named but unset or empty. A role without
    `api_key_env` talks to a server without auth and needs none."""
    missing = []
    for step in steps:
        for role, env in roles_of_step(cfg, step):
            if env and not os.environ.get(env, "").strip():
                entry = f"endpoints.{role}.api_key_env ({env})"
                if entry not in missing:
                    missing.append(entry)
    return missing


def check_keys(cfg, steps) -> None:
    missing = missing_keys(cfg, steps)
    if missing:
        raise UserError(f"environment variable(s) not set or empty, nothing was sent: {', '.join(missing)}; "
                        f"export them (they must hold the API keys) and rerun")
