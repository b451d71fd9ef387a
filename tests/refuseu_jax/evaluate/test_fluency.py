"""Fluency judge answer parsing and prompt file checks."""

import pytest

from data_tools.errors import UserError
from refuseu_jax.evaluate.fluency import load_prompt, parse_scores


def test_parse_scores():
    assert parse_scores("Fluency: 4\nCorrectness: 5") == {"fluency": 4, "correctness": 5}
    assert parse_scores("  fluency : 2 \n CORRECTNESS: 1\n") == {"fluency": 2, "correctness": 1}
    for bad in ("", None, "Fluency: 4", "Fluency: 6\nCorrectness: 5", "Fluency: 4\nFluency: 3\nCorrectness: 1",
                "Fluency: four\nCorrectness: 5"):
        assert parse_scores(bad) is None


def test_prompt_file(tmp_path):
    prompt = load_prompt()
    assert "{language}" in prompt["user"]
    bad = tmp_path / "f.yaml"
    bad.write_text("system: s\nuser: '{prompt} {response}'\n")
    with pytest.raises(UserError, match="must contain {language}"):
        load_prompt(str(bad))
