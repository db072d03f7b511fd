"""HTML: one self-contained page, token divergences side by side."""
from conformance.reporting.formats import ReportFormat, register_format


def _render(report):
    from conformance.reporting.html import render_html

    return render_html(report)


register_format(ReportFormat("html", "--html", "Write a self-contained HTML report here (token divergences side by side; '-': stdout).",
                             render=_render, rank=3))
