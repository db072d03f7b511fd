"""The realistic fixture on real SGLang 0.5.23 (PyPI, on CPU with tokconf's sgl_kernel stand-in)
with its reasoning parser: `tokconf verify --engine sglang --model fixtures/tiny-think --cases
fixtures/cases/tiny-think.yaml --engine-arg=--reasoning-parser=qwen3`, one launch.

Zero false alarms: the FAILs left are the true findings fixtures/expectations/
sglang-0.5.23-tiny-think-qwen3.yaml declares and explains (metadata.weight_versions breaks the
openai SDK's schema; the parsers leave the '\\n\\n' before a tool call out of the reply, so the
next turn drifts), each seen as XFAIL. The same exchanges, recorded, are replayed in
tests/fixtures/test_tiny_think_recordings.py.
"""
import pytest

from sglang_venv import SGLANG_PYTHON, needs_sglang
from tiny_think import EXPECTATIONS, verify_finds_only_the_declared

pytestmark = [pytest.mark.engine, needs_sglang]


def test_tiny_think_on_sglang_with_its_reasoning_parser_fails_only_on_true_findings(tmp_path):
    results = verify_finds_only_the_declared(
        tmp_path, ["--engine", "sglang", "--engine-python", str(SGLANG_PYTHON), "--startup-timeout", "420",
                   "--engine-arg=--reasoning-parser=qwen3"],
        EXPECTATIONS / "sglang-0.5.23-tiny-think-qwen3.yaml")
    passed = {(r["check"], r["case"]) for r in results if r["outcome"] == "PASS"}
    # reasoning_content read against the ids, both ways, and SGLang's count of it checked
    assert {("decode.roundtrip.nonstream", "think_math"), ("decode.roundtrip.stream", "think_math"),
            ("usage.reasoning_tokens", "think_math"), ("usage.reasoning_tokens", "cjk_greeting")} <= passed
