"""Test setup: 8 fake CPU devices, set before jax is imported anywhere; one private model cache per session."""

import os
import shutil
import tempfile

os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8"
).strip()
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

# Every test that prepares SmolLM2 (GGUF -> HF, ~4 s) shares one copy in a private cache: tests never read or
# write the user's ~/.cache, and a stale cache there cannot make them pass.
SESSION_CACHE = tempfile.mkdtemp(prefix="refuseu-test-cache-")
os.environ["REFUSEU_CACHE"] = SESSION_CACHE

pytest_plugins = ["tests.servers.fixtures"]  # local OpenAI/DeepL protocol servers (tests/servers)


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(SESSION_CACHE, ignore_errors=True)
