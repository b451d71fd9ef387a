"""The abliteration report: abliteration.json (everything), report.md (for people), plots/*.png, direction.npy.

    plots/candidate_scores.png   bypass, KL and induce score of every candidate, per layer, one line per position
    plots/cosine_languages.png   cosine similarity of the per-language directions at the chosen position and layer
    plots/cosine_by_layer.png    mean cross-language cosine of the per-language directions, per layer
    plots/refusal_by_language.png  harmful-test non-refusal and benign refusal rates per language and model
    evaluation/                  the project's evaluation runs of each model and their comparison (evaluate_models)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from data_tools.atomic import atomic_open, write_json_atomic, write_text_atomic
from refuseu_jax.evaluate.plots import heatmap, pyplot


def write(report_dir: Path, result: dict, direction: np.ndarray | None = None) -> None:
    report_dir = Path(report_dir)
    plots = report_dir / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    write_json_atomic(report_dir / "abliteration.json", result)
    if direction is not None:
        with atomic_open(report_dir / "direction.npy", "wb") as fh:
            np.save(fh, np.asarray(direction, np.float32))
    candidate_plot(result, plots / "candidate_scores.png")
    if "languages" in result:
        langs = result["languages"]
        matrix = _array(langs["cosine"])
        chosen = result["selected"]
        heatmap(matrix, langs["langs"], langs["langs"], plots / "cosine_languages.png",
                f"Cosine of per-language refusal directions\n(position {chosen['position']}, layer {chosen['layer']})",
                vmin=-1, vmax=1, cmap="RdBu_r")
        layer_cosine_plot(_array(langs["mean_cross_language_cosine_by_layer"]), chosen["layer"],
                          plots / "cosine_by_layer.png")
    if result.get("evaluation"):
        refusal_plot(result["evaluation"], plots / "refusal_by_language.png")
    write_text_atomic(report_dir / "report.md", markdown(result))


def _array(values) -> np.ndarray:
    return np.array([[np.nan if v is None else v for v in row] for row in values] if values and
                    isinstance(values[0], list) else [np.nan if v is None else v for v in values], dtype=float)


def candidate_plot(result: dict, path: Path) -> None:
    plt = pyplot()
    cands = result["candidates"]
    positions = sorted({c["position"] for c in cands})
    layers = result["num_layers"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    titles = {"bypass": "Refusal score, direction ablated (harmful val)",
              "kl": "KL(original || ablated) (harmless val)",
              "induce": "Refusal score, direction added (harmless val)"}
    baselines = {"bypass": result["baseline_scores"]["harmful_refusal_score"],
                 "induce": result["baseline_scores"]["harmless_refusal_score"]}
    for ax, key in zip(axes, titles):
        for pos in positions:
            token = next(c["token"] for c in cands if c["position"] == pos)
            values = np.full(layers, np.nan)
            for c in cands:
                if c["position"] == pos and c[key] is not None:
                    values[c["layer"]] = c[key]
            ax.plot(range(layers), values, marker=".", label=f"{pos}: {token!r}")
        if key in baselines:
            ax.axhline(baselines[key], color="black", linestyle="--", linewidth=1, label="no intervention")
        if key == "kl":
            ax.axhline(result["config"]["selection"]["kl_bound"], color="red", linestyle=":", label="bound")
            ax.set_yscale("log", nonpositive="mask")  # KLs span orders of magnitude across layers
        if result.get("selected"):
            s = result["selected"]
            if s[key] is not None:
                ax.plot([s["layer"]], [s[key]], marker="*", markersize=14, color="gold", markeredgecolor="black",
                        linestyle="none", label="chosen")
        limit = int(layers * (1.0 - result["config"]["selection"]["prune_layers"]))
        if limit < layers:
            ax.axvspan(limit - 0.5, layers - 0.5, color="gray", alpha=0.15, label="pruned layers (not scored)")
        ax.set_xlim(-0.5, layers - 0.5)
        ax.set_title(titles[key], fontsize=9)
        ax.set_xlabel("layer the direction is read from")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def layer_cosine_plot(values: np.ndarray, chosen_layer: int, path: Path) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.plot(range(len(values)), values, marker=".")
    ax.axvline(chosen_layer, color="gray", linestyle="--", linewidth=1, label="chosen layer")
    ax.set_ylim(-1, 1)
    ax.set_xlabel("layer")
    ax.set_ylabel("mean cosine")
    ax.set_title("Mean cosine between per-language directions (chosen position)", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def refusal_plot(evaluation: dict, path: Path) -> None:
    """Harmful non-refusal % and benign refusal % per language, one bar per model."""
    plt = pyplot()
    parts = [(key, title) for key, title in (
        ("harmful_non_refusal", "Harmful test prompts: non-refusal rate (offline judge)"),
        ("benign_refusal", "Benign prompts: refusal rate (over-refusal, offline judge)")) if evaluation.get(key)]
    fig, axes = plt.subplots(len(parts), 1, figsize=(10, 3.4 * len(parts)), squeeze=False)
    for ax, (key, title) in zip(axes[:, 0], parts):
        runs = evaluation[key]
        langs = [lang for lang in next(iter(runs.values())) if lang != "all"] + ["all"]
        width = 0.8 / len(runs)
        for i, (name, rates) in enumerate(runs.items()):
            values = [np.nan if (rates.get(lang) or {}).get("rate") is None else 100 * rates[lang]["rate"]
                      for lang in langs]
            ax.bar(np.arange(len(langs)) + (i - (len(runs) - 1) / 2) * width, values, width, label=name)
        ax.set_xticks(range(len(langs)), langs)
        ax.set_ylim(0, 105)
        ax.set_ylabel("%")
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---- Markdown --------------------------------------------------------------------------------------------------
def _cell(value) -> str:
    return str(value).replace("|", "\\|").replace("\n", "\\n")  # token texts hold both


def _table(header, rows) -> str:
    lines = ["| " + " | ".join(map(_cell, header)) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows])


def _num(value, fmt="{:.3f}") -> str:
    return "-" if value is None else fmt.format(value)


def _share(value) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def markdown(result: dict) -> str:
    cfg = result["config"]
    sel = result.get("selected")
    out = [f"# Refusal-direction ablation of `{result['model']}`", "",
           f"Method: Arditi et al. (2024), difference of means at the post-instruction tokens "
           f"{result['post_instruction_tokens']}, {result['num_layers']} layers; {result['devices']}. "
           + (f"Candidates: the mean of the per-language differences of {', '.join(result['direction_languages'])}."
              if cfg["balance_languages"] else "Candidates: pooled over all languages."), ""]
    if sel is None:
        out += ["**No direction chosen: every candidate was discarded** (see the table of all candidates).", ""]
    else:
        out += [f"**Chosen:** position {sel['position']} ({sel['token']!r}), layer {sel['layer']}: bypass "
                f"{sel['bypass']:.3f} (no intervention: {result['baseline_scores']['harmful_refusal_score']:.3f}), "
                f"KL {sel['kl']:.4f} (bound {cfg['selection']['kl_bound']}), induce {sel['induce']:.3f} (no "
                f"intervention: {result['baseline_scores']['harmless_refusal_score']:.3f}), judged refusal on "
                f"harmful validation prompts {_share(sel['judged_refusal'])} (unreadable answers "
                f"{_share(sel['judged_failure'])}). Ablated checkpoint: `{cfg['out']}`.",
                ""]
    ev = result.get("evaluation")
    if ev:
        out += _evaluation_md(ev)
    if result.get("languages"):
        langs = result["languages"]
        out += ["## Is refusal one direction across languages?", "",
                "Per-language direction = that language's harmful mean - harmless mean at the chosen position and "
                "layer; cosine similarities between them, and with the chosen (all-language) direction. Plot: "
                "plots/cosine_languages.png; by layer: plots/cosine_by_layer.png.", ""]
        codes = langs["langs"]
        rows = [[a] + [_num(v, "{:.2f}") for v in row] for a, row in zip(codes, langs["cosine"])]
        rows.append(["chosen"] + [_num(v, "{:.2f}") for v in langs["cosine_with_chosen"]])
        out += [_table([""] + codes, rows), ""]
    from refuseu_jax.evaluate.report import judge_line

    out += [judge_line(result.get("judge") or {}), ""]
    out += ["## Refusal tokens", "",
            "First tokens of the model's own greedy answers that start mostly judged refusals:", "",
            _table(["token", "refusals", "other answers"],
                   [[repr(t["text"]), t["refusals"], t["other"]] for t in result["refusal_tokens"]]), ""]
    langs = result["config"]["languages"]
    langs = list(langs) if isinstance(langs, list) else [c.strip() for c in langs.split(",")]
    if langs == ["all"]:
        from data_tools.taxonomy import LANGUAGES

        langs = list(LANGUAGES)
    out += ["## Prompts", "", "After the filter (harmful: the model refused; harmless: it answered).", "",
            _table(["set", "all", *langs], [[name, counts["all"], *(counts.get(lang, 0) for lang in langs)]
                                             for name, counts in result["prompts"].items() if counts.get("all")]), ""]
    ranked = sorted(result["candidates"], key=lambda c: (c["bypass"] is None, c["bypass"] or 0.0))
    out += ["## All candidates (sorted by bypass score)", "",
            "bypass: refusal score on harmful validation prompts with the direction ablated; kl: on harmless "
            "validation prompts; induce: refusal score on harmless validation prompts with the direction added "
            "(computed for candidates that pass the layer and KL filters); judged: refusal rate of the ablated "
            "model's answers to harmful validation prompts. Plot: plots/candidate_scores.png.", "",
            _table(["position", "token", "layer", "norm", "bypass", "kl", "induce", "judged refusal", "discarded"],
                   [[c["position"], repr(c["token"]), c["layer"], _num(c["norm"], "{:.2f}"), _num(c["bypass"]),
                     _num(c["kl"], "{:.4f}"), _num(c["induce"]),
                     _share(c["judged_refusal"]),
                     ("**chosen**" if c["selected"] else (c["discarded"] or ""))] for c in ranked]), ""]
    return "\n".join(out)


def _evaluation_md(ev: dict) -> list[str]:
    models = [name for name in ("baseline", "input", "ablated") if ev["models"].get(name)]
    out = ["## Per language: harmful test and benign prompts", "",
           "Models: " + "; ".join(f"{name} = `{ev['models'][name]}`" for name in models) + ". Each model's run "
           "(answers, judgements, metrics) is in evaluation/NAME, the comparison in evaluation/comparison.md; "
           "plot: plots/refusal_by_language.png.", "", ev["table"], ""]
    if ev.get("benign_kl"):
        kl = ev["benign_kl"]
        langs = [lang for lang in kl if lang != "all"] + ["all"]
        out += ["Next-token KL(input ‖ ablated) after each benign prompt (the paper's damage measure, on prompts "
                "the selection never saw):", "",
                _table(["language", *langs], [["KL", *(_num(kl[lang]["kl"], "{:.4f}") for lang in langs)]]), "",
                f"Mean {kl['all']['kl']:.4f}: {'within' if ev['kl_within_bound'] else '**above**'} the bound "
                f"{ev['kl_bound']}.", ""]
    return out
