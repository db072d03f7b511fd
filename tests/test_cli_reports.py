"""`tokconf verify` writes every report format; secrets stay out of all of them."""
import json
import xml.etree.ElementTree as ET

import pytest

from conformance.reporting.schema import schema_errors
from support import ROOT, tokconf
from replay_server import ReplayServer
from test_progress import phase_lines

SECRET = "sk-tokconf-test-secret-4242"


@pytest.fixture(scope="module")
def verified(vllm_recorded, tmp_path_factory):
    """One verify run against a server replaying the recorded vLLM exchanges, one fault injected."""
    out = tmp_path_factory.mktemp("verify")
    summary = out / "step_summary.md"
    summary.write_text("# earlier\n")
    with ReplayServer(vllm_recorded.exchanges(fault="stream.drop_eos", case="hello"), version="0.32.0") as server:
        res = tokconf("verify", "--base-url", server.base_url, "--model", "tiny-chat", "--tokenizer",
                      str(ROOT / "fixtures" / "tiny-chat"), "--report-dir", str(out / "runs"), "--api-key", SECRET,
                      "--json", str(out / "r.json"), "--junit-xml", str(out / "r.xml"),
                      "--markdown", str(out / "r.md"), "--html", str(out / "r.html"),
                      "-k", "not tokenin.followed and not abort",  # tokenin.followed: its requests are in no recording (the replay
                      # answers 404); abort.client_cancel sends its own while it runs, outside the progress phases
                      env={"GITHUB_STEP_SUMMARY": str(summary), "COLUMNS": "200"})
        assert server.received and all(r["authorization"] == f"Bearer {SECRET}" for r in server.received)
    return res, out


def test_verify_writes_every_format(verified):
    res, out = verified
    assert res.returncode == 1, res.stderr  # the injected fault fails four checks
    report = json.loads((out / "r.json").read_text())
    n = len(report["results"])
    lines = res.stderr.splitlines()  # not a terminal: a line as each phase starts and ends
    phases = phase_lines(lines[:6])  # requests, follow-ups (built from their replies), checks: overlapping
    assert list(phases) == ["sending requests", "sending follow-ups", "running checks"]
    assert phases["sending requests"] + phases["sending follow-ups"] == report["run_info"]["requests_sent"]
    assert phases["running checks"] == n and lines[5].startswith(f"running checks: {n}/{n} in")
    assert schema_errors(report) == []
    info = report["run_info"]
    assert info["engine_version"] == {"version": "0.32.0", "source": "GET /version"}
    assert info["finished_at"] >= info["started_at"] and info["dialect"] == "vllm" and info["host"]
    assert info["tokconf_argv"][:2] == ["tokconf", "verify"] and "***" in info["tokconf_argv"]
    assert report["summary"]["FAIL"] == 4 and report["summary"]["ERROR"] == 0
    root = ET.parse(out / "r.xml").getroot()
    assert root.get("failures") == "4" and len(root.findall("testsuite/testcase")) == len(report["results"])
    md = (out / "r.md").read_text()
    assert "parity.stream_nonstream[hello]" in md
    assert (out / "step_summary.md").read_text() == "# earlier\n" + md
    assert "first divergence at index 13" in (out / "r.html").read_text()


def test_no_secret_in_any_output(verified):
    res, out = verified
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) >= 6
    for path in files:
        assert SECRET not in path.read_text(errors="replace"), path
    assert SECRET not in res.stdout + res.stderr
