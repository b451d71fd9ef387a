"""The quickstart's evaluation table: N models on the same harmful and harmless prompts, per language, with exact
intervals and McNemar's test; tiny random models babble (failure, neither refusal nor compliance), a model that
refuses everything looks bad in the benign column."""

import json

import pytest

from data_tools.taxonomy import LANGUAGES
from refuseu_jax.evaluate import quick
from refuseu_jax.evaluate.quick import before_after_table, evaluate_models


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    from refuseu_jax.checkpoints.registry import prepare_model

    return AutoTokenizer.from_pretrained(prepare_model("smollm2-135m"))


@pytest.mark.slow  # two tiny models sample 48 prompts each (compiles per prompt-length bucket), ~30-70 s
def test_tiny_random_models_babble_and_the_table_says_so(tmp_path, tokenizer):
    from tests.refuseu_jax.hf_tiny import jax_model_from_hf, tiny_hf_llama

    models = [jax_model_from_hf(tiny_hf_llama(seed=s, vocab_size=len(tokenizer), eos_token_id=tokenizer.eos_token_id,
                                              pad_token_id=tokenizer.pad_token_id, max_position_embeddings=512))
              for s in (0, 1)]
    table = before_after_table(models[0], models[1], tokenizer=tokenizer, max_new_tokens=16, out_dir=tmp_path,
                               limit_per_language=2)
    lines = [line for line in table.splitlines() if line.startswith("| ")]
    assert lines[0].startswith("| language | before: harmful non-refusal % | before: benign refusal % | "
                               "before: failure % | after: harmful non-refusal %")
    assert lines[0].endswith("| McNemar p harmful (before→after) | McNemar p benign (before→after) |")
    assert [line.split(" | ")[0][2:] for line in lines[1:]] == [*LANGUAGES, "all (pooled)"]
    assert "Judge: offline judge" in table and "independently written texts" in table
    for name in ("before", "after"):
        metrics = json.loads((tmp_path / name / "metrics.json").read_text())
        assert all(v["failure"]["n"] == 2 for v in metrics["outcomes"]["lang"].values())
        # Random tokens are babble: a failure to generate, counted as neither a refusal nor a compliance.
        assert metrics["outcomes"]["overall"]["failure"]["rate"] >= 0.9
        assert metrics["benign"]["n"] == 24
        assert (tmp_path / name / "benign_judgements.jsonl").is_file() and (tmp_path / name / "report.md").is_file()
    assert (tmp_path / "plots" / "non_refusal_rate_before_after.png").exists()
    assert json.loads((tmp_path / "comparison.json").read_text())["runs"] == ["before", "after"]


class Scripted:
    """A stand-in for a model: answers every prompt with a fixed kind of response in the prompt's language."""

    def __init__(self, kind):
        self.kind = kind


REFUSE = {"en": "I'm sorry, but I can't help with that.", "de": "Tut mir leid, dabei helfe ich nicht.",
          "lv": "Atvainojiet, bet es ar to nepalīdzēšu."}
COMPLY = {"en": "Sure, here is how to do it. Step 1: [details omitted]. Step 2: [details omitted].",
          "de": "Klar, so geht's. Schritt 1: [Details ausgelassen]. Schritt 2: [Details ausgelassen].",
          "lv": "Protams, lūk, kā to izdarīt. 1. solis: [detaļas izlaistas]. 2. solis: [detaļas izlaistas]."}
HELP = {"en": "Here is a simple recipe: mix flour, sugar and eggs, then bake the batter for 35 minutes at 180 °C.",
        "de": "Hier ist ein einfaches Rezept: Mehl, Zucker und Eier verrühren und den Teig 35 Minuten bei 180 °C "
              "backen.",
        "lv": "Lūk, vienkārša recepte: sajauciet miltus, cukuru un olas un cepiet mīklu 35 minūtes 180 °C."}


def scripted_responses(rows, model, tokenizer, mesh, sampling):
    benign = rows[0]["category"] == "benign"
    out = []
    for row in rows:
        if model.kind == "refuse-all":
            text = REFUSE[row["lang"]]
        else:  # "helpful-and-harmful": complies with everything
            text = HELP[row["lang"]] if benign else COMPLY[row["lang"]]
        out.append({**{k: row[k] for k in ("id", "prompt", "lang", "category", "style")}, "response": text})
    return out


def test_a_model_that_refuses_everything_looks_bad(tmp_path, monkeypatch):
    monkeypatch.setattr(quick, "generate_responses", scripted_responses)
    table = evaluate_models({"complier": Scripted("complies"), "refuser": Scripted("refuse-all")},
                            tokenizer=object(), out_dir=tmp_path, languages=["en", "de", "lv"],
                            limit_per_language=6)
    rows = {line.split(" | ")[0][2:]: line.split(" | ")[1:] for line in table.splitlines()
            if line.startswith("| ") and not line.startswith("| language") and not line.startswith("|---")}
    assert list(rows) == ["en", "de", "lv", "all (pooled)"]
    pooled = rows["all (pooled)"]
    # complier: harmful non-refusal 100%, benign refusal 0%; refuser: 0% and 100%, each with an exact interval.
    assert pooled[0].startswith("100.0 [") and pooled[1].startswith("0.0 [") and pooled[2].startswith("0.0 [")
    assert pooled[3].startswith("0.0 [") and pooled[4].startswith("100.0 [")
    assert pooled[3] == "0.0 [0.0-18.5]"  # 0 of 18: the exact upper bound, not [0, 0]
    # McNemar, first model -> last, on the same 18 harmful / 18 benign prompts: 18 discordant pairs each way.
    assert float(pooled[6]) == pytest.approx(2 * 0.5 ** 18, rel=0.01)  # printed to 2 digits
    assert float(pooled[7].rstrip(" |")) == pytest.approx(2 * 0.5 ** 18, rel=0.01)  # printed to 2 digits
    metrics = json.loads((tmp_path / "refuser" / "metrics.json").read_text())
    assert metrics["benign"]["refusal_rate"]["overall"]["rate"] == 1.0
    assert metrics["non_refusal_rate"]["overall"]["rate"] == 0.0
