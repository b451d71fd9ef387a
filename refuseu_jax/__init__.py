"""RefusEU-JAX: a Flax Llama, sharded DPO training, sampling and evaluation for multilingual refusal alignment."""
