import json

import pytest

from refuseu_jax.models.config import PRESETS, ModelConfig, ModelConfigError, RopeScaling, get_preset

LLAMA31_OLD_KEYS = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 128256, "hidden_size": 4096,
    "intermediate_size": 14336, "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
    "rms_norm_eps": 1e-05, "rope_theta": 500000.0, "max_position_embeddings": 131072,
    "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                     "original_max_position_embeddings": 8192, "rope_type": "llama3"},
    "tie_word_embeddings": False, "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009],
}


def test_old_and_transformers5_rope_keys_read_the_same(tmp_path):
    new = {k: v for k, v in LLAMA31_OLD_KEYS.items() if k not in ("rope_theta", "rope_scaling")}
    new["rope_parameters"] = dict(LLAMA31_OLD_KEYS["rope_scaling"], rope_theta=500000.0)
    (tmp_path / "config.json").write_text(json.dumps(new))
    old_cfg = ModelConfig.from_hf(LLAMA31_OLD_KEYS)
    new_cfg = ModelConfig.from_hf(tmp_path)
    assert old_cfg == new_cfg == get_preset("llama-3.1-8b").replace(initializer_range=0.02, rms_norm_eps=1e-5)
    assert new_cfg.rope_scaling == RopeScaling("llama3", 8.0, 1.0, 4.0, 8192)
    assert new_cfg.eos_token_ids == (128001, 128008, 128009)


def test_legacy_type_key_and_default_rope():
    cfg = ModelConfig.from_hf(dict(LLAMA31_OLD_KEYS, rope_scaling={"type": "linear", "factor": 2.0}))
    assert cfg.rope_scaling.rope_type == "linear" and cfg.rope_scaling.factor == 2.0
    cfg = ModelConfig.from_hf(dict(LLAMA31_OLD_KEYS, rope_scaling=None, rope_theta=10000))
    assert cfg.rope_scaling.rope_type == "default" and cfg.rope_theta == 10000.0


def test_to_hf_round_trips_every_preset():
    for name, cfg in PRESETS.items():
        assert ModelConfig.from_hf(cfg.to_hf()) == cfg, name


def test_transformers_reads_our_config_json():
    transformers = pytest.importorskip("transformers")
    cfg = get_preset("llama-3.1-8b")
    hf = transformers.LlamaConfig(**cfg.to_hf())
    assert hf.num_key_value_heads == 8 and hf.head_dim == 128
    assert ModelConfig.from_hf(hf.to_dict()) == cfg


@pytest.mark.parametrize("bad, message", [
    ({"architectures": ["MixtralForCausalLM"], "model_type": "mixtral"}, "unsupported architecture"),
    ({"rope_scaling": {"rope_type": "yarn", "factor": 4.0}}, "rope_type 'yarn' is not supported"),
    ({"num_key_value_heads": 5}, "multiple of num_kv_heads"),
])
def test_bad_configs_name_the_problem(tmp_path, bad, message):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(dict(LLAMA31_OLD_KEYS, **bad)))
    with pytest.raises(ModelConfigError, match=message) as err:
        ModelConfig.from_hf(path)
    assert "\n" not in str(err.value)


def test_missing_config_names_the_file(tmp_path):
    with pytest.raises(ModelConfigError, match=str(tmp_path / "config.json")):
        ModelConfig.from_hf(tmp_path)


def test_num_params_matches_the_published_sizes():
    assert round(get_preset("llama-3.1-8b").num_params() / 1e9, 2) == 8.03
    assert round(get_preset("llama-3.1-70b").num_params() / 1e9, 1) == 70.6
    assert round(get_preset("smollm2-135m").num_params() / 1e6) == 135
