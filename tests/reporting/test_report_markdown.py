"""The Markdown summary: verdict, run info, matrix, and details for what did not pass; appended
to $GITHUB_STEP_SUMMARY when that is set."""
import pytest

from conformance.reporting.markdown import render_markdown, write_markdown
from report_fixtures import every_outcome_report


@pytest.fixture(scope="module")
def report(vllm_recorded):
    return every_outcome_report(vllm_recorded)


def test_summary_matrix_and_details(report):
    md = render_markdown(report)
    assert md.startswith("## tokconf verify: http://127.0.0.1:8000 0.32.0")
    assert "**❌ failed**" in md
    header = next(line for line in md.splitlines() if line.startswith("| check |"))
    cases = [c.strip() for c in header.strip("|").split("|")][1:]
    row = next(line for line in md.splitlines() if line.startswith("| `parity.stream_nonstream` |"))
    cells = [c.strip() for c in row.strip("|").split("|")][1:]
    assert dict(zip(cases, cells))["hello"] == "❌"
    not_passed = [r for r in report["results"] if r["outcome"] != "PASS"]
    assert md.count("<details>") == len(not_passed)
    assert "first divergence at index 13" in md
    assert "data: {" not in md  # raw stream bodies stay in the JSON and HTML reports


def test_passing_report_says_passed(vllm_recorded):
    from report_fixtures import recorded_report

    md = render_markdown(recorded_report(vllm_recorded))
    assert "**✅ passed**" in md
    matrix_rows = [line for line in md.splitlines() if line.startswith("| `")]
    assert matrix_rows and not any("❌" in line or "💥" in line for line in matrix_rows)


def test_appended_to_github_step_summary(report, tmp_path):
    summary = tmp_path / "step_summary.md"
    summary.write_text("earlier step\n")
    out = tmp_path / "summary.md"
    text = write_markdown(report, out, env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert out.read_text() == text
    assert summary.read_text() == "earlier step\n" + text
    write_markdown(report, None, env={})
    assert summary.read_text() == "earlier step\n" + text  # not set: untouched
