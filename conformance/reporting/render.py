"""A report document rendered to text in a named format (tokconf report)."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any


def render(report: dict[str, Any], fmt: str) -> str:
    if fmt == "markdown":
        from conformance.reporting.markdown import render_markdown

        return render_markdown(report)
    if fmt == "html":
        from conformance.reporting.html import render_html

        return render_html(report)
    if fmt == "junit":
        from conformance.reporting.junit import build_junit

        root = build_junit(report)
        ET.indent(root)
        return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
    if fmt == "json":
        return json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    raise ValueError(f"unknown format {fmt!r}")
