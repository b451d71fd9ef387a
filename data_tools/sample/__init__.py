"""The bundled, handwritten 12-language data (regenerate with `python -m data_tools.sample.build_sample`).

- SAMPLE_PATH: 792 harmful-request preference pairs, 66 per language (54 train, 12 test; refusal chosen,
  compliance opener rejected), split by (category, style) group. Source: build_sample.py.
- BENIGN_PAIRS_PATH: 288 harmless-request pairs, 24 per language (helpful answer chosen, refusal rejected),
  category "benign", all split "train", for training against over-refusal. Source: build_benign.py.
- BENIGN_EVAL_PATH: 192 harmless prompts, 16 per language, for measuring over-refusal; their topics appear in no
  other bundled file. Read with `data_tools.benign.read_benign_prompts`. Source: build_benign.py.
"""

from pathlib import Path

SAMPLE_PATH = Path(__file__).with_name("refuseu_sample.jsonl")
BENIGN_PAIRS_PATH = Path(__file__).with_name("benign_pairs.jsonl")
BENIGN_EVAL_PATH = Path(__file__).with_name("benign_eval.jsonl")


def bundled_or(path, word: str, file: Path = SAMPLE_PATH):
    """`file` when `path` is the configuration's word for the bundled data ("sample" in training configs, "bundled"
    in evaluation and abliteration configs), else `path` as given. The one place a config value becomes one of
    the files above."""
    return file if path == word else path
