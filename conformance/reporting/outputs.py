"""Write a report document in every format asked for (verify and `tokconf report` share this)."""
from __future__ import annotations

from pathlib import Path
from typing import Any


def write_outputs(report: dict[str, Any], *, json_path: Path | None = None, junit_xml: Path | None = None,
                  markdown: Path | None = None, html: Path | None = None) -> list[Path]:
    from conformance.reporting.document import write_json

    written = []
    if json_path:
        write_json(report, json_path)
        written.append(json_path)
    if junit_xml:
        from conformance.reporting.junit import write_junit

        write_junit(report, junit_xml)
        written.append(junit_xml)
    if markdown:
        from conformance.reporting.markdown import write_markdown

        write_markdown(report, markdown)  # also appended to $GITHUB_STEP_SUMMARY when set
        written.append(markdown)
    if html:
        from conformance.reporting.html import write_html

        write_html(report, html)
        written.append(html)
    return written
