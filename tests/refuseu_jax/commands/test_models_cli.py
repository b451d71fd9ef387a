"""`refuseu convert` (GGUF/HF/name sources, dtype casting) and `refuseu sample --prompt`, through the real CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from safetensors.numpy import load_file

from refuseu_jax.checkpoints.convert import parse_size
from refuseu_jax.cli import main
from tests.refuseu_jax.hf_tiny import tiny_hf_llama

CHAT_TEMPLATE = ("{% for m in messages %}w5 {{ m['content'] }} w6 {% endfor %}"
                 "{% if add_generation_prompt %}w7{% endif %}")


@pytest.fixture()
def tiny_chat_model(tmp_path):
    """A tiny random Llama with a whitespace tokenizer over its 128 ids and a chat template."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    path = tmp_path / "tiny"
    tiny_hf_llama().save_pretrained(path)
    tok = Tokenizer(models.WordLevel({f"w{i}": i for i in range(128)}, unk_token="w0"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="w2", pad_token="w0",
                            chat_template=CHAT_TEMPLATE).save_pretrained(path)
    return path


def test_sample_answers_each_prompt(tiny_chat_model):
    result = CliRunner().invoke(main, ["sample", "--model", str(tiny_chat_model), "--prompt", "w9 w10",
                                       "--prompt", "w11", "--max-new-tokens", "4"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "> w9 w10" and "> w11" in lines
    reply = lines[1].split()
    assert 1 <= len(reply) <= 4 and all(word.startswith("w") for word in reply)  # decoded vocabulary words


def test_sample_without_tokenizer_is_a_user_error(tmp_path):
    tiny_hf_llama().save_pretrained(tmp_path / "bare")
    result = CliRunner().invoke(main, ["sample", "--model", str(tmp_path / "bare"), "--prompt", "hi"])
    assert result.exit_code == 2 and "no tokenizer files" in result.stderr


def test_convert_casts_dtype_and_keeps_tokenizer(tiny_chat_model, tmp_path):
    out = tmp_path / "bf16"
    result = CliRunner().invoke(main, ["convert", str(tiny_chat_model), str(out), "--dtype", "bfloat16"])
    assert result.exit_code == 0, result.output
    weights = load_file(out / "model.safetensors")
    assert {str(v.dtype) for v in weights.values()} == {"bfloat16"}
    assert json.loads((out / "config.json").read_text())["torch_dtype"] == "bfloat16"
    original = load_file(tiny_chat_model / "model.safetensors")
    np.testing.assert_array_equal(weights["lm_head.weight"].astype(np.float32),
                                  original["lm_head.weight"].astype("bfloat16").astype(np.float32))
    assert (out / "chat_template.jinja").read_text() == (tiny_chat_model / "chat_template.jinja").read_text()
    # Without --dtype the stored dtype is kept: converting the bf16 copy again is bit-exact.
    again = tmp_path / "again"
    assert CliRunner().invoke(main, ["convert", str(out), str(again)]).exit_code == 0
    assert (again / "model.safetensors").read_bytes() == (out / "model.safetensors").read_bytes()


def test_convert_refuses_to_overwrite_a_non_model_directory(tiny_chat_model, tmp_path):
    precious = tmp_path / "notes"
    precious.mkdir()
    (precious / "todo.txt").write_text("keep me")
    result = CliRunner().invoke(main, ["convert", str(tiny_chat_model), str(precious)])
    assert result.exit_code == 2 and "refusing to overwrite" in result.stderr
    assert (precious / "todo.txt").read_text() == "keep me"


def test_sizes_parse_with_units():
    assert parse_size("2GiB") == 2 * 2**30 and parse_size("500MB") == 500 * 10**6 and parse_size("1000") == 1000
    with pytest.raises(Exception, match="max-shard-size"):
        parse_size("lots")
