"""JUnit XML: one testcase per check x case, for CI systems that show test results."""
from conformance.reporting.formats import ReportFormat, register_format


def _render(report):
    from conformance.reporting.junit import render_junit

    return render_junit(report)


register_format(ReportFormat("junit", "--junit-xml", "Write a JUnit XML report here (one testcase per check x case; '-': stdout).",
                             render=_render, rank=1))
