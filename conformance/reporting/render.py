"""A report document rendered to text in a named format (tokconf report)."""
from __future__ import annotations

import json
from typing import Any


def render(report: dict[str, Any], fmt: str) -> str:
    if fmt == "markdown":
        from conformance.reporting.markdown import render_markdown

        return render_markdown(report)
    if fmt == "html":
        from conformance.reporting.html import render_html

        return render_html(report)
    if fmt == "junit":
        from conformance.reporting.junit import render_junit

        return render_junit(report)
    if fmt == "json":
        return json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    raise ValueError(f"unknown format {fmt!r}")
