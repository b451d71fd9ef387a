"""Global MMLU scoring on a tiny local Parquet file == a direct transformers log-likelihood computation."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from refuseu_jax.evaluate import mmlu

# Harmless general-knowledge questions written for this test, in Global MMLU's column layout.
QUESTIONS = {
    "en": [("What is the capital of France?", ("Berlin", "Paris", "Rome", "Madrid"), "B"),
           ("How many legs does a spider have?", ("Six", "Four", "Eight", "Ten"), "C"),
           ("Which planet is closest to the Sun?", ("Mercury", "Venus", "Earth", "Mars"), "A")],
    "de": [("Was ist die Hauptstadt von Frankreich?", ("Berlin", "Paris", "Rom", "Madrid"), "B"),
           ("Wie viele Tage hat eine Woche?", ("Fünf", "Sechs", "Acht", "Sieben"), "D")],
    "pl": [("Ile to jest dwa plus dwa?", ("Trzy", "Cztery", "Pięć", "Sześć"), "B")],
}


def write_parquet(path):
    rows = []
    for lang, items in QUESTIONS.items():
        for i, (q, opts, answer) in enumerate(items):
            rows.append({"sample_id": f"{lang}-{i}", "subject": "general", "subject_category": "Other",
                         "question": q, "option_a": opts[0], "option_b": opts[1], "option_c": opts[2],
                         "option_d": opts[3], "answer": answer, "cultural_sensitivity_label": "CA", "language": lang})
    pq.write_table(pa.Table.from_pylist(rows), path)


def torch_logliks(model, pairs):
    """Summed continuation log-probs, all pairs in one right-padded forward pass (positions stay 0..n-1)."""
    length = max(len(c) + len(t) for c, t in pairs)
    ids = torch.tensor([c + t + [0] * (length - len(c) - len(t)) for c, t in pairs])
    mask = torch.tensor([[1] * (len(c) + len(t)) + [0] * (length - len(c) - len(t)) for c, t in pairs])
    with torch.no_grad():
        logprobs = torch.log_softmax(model(input_ids=ids, attention_mask=mask).logits.double(), -1)
    return [sum(float(logprobs[row, len(c) - 1 + i, tok]) for i, tok in enumerate(t))
            for row, (c, t) in enumerate(pairs)]


@pytest.fixture(scope="module")
def smollm2():
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from refuseu_jax.checkpoints.hf import from_pretrained
    from refuseu_jax.checkpoints.registry import prepare_model

    directory = prepare_model("smollm2-135m")
    hf = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32).eval()
    return from_pretrained(directory), AutoTokenizer.from_pretrained(directory), hf


def test_global_mmlu_matches_transformers_loglikelihood(tmp_path, smollm2):
    model, tokenizer, hf = smollm2
    write_parquet(tmp_path / "gmmlu.parquet")
    questions = mmlu.load_questions(tmp_path / "gmmlu.parquet", languages=["en", "de", "pl", "lv"])
    assert list(questions) == ["en", "de", "pl"]  # lv has no rows and is simply absent
    result = mmlu.evaluate(model, tokenizer, questions, batch_size=4)

    rows = [questions[p["lang"]][int(p["sample_id"].split("-")[1])] for p in result["predictions"]]
    pairs = [mmlu.encode_pair(tokenizer, mmlu.format_prompt(row), f" {letter}") for row in rows for letter in "ABCD"]
    expected = np.array(torch_logliks(hf, pairs)).reshape(len(rows), 4)
    correct = {lang: 0 for lang in questions}
    for pred, row, reference in zip(result["predictions"], rows, expected):
        np.testing.assert_allclose(pred["loglik"], reference, atol=2e-3)
        correct[pred["lang"]] += "ABCD"[int(np.argmax(reference))] == row["answer"]
    for lang, rows in questions.items():
        assert result["per_language"][lang] == {"n": len(rows), "accuracy": correct[lang] / len(rows)}


def test_prompt_format_and_tokenisation(smollm2):
    _, tokenizer, _ = smollm2
    row = {"question": "Q?", "option_a": "a", "option_b": "b", "option_c": "c", "option_d": "d"}
    assert mmlu.format_prompt(row) == "Q?\nA. a\nB. b\nC. c\nD. d\nAnswer:"
    ctx, cont = mmlu.encode_pair(tokenizer, "Answer:", " B")
    assert tokenizer.decode(cont) == " B" and len(cont) == 1
    # A trailing space in the context moves to the continuation, as in the harness.
    assert mmlu.encode_pair(tokenizer, "Answer: ", "B") == (ctx, cont)


def test_directory_layout_any_global_mmlu_language(tmp_path):
    """Any Global-MMLU language loads, not only the RefusEU twelve (the paper also reports a non-European one)."""
    for lang in ("de", "cs", "ja"):
        (tmp_path / lang).mkdir()
        pq.write_table(pa.Table.from_pylist([{"question": "q", "option_a": "1", "option_b": "2", "option_c": "3",
                                              "option_d": "4", "answer": "A"}]), tmp_path / lang / "test.parquet")
    assert sorted(mmlu.load_questions(tmp_path)) == ["cs", "de", "ja"]
    assert list(mmlu.load_questions(tmp_path, mmlu.check_mmlu_languages(["ja"]))) == ["ja"]
    from data_tools.errors import UserError

    with pytest.raises(UserError, match="lv not in Global-MMLU"):
        mmlu.check_mmlu_languages("de,lv")
    assert len(mmlu.GLOBAL_MMLU_LANGUAGES) == 42


def test_drop_is_over_the_questions_both_runs_answered(tmp_path):
    def write(run, rows):
        (tmp_path / run).mkdir()
        (tmp_path / run / "mmlu_predictions.jsonl").write_text(
            "".join(f'{{"lang": "{lang}", "sample_id": "{i}", "predicted": "{p}", "answer": "A"}}\n'
                    for lang, i, p in rows))
    write("base", [("de", 0, "A"), ("de", 1, "A"), ("ja", 0, "A")])
    write("tuned", [("de", 0, "A"), ("de", 1, "B"), ("de", 2, "B"), ("cs", 0, "A")])
    drop = mmlu.accuracy_drop(mmlu.read_predictions(tmp_path / "tuned"), mmlu.read_predictions(tmp_path / "base"))
    assert drop["overall"]["n"] == 2 and drop["overall"]["drop"] == pytest.approx(0.5)
    assert drop["shared"]["note"].startswith("computed over the 2 questions in 1 language(s) both runs answered (de)")
    assert mmlu.read_predictions(tmp_path / "nothing") is None
