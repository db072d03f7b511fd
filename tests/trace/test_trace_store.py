"""`tokconf trace` over a store captured from the real rllm-model-gateway in front of real vLLM
(data/gateway-vllm.sqlite, scripts/capture_gateway_store.py): the clean store passes with its
declared findings, every stored-data fault is detected, a corrupt row is an ERROR row."""
from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from support import tokconf as run_tokconf
from conformance.checking.client_tokenizer import Tokenizer
from conformance.outcomes import Outcome
from conformance.trace.command import run_trace
from conformance.trace.faults import fault_catalogue, read_store, write_faulty_store
from conformance.inputs.expectations import apply_expectations, load_expectations, run_failed

DATA = Path(__file__).resolve().parent / "data"
STORE = DATA / "gateway-vllm.sqlite"
EXPECTED = DATA / "gateway-vllm.expectations.yaml"
TOKENIZER = DATA / "tokenizer"  # the fixture model's tokenizer as it was when the store was captured


@pytest.fixture(scope="module")
def tok():
    return Tokenizer.load(TOKENIZER)


def trace(source, **kw):
    kw = {"mapping_name": "rllm-gateway", "tokenizer": str(TOKENIZER), "session": None, "checks": None,
          "api_key": None, "argv": [], **kw}
    report, results, _, traces = run_trace(str(source), **kw)
    return results, traces


@pytest.fixture(scope="module")
def clean_results():
    return trace(STORE)[0]


def tokconf(*args):
    res = run_tokconf(*args)
    res.stderr = " ".join(res.stderr.split())  # rich wraps long lines
    return res

def test_clean_store_passes_with_its_declared_findings(tmp_path):
    res = tokconf("trace", str(STORE), "--tokenizer", str(TOKENIZER), "--expectations", str(EXPECTED),
                  "--json", str(tmp_path / "r.json"), "--junit-xml", str(tmp_path / "r.xml"))
    assert res.returncode == 0, res.stdout + res.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["run_info"]["traces"] == len(read_store(STORE))
    assert report["summary"]["PASS"] > 300 and report["summary"]["FAIL"] == 0 and report["summary"]["ERROR"] == 0
    assert (tmp_path / "r.xml").read_text().count("<testcase") == len(report["results"])


def test_without_expectations_the_findings_fail_the_run(tmp_path, clean_results):
    failed = {(r.check, r.case) for r in clean_results if r.outcome is Outcome.FAIL}
    declared = {(e.check, e.case) for e in load_expectations(EXPECTED)}
    assert failed == declared
    res = tokconf("trace", str(STORE), "--tokenizer", str(TOKENIZER))
    assert res.returncode == 1
    assert "trace.choices[haiku-n2/0]" in res.stdout


def test_every_check_ran_and_passed_somewhere(clean_results):
    from conformance.trace.checks import TRACE_CHECKS

    passed = {r.check for r in clean_results if r.outcome is Outcome.PASS}
    # trace.choices applies to n > 1 only, where a one-choice record always loses choices
    assert passed == set(TRACE_CHECKS) - {"trace.choices"}


def test_stream_tool_call_fragments_are_joined(clean_results):
    """The gateway stores a stream's tool calls as raw delta fragments; the decode rule joins them."""
    records = read_store(STORE)
    rec = records["weather_tools-stream/0"]
    assert len(rec["response_message"]["tool_calls"]) > 1  # fragments, not one call
    got = {(r.check, r.case): r for r in clean_results}
    assert got[("trace.decode", "weather_tools-stream/0")].outcome is Outcome.PASS


@pytest.mark.parametrize("fault", fault_catalogue(), ids=lambda f: f.name)
def test_stored_data_fault_is_detected(tmp_path, tok, fault):
    faulty = write_faulty_store(STORE, tmp_path / "faulty.sqlite", fault, tok)
    results, _ = trace(faulty)
    results, _ = apply_expectations(results, load_expectations(EXPECTED))
    assert run_failed(results)
    failed = {r.check for r in results if r.outcome is Outcome.FAIL}
    assert set(fault.detected_by) <= failed, (fault.name, sorted(failed))
    sessions = {label.split("/")[0] for label in (fault.target, *fault.also)}
    assert all(r.case.split("/")[0] in sessions for r in results if r.outcome is Outcome.FAIL)


def test_corrupt_row_is_an_error_row_and_the_run_goes_on(tmp_path):
    store = tmp_path / "s.sqlite"
    shutil.copyfile(STORE, store)
    victim = read_store(STORE)["french/1"]["trace_id"]
    with sqlite3.connect(store) as conn:
        conn.execute("UPDATE traces SET data = ? WHERE trace_id = ?", ('{"trace_id": "x", "prompt_tok', victim))
    results, traces = trace(store)
    errors = [r for r in results if r.outcome is Outcome.ERROR]
    assert [(r.check, r.case) for r in errors] == [("trace.record", "french/?")]
    assert "not JSON" in errors[0].reason
    assert traces == len(read_store(STORE))
    assert sum(r.outcome is Outcome.PASS for r in results) > 300


def test_one_session(clean_results):
    results, traces = trace(STORE, session="weather_tools")
    assert traces == 4 and {r.case.split("/")[0] for r in results} == {"weather_tools"}


def test_generic_mapping_reads_jsonl(tmp_path, clean_results):
    """The same traces written by "another pipeline" in the generic JSONL shape give the same verdicts."""
    lines = []
    for label, rec in read_store(STORE).items():
        req = rec.get("raw_request") or {}
        lines.append(json.dumps({
            "id": rec["trace_id"], "session_id": rec["session_id"], "turn": label.split("/")[1],
            "messages": rec["messages"], "tools": req.get("tools"),
            "prompt_ids": rec["prompt_token_ids"], "completion_ids": rec["completion_token_ids"],
            "response": rec["response_message"], "finish_reason": rec["finish_reason"], "logprobs": rec["logprobs"],
            "usage": {"prompt_tokens": rec["token_counts"].get("prompt"),
                      "completion_tokens": rec["token_counts"].get("completion")},
            "sampling": {k: req[k] for k in ("stop", "max_tokens", "n") if k in req}}))
    path = tmp_path / "rollouts.jsonl"
    path.write_text("\n".join(lines) + "\n\nnot json\n", encoding="utf-8")
    results, traces = trace(path, mapping_name="generic")
    assert traces == len(lines) + 1
    got = {(r.check, r.case): r.outcome for r in results}
    unmapped = ("trace.raw", "trace.session", "trace.model")  # these lines keep no raw response, filing or model
    want = {(r.check, r.case): r.outcome for r in clean_results if r.check not in unmapped}
    assert {k: v for k, v in got.items() if k[0] not in ("trace.record", *unmapped)} == want
    assert {v for k, v in got.items() if k[0] in unmapped} == {Outcome.SKIP}
    assert [r.check for r in results if r.outcome is Outcome.ERROR] == ["trace.record"]


def test_usage_errors(tmp_path):
    bad = tmp_path / "m.yaml"
    bad.write_text("name: x\nfields: {prompt_ids: a, completion_ids: b, colour: c}\n")
    res = tokconf("trace", str(STORE), "--tokenizer", str(TOKENIZER), "--mapping", str(bad))
    assert res.returncode == 2 and "unknown fields ['colour']" in res.stderr
    res = tokconf("trace", str(tmp_path / "none.jsonl"), "--tokenizer", str(TOKENIZER))
    assert res.returncode == 2 and "no such file" in res.stderr
    res = tokconf("trace", str(STORE), "--tokenizer", str(TOKENIZER), "--check", "nope")
    assert res.returncode == 2 and "selects no check" in res.stderr
