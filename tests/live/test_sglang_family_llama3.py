"""The Llama-3-family fixture on real SGLang 0.5.23 (PyPI, on CPU with tokconf's sgl_kernel
stand-in): tiny-llama3 (Llama 3's tokenizer from the llama-models package, Llama 3.1's template,
generation_config's three end tokens) with its own cases, served with the tool parser tokconf picks
for the family (SGLang's llama3, from the template's ipython markers), one launch, through tokconf's CLI.

Zero false alarms: every FAIL is a true finding declared, with its wire proof and SGLang's source,
in fixtures/expectations/sglang-0.5.23-tiny-llama3.yaml (a tool field the client did not send in the
rendered prompt, the text the streaming parser then drops, the metadata the openai SDK rejects), so
the run exits 0 with no FAIL, XPASS or ERROR, and each declared finding is really seen. The same
exchanges, recorded, are replayed in tests/fixtures/test_tiny_llama3_recording.py.
"""
import pytest

from sglang_venv import SGLANG_PYTHON, needs_sglang
from tiny_think import EXPECTATIONS, verify_finds_only_the_declared

pytestmark = [pytest.mark.engine, needs_sglang]

TINY_LLAMA3 = ["--model", "fixtures/tiny-llama3", "--cases", "fixtures/cases/tiny-llama3.yaml"]


def test_tiny_llama3_on_sglang_fails_only_on_true_findings(tmp_path):
    results = verify_finds_only_the_declared(
        tmp_path, ["--engine", "sglang", "--engine-python", str(SGLANG_PYTHON), "--startup-timeout", "420"],
        EXPECTATIONS / "sglang-0.5.23-tiny-llama3.yaml", model_args=TINY_LLAMA3, min_pass=150)
    passed = {(r["check"], r["case"]) for r in results if r["outcome"] == "PASS"}
    # the ipython call ends at <|eom_id|> (128008), from generation_config.json only, counted as the
    # EOS; prompts without tools are the client's, BOS once
    assert {("finish.eos.nonstream", "python_eom"), ("finish.eos.stream", "python_eom"),
            ("template.prompt_ids", "hello"), ("template.prompt_ids", "python_eom"),
            ("template.bos", "hello"), ("multiturn.prefix", "hello")} <= passed
