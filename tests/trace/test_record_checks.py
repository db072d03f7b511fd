"""The record checks (trace.complete, trace.logprobs, trace.model, trace.duplicate) on captured
records changed one field at a time: FAIL on the fault, PASS on the clean record, SKIP when the
store lacks the field."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest

from conformance.checking.api import Fail
from conformance.trace.checks import NotApplicable
from conformance.trace.faults import read_store
from conformance.trace.mapping import load_mapping
from conformance.trace.model import read_trace
from conformance.trace.record_checks import Seen, check_complete, check_duplicate, check_logprob_values, check_model

DATA = Path(__file__).resolve().parent / "data"
GATEWAY = load_mapping("rllm-gateway")


@pytest.fixture(scope="module")
def records():
    return read_store(DATA / "gateway-vllm.sqlite")


def as_trace(record, label="s/0", mapping=GATEWAY):
    return read_trace(record, mapping, where="t", session_hint=None, turn=0, session=label.split("/")[0])


def test_a_stream_without_finish_reason_is_partial(records):
    rec = copy.deepcopy(records["hello-stream/0"])
    assert check_complete(as_trace(rec), None, GATEWAY) is None
    rec["finish_reason"] = None
    with pytest.raises(Fail, match="no finish reason"):
        check_complete(as_trace(rec), None, GATEWAY)
    del rec["finish_reason"]
    with pytest.raises(Fail, match="no finish reason"):
        check_complete(as_trace(rec), None, GATEWAY)
    rec["finish_reason"] = "abort"  # miles #2589: in-flight requests aborted by a weight update
    with pytest.raises(Fail, match="aborted in flight"):
        check_complete(as_trace(rec), None, GATEWAY)


def test_complete_skips_when_the_mapping_has_no_finish_reason(tmp_path, records):
    path = tmp_path / "m.yaml"
    path.write_text("name: m\nfields: {prompt_ids: prompt_token_ids, completion_ids: completion_token_ids}\n")
    bare = load_mapping(path)
    with pytest.raises(NotApplicable, match="no finish_reason"):
        check_complete(as_trace(records["hello/0"], mapping=bare), None, bare)


@pytest.mark.parametrize("value", [0.7, float("nan"), float("inf"), "x", None])
def test_logprobs_that_are_not_log_probabilities(records, value):
    rec = copy.deepcopy(records["hello/0"])
    assert check_logprob_values(as_trace(rec), None, GATEWAY) == "compared logprobs"
    rec["logprobs"][2] = value
    with pytest.raises(Fail, match="not log-probabilities"):
        check_logprob_values(as_trace(rec), None, GATEWAY)


def test_logprob_zero_and_rounding_pass_and_no_logprobs_skip(records):
    rec = copy.deepcopy(records["hello/0"])
    rec["logprobs"][0], rec["logprobs"][1] = 0.0, 3e-6  # a certain token, a bf16 rounding
    assert check_logprob_values(as_trace(rec), None, GATEWAY) == "compared logprobs"
    rec["logprobs"] = None
    with pytest.raises(NotApplicable):
        check_logprob_values(as_trace(rec), None, GATEWAY)


def test_model_other_than_requested(records):
    rec = copy.deepcopy(records["hello/0"])
    assert check_model(as_trace(rec), None, GATEWAY) == "compared record model, raw response model"
    rec["raw_response"]["model"] = "other"
    with pytest.raises(Fail, match="the raw response says 'other'"):
        check_model(as_trace(rec), None, GATEWAY)
    stream = copy.deepcopy(records["hello-stream/0"])
    assert check_model(as_trace(stream), None, GATEWAY) == "compared record model"
    stream["model"] = "other"
    with pytest.raises(Fail, match="the record says 'other'"):
        check_model(as_trace(stream), None, GATEWAY)
    del stream["raw_request"]["model"]
    with pytest.raises(NotApplicable):
        check_model(as_trace(stream), None, GATEWAY)


def test_a_response_stored_twice(records):
    seen = Seen()
    first, other = as_trace(records["hello/0"], "hello/0"), as_trace(records["hello/1"], "hello/1")
    for trace in (first, other):
        assert check_duplicate(trace, None, GATEWAY, seen.note(trace)).startswith("compared the record and its response id")
    again = copy.deepcopy(records["hello/0"])
    again["trace_id"] = "another-write"  # a retried write: a new trace id, the same response
    with pytest.raises(Fail, match="response id and the record of hello/0"):
        trace = as_trace(again, "hello/9")
        check_duplicate(trace, None, GATEWAY, seen.note(trace))
    again["timestamp"] += 1  # written again later: the engine's response id still names it
    with pytest.raises(Fail, match="has the response id of hello/0"):
        trace = as_trace(again, "x/0")
        check_duplicate(trace, None, GATEWAY, seen.note(trace))
