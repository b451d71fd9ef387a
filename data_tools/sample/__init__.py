"""The bundled RefusEU sample: 192 handwritten preference pairs, 16 per language (see build_sample.py)."""

from pathlib import Path

SAMPLE_PATH = Path(__file__).with_name("refuseu_sample.jsonl")
