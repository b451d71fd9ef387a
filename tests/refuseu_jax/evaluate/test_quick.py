"""The quickstart's before/after table on the bundled test split (two tiny random models, real tokenizer)."""

import json
from collections import Counter

from data_tools.taxonomy import LANGUAGES
from refuseu_jax.evaluate.quick import before_after_table


def test_before_after_table(tmp_path):
    from transformers import AutoTokenizer

    from refuseu_jax.checkpoints.registry import prepare_model
    from tests.refuseu_jax.hf_tiny import jax_model_from_hf, tiny_hf_llama

    tokenizer = AutoTokenizer.from_pretrained(prepare_model("smollm2-135m"))
    models = [jax_model_from_hf(tiny_hf_llama(seed=s, vocab_size=len(tokenizer), eos_token_id=tokenizer.eos_token_id,
                                              pad_token_id=tokenizer.pad_token_id, max_position_embeddings=512))
              for s in (0, 1)]
    table = before_after_table(models[0], models[1], tokenizer=tokenizer, max_new_tokens=3, out_dir=tmp_path)
    assert "Non-refusal rate (offline refusal judge) per language" in table
    assert "ASR (guard ensemble)" not in table  # the offline judge's number never appears under the guard name
    lines = [line for line in table.splitlines() if line.startswith("| ")]
    assert lines[0] == "| language | before | after | change after vs before (pp) |"
    assert [line.split(" | ")[0][2:] for line in lines[1:]] == ["all", *LANGUAGES]
    # Random 3-token replies never contain a refusal marker: 100% non-refusal on both sides, every test prompt of
    # each language (12 per language in the bundled sample).
    from data_tools.sample import SAMPLE_PATH
    from data_tools.schema import read_records

    per_lang = Counter(r["lang"] for r in read_records(SAMPLE_PATH) if r["split"] == "test")
    assert min(per_lang.values()) >= 12
    metrics = json.loads((tmp_path / "after" / "metrics.json").read_text())
    assert {lang: v["n"] for lang, v in metrics["non_refusal_rate"]["lang"].items()} == dict(per_lang)
    assert (tmp_path / "plots" / "non_refusal_rate_before_after.png").exists()
    assert (tmp_path / "before" / "report.md").exists()
