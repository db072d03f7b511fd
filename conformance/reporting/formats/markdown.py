"""Markdown: a summary for a pull request or a CI job page ($GITHUB_STEP_SUMMARY)."""
from conformance.reporting.formats import ReportFormat, register_format


def _render(report):
    from conformance.reporting.markdown import render_markdown

    return render_markdown(report)


def _write(report, path):
    from conformance.reporting.markdown import write_markdown

    write_markdown(report, path)  # also appended to $GITHUB_STEP_SUMMARY when set


register_format(ReportFormat("markdown", "--markdown", "Write a Markdown summary here (also appended to $GITHUB_STEP_SUMMARY when set; '-': stdout).",
                             render=_render, write=_write, rank=2))
