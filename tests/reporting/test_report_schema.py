"""The JSON report: valid against the shipped schema, with run info and per-result evidence
(requests, response excerpts for what did not pass, both id sequences decoded at the divergence)."""
import copy
import json

import pytest

from conformance.reporting.schema import SCHEMA_PATH, report_schema, schema_errors
from report_fixtures import every_outcome_report


@pytest.fixture(scope="module")
def report(vllm_recorded):
    return every_outcome_report(vllm_recorded)


def test_schema_ships_in_the_package():
    import conformance

    assert SCHEMA_PATH.is_relative_to(__import__("pathlib").Path(conformance.__file__).parent)
    assert report_schema()["title"] == "tokconf report"


def test_report_with_every_outcome_is_valid(report):
    assert schema_errors(report) == []
    assert report["format"] == "tokconf-report" and report["format_version"] == 1
    assert {r["outcome"] for r in report["results"]} == {"PASS", "FAIL", "SKIP", "INCONCLUSIVE", "ERROR"}


@pytest.mark.parametrize("breakage,where", [
    (lambda r: r["results"][0].update(outcome="MAYBE"), "results/0/outcome"),
    (lambda r: r["run_info"].pop("dialect"), "run_info"),
    (lambda r: r["results"][0].pop("check"), "results/0"),
    (lambda r: r["results"][0]["evidence"].update(first_divergence=3), "results/0/evidence"),
    (lambda r: r["summary"].pop("ERROR"), "summary"),
])
def test_schema_rejects_a_broken_report(report, breakage, where):
    broken = copy.deepcopy(report)
    breakage(broken)
    errors = schema_errors(broken)
    assert errors and any(e.startswith(where) for e in errors), errors


def test_divergence_evidence_has_both_sequences_decoded(report, tokenizer):
    fail = next(r for r in report["results"] if r["check"] == "parity.stream_nonstream" and r["case"] == "hello")
    ev = fail["evidence"]
    assert fail["outcome"] == "FAIL" and ev["first_divergence"] == 13
    assert ev["left_tokens"] == [tokenizer.token_text(i) for i in ev["left"]]
    assert ev["right_tokens"] == [tokenizer.token_text(i) for i in ev["right"]]
    assert len(ev["left"]) == 14 and len(ev["right"]) == 13


def test_results_carry_the_requests_and_failures_the_responses(report):
    by_outcome = {}
    for r in report["results"]:
        by_outcome.setdefault(r["outcome"], []).append(r)
    for r in by_outcome["PASS"]:
        assert r["exchanges"] and all("request" in e and "response_excerpt" not in e for e in r["exchanges"])
    fail = next(r for r in by_outcome["FAIL"] if r["check"] == "parity.stream_nonstream")
    assert [e["variant"] for e in fail["exchanges"]] == ["nonstream", "stream"]
    stream = fail["exchanges"][1]
    assert stream["request"]["stream"] is True and stream["status"] == 200
    assert '"token_ids"' in stream["response_excerpt"] or "token_ids" in stream["response_excerpt"]
    for r in by_outcome["SKIP"]:
        assert r["exchanges"] == []  # nothing was sent for a skipped check, and the report sends nothing
    error = by_outcome["ERROR"][0]
    assert "no recorded exchange" in error["reason"] and "status" not in error["exchanges"][0]


def test_stored_report_round_trips_through_result(report):
    from conformance.reporting.document import report_results

    again = [r.to_json() for r in report_results(json.loads(json.dumps(report)))]
    assert again == report["results"]
