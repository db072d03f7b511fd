"""`tokconf report RUN.json` re-renders a stored report exactly as the live run would have."""
import json
import xml.etree.ElementTree as ET

import pytest
from typer.testing import CliRunner

from conformance.cli import app
from conformance.reporting.html import render_html
from conformance.reporting.markdown import render_markdown
from report_fixtures import every_outcome_report

runner = CliRunner()


@pytest.fixture(scope="module")
def stored(vllm_recorded, tmp_path_factory):
    report = every_outcome_report(vllm_recorded)
    path = tmp_path_factory.mktemp("stored") / "results.json"
    path.write_text(json.dumps(report), encoding="utf-8")
    return report, path


def test_terminal(stored):
    report, path = stored
    res = runner.invoke(app, ["report", str(path)])
    assert res.exit_code == 0, res.output
    assert "tokconf verify: http://127.0.0.1:8000 0.32.0 / dialect vllm" in res.output
    assert "parity.stream_nonstream" in res.output and "FAIL" in res.output
    s = report["summary"]
    assert f"{s['PASS']} pass, {s['FAIL']} fail" in res.output


def test_markdown_html_junit_json(stored, tmp_path):
    report, path = stored
    res = runner.invoke(app, ["report", str(path), "--format", "markdown"])
    assert res.exit_code == 0 and res.stdout == render_markdown(report)
    res = runner.invoke(app, ["report", str(path), "-f", "html", "-o", str(tmp_path / "r.html")])
    assert res.exit_code == 0 and (tmp_path / "r.html").read_text() == render_html(report)
    res = runner.invoke(app, ["report", str(path), "-f", "junit"])
    assert len(ET.fromstring(res.stdout.encode()).findall("testsuite/testcase")) == len(report["results"])
    res = runner.invoke(app, ["report", str(path), "-f", "json"])
    assert json.loads(res.stdout) == report


@pytest.mark.parametrize("content,args,words", [
    (None, [], "cannot read report"),
    ("not json", [], "is not JSON"),
    ('{"a": 1}', [], "not a tokconf report"),
    ('{"results": []}', ["-f", "pdf"], "unknown --format"),
])
def test_bad_input_exits_2(tmp_path, content, args, words):
    path = tmp_path / "r.json"
    if content is not None:
        path.write_text(content)
    res = runner.invoke(app, ["report", str(path), *args])
    assert res.exit_code == 2 and words in " ".join(res.output.split())
