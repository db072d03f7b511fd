"""JUnit XML: one testcase per check x case, FAIL as failure with the evidence, ERROR as error,
SKIP and INCONCLUSIVE as skipped with the reason."""
import xml.etree.ElementTree as ET

import pytest

from conformance.reporting.junit import build_junit, write_junit
from report_fixtures import every_outcome_report


@pytest.fixture(scope="module")
def report(vllm_recorded):
    return every_outcome_report(vllm_recorded)


@pytest.fixture(scope="module")
def parsed(report, tmp_path_factory):
    path = tmp_path_factory.mktemp("junit") / "out" / "results.xml"
    write_junit(report, path)
    return ET.parse(path).getroot()  # parses: well-formed XML on disk


def test_structure(report, parsed):
    assert parsed.tag == "testsuites"
    cases = parsed.findall("testsuite/testcase")
    assert len(cases) == len(report["results"])
    assert {(c.get("classname"), c.get("name")) for c in cases} == {(r["check"], r["case"]) for r in report["results"]}
    assert {s.get("name") for s in parsed.findall("testsuite")} == {r["check"] for r in report["results"]}
    for suite in parsed.findall("testsuite"):
        assert int(suite.get("tests")) == len(suite.findall("testcase"))
        assert int(suite.get("failures")) == len(suite.findall("testcase/failure"))
        assert int(suite.get("errors")) == len(suite.findall("testcase/error"))
        assert int(suite.get("skipped")) == len(suite.findall("testcase/skipped"))
        assert suite.find("properties/property[@name='dialect']").get("value") == "vllm"
    s = report["summary"]
    assert (parsed.get("tests"), parsed.get("failures"), parsed.get("errors"), parsed.get("skipped")) == \
        (str(len(report["results"])), str(s["FAIL"]), str(s["ERROR"]), str(s["SKIP"] + s["INCONCLUSIVE"]))


def _case(parsed, check, case):
    return parsed.find(f"testsuite/testcase[@classname='{check}'][@name='{case}']")


def test_failure_has_reason_and_divergence(report, parsed):
    failure = _case(parsed, "parity.stream_nonstream", "hello").find("failure")
    assert "first differ at index 13" in failure.get("message")
    assert "first divergence at index 13" in failure.text and ">>   13" in failure.text
    assert "request: " in failure.text and "response (excerpt)" in failure.text


def test_every_outcome_maps_to_its_element(report, parsed):
    want = {"PASS": None, "FAIL": "failure", "ERROR": "error", "SKIP": "skipped", "INCONCLUSIVE": "skipped"}
    for r in report["results"]:
        children = list(_case(parsed, r["check"], r["case"]))
        tag = want[r["outcome"]]
        assert [c.tag for c in children] == ([tag] if tag else []), (r["check"], r["case"], r["outcome"])
        if tag:
            message = children[0].get("message")
            assert r["reason"] in message
            if r["outcome"] == "INCONCLUSIVE":
                assert message.startswith("INCONCLUSIVE: ")


def test_control_characters_do_not_break_the_xml(report):
    import copy

    bad = copy.deepcopy(report)
    fail = next(r for r in bad["results"] if r["outcome"] == "FAIL" and "left_tokens" in r["evidence"])
    fail["reason"] += " \x00\x1b[31m"
    fail["evidence"]["left_tokens"][fail["evidence"]["first_divergence"] - 1] = "\x07"  # shown in the table
    root = ET.fromstring(ET.tostring(build_junit(bad)))
    failure = root.find(f"testsuite/testcase[@classname='{fail['check']}'][@name='{fail['case']}']/failure")
    assert "\\x00" in failure.get("message") and "\\x07" in failure.text
