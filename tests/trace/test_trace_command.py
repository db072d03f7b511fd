"""`tokconf trace` streams: the JSON report is written result by result (the same document the
in-memory run builds), the other formats are rendered from it, only a tally stays in memory;
and `-k` selects trace checks as it selects verify's."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from support import ROOT, tokconf as run_tokconf
from conformance.inputs.expectations import apply_expectations, load_expectations, run_failed
from conformance.outcomes import Outcome
from conformance.trace.checks import TRACE_CHECKS
from conformance.trace.command import SHOW_NOTABLE, Tally, run_trace
from test_trace_store import EXPECTED, STORE, TOKENIZER


def tokconf(*args):
    res = run_tokconf("trace", STORE, "--tokenizer", TOKENIZER, *args)
    res.stderr = " ".join(res.stderr.split())  # rich wraps long lines
    return res

@pytest.fixture(scope="module")
def in_memory():
    report, results, _, _ = run_trace(str(STORE), mapping_name="rllm-gateway", tokenizer=str(TOKENIZER), session=None,
                                      checks=None, api_key=None, argv=[])
    return report, results


def comparable(report):
    return [{k: v for k, v in r.items() if k != "duration"} for r in report["results"]]


def test_streamed_json_report_is_the_in_memory_document(tmp_path, in_memory):
    res = tokconf("--json", str(tmp_path / "r.json"))
    assert res.returncode == 1, res.stderr  # the gateway's findings, without their expectations
    streamed = json.loads((tmp_path / "r.json").read_text())
    report, _ = in_memory
    assert set(streamed) == set(report)
    assert comparable(streamed) == comparable(report)
    assert streamed["summary"] == report["summary"]
    assert streamed["run_info"]["traces"] == report["run_info"]["traces"] > 0
    assert {k for k in streamed["run_info"]} == {k for k in report["run_info"]}


def test_json_to_stdout_holds_the_report_alone_and_other_formats_render_from_the_stream(tmp_path, in_memory):
    res = tokconf("--json", "-", "--junit-xml", str(tmp_path / "r.xml"), "--markdown", str(tmp_path / "r.md"),
                  "--expectations", str(EXPECTED))
    assert res.returncode == 0, res.stderr
    streamed = json.loads(res.stdout)  # the terminal table went to stderr
    assert "tokconf trace" in res.stderr
    assert streamed["run_info"]["expectations"] == str(EXPECTED)
    assert streamed["summary"]["XFAIL"] == len(load_expectations(EXPECTED)) and streamed["summary"]["FAIL"] == 0
    assert (tmp_path / "r.xml").read_text().count("<testcase") == len(streamed["results"])
    assert (tmp_path / "r.md").read_text().strip()
    assert len(streamed["results"]) == len(in_memory[1])


def test_junit_alone_needs_no_json_path(tmp_path, in_memory):
    res = tokconf("--junit-xml", str(tmp_path / "r.xml"))
    assert res.returncode == 1
    assert (tmp_path / "r.xml").read_text().count("<testcase") == len(in_memory[1])
    assert list(tmp_path.iterdir()) == [tmp_path / "r.xml"]


def test_tally_agrees_with_the_results_it_counted(in_memory):
    _, results = in_memory
    for expectations in ([], load_expectations(EXPECTED)):
        applied, _ = apply_expectations(results, expectations)
        tally = Tally()
        for r in applied:
            tally.add(r)
        assert tally.results == len(applied)
        assert tally.failed(strict=True) == run_failed(applied, True)
        assert tally.nothing_checked() is False
        notable = [r for r in applied if r.outcome not in (Outcome.PASS, Outcome.SKIP)]
        assert tally.notable == notable[:SHOW_NOTABLE] and tally.notable_total == len(notable)


def test_select_by_check_id_and_expression(tmp_path):
    res = tokconf("-k", "session.prefix", "--json", str(tmp_path / "a.json"))
    checks = {r["check"] for r in json.loads((tmp_path / "a.json").read_text())["results"]}
    assert checks == {"session.prefix"}
    res = tokconf("-k", "trace and not trace.raw and not trace.session", "--json", str(tmp_path / "b.json"))
    checks = {r["check"] for r in json.loads((tmp_path / "b.json").read_text())["results"]}
    assert checks == {c for c in TRACE_CHECKS if c.startswith("trace.")} - {"trace.raw", "trace.session"}
    res = tokconf("-k", "trace.choices[haiku-n2/0] or trace.decode[hello/0]", "--expectations", str(EXPECTED),
                  "--json", str(tmp_path / "c.json"))
    assert res.returncode == 0, res.stderr
    results = json.loads((tmp_path / "c.json").read_text())["results"]
    assert {(r["check"], r["case"], r["outcome"]) for r in results} == {("trace.choices", "haiku-n2/0", "XFAIL"),
                                                                        ("trace.decode", "hello/0", "PASS")}


def test_select_that_names_nothing_is_a_usage_error(tmp_path):
    res = tokconf("-k", "nope", "--json", str(tmp_path / "r.json"))
    assert res.returncode == 2 and "selects no trace check" in res.stderr
    res = tokconf("-k", "trace and (", "--json", str(tmp_path / "r.json"))
    assert res.returncode == 2 and "-k 'trace and ('" in res.stderr
    assert not (tmp_path / "r.json").exists()  # nothing checked: no report that could pass for one


def test_a_mapping_that_finds_no_ids_is_one_line_and_exit_2():
    """The gateway's store read with the generic mapping gave 198 FAILs blamed on the data."""
    res = tokconf("--mapping", "generic")
    assert res.returncode == 2 and res.stdout == "", res.stdout[-2000:]
    line = res.stderr.strip()
    assert line.startswith("error: mapping 'generic' finds no ids in the first record")
    assert "prompt_ids at 'prompt_ids'" in line and "prompt_token_ids" in line  # where it looked, what is there


def test_a_record_without_ids_further_on_is_the_data_s_fault(tmp_path):
    """Only the first record decides the mapping: a later record without ids is a finding on that record."""
    good = {"messages": [{"role": "user", "content": "hi"}], "prompt_ids": [1, 2], "completion_ids": [3],
            "response": {"role": "assistant", "content": "x"}, "finish_reason": "length"}
    path = tmp_path / "traces.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps({k: v for k, v in good.items() if not k.endswith("_ids")}) + "\n")
    res = subprocess.run([sys.executable, "-m", "conformance", "trace", str(path), "--tokenizer", str(TOKENIZER),
                          "--mapping", "generic", "--check", "trace.finish"], capture_output=True, text=True, cwd=ROOT,
                         timeout=300)
    assert res.returncode == 1 and "the record has no completion_ids" in res.stdout, res.stdout[-2000:] + res.stderr
