"""JUnit XML, the shape CI systems render (Jenkins, GitLab, GitHub test reporters): one
<testsuite> per check, one <testcase> per check x case. FAIL is a <failure>, ERROR an <error>,
SKIP and INCONCLUSIVE are <skipped> with their reason (an INCONCLUSIVE is never a pass).
Expectation outcomes: XFAIL and INTERMITTENT are <skipped>, XPASS (a stale expectation) a <failure>."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from conformance.reporting.outcome_style import style
from conformance.reporting.text import evidence_text

WHOLE_CHECK = "(all cases)"  # the case name of a result that covers a check as a whole
PROPERTIES = ("engine", "base_url", "model", "tokenizer", "dialect", "host", "started_at", "finished_at", "tokconf_version")


def _clean(text: str) -> str:
    """XML 1.0 cannot carry most control characters; show them escaped instead of writing bad XML."""
    return "".join(c if c in "\t\n\r" or (ord(c) >= 0x20 and ord(c) not in (0xFFFE, 0xFFFF) and not 0xD800 <= ord(c) <= 0xDFFF)
                   else f"\\x{ord(c):02x}" for c in text)


def _counts(results: list[dict[str, Any]]) -> dict[str, str]:
    n = lambda element: str(sum(style(r["outcome"]).junit == element for r in results))  # noqa: E731
    return {"tests": str(len(results)), "failures": n("failure"), "errors": n("error"),
            "skipped": n("skipped"), "time": f"{sum(r.get('duration') or 0 for r in results):.3f}"}


def build_junit(report: dict[str, Any]) -> ET.Element:
    info = report.get("run_info") or {}
    root = ET.Element("testsuites", name="tokconf", **_counts(report["results"]))
    by_check: dict[str, list[dict[str, Any]]] = {}
    for r in report["results"]:
        by_check.setdefault(r["check"], []).append(r)
    for check, results in by_check.items():
        suite = ET.SubElement(root, "testsuite", name=check, **_counts(results),
                              timestamp=str(info.get("started_at", "")), hostname=str(info.get("host", "")))
        props = ET.SubElement(suite, "properties")
        for key in PROPERTIES:
            if info.get(key) is not None:
                ET.SubElement(props, "property", name=key, value=_clean(str(info[key])))
        version = (info.get("engine_version") or {}).get("version")
        if version:
            ET.SubElement(props, "property", name="engine_version", value=_clean(version))
        for r in results:
            case = ET.SubElement(suite, "testcase", classname=check, name=r.get("case") or WHOLE_CHECK,
                                 time=f"{r.get('duration') or 0:.3f}")
            outcome, reason = r["outcome"], _clean(r.get("reason") or "")
            element = style(outcome).junit
            if element in ("failure", "error"):
                ET.SubElement(case, element, message=reason, type=outcome).text = _clean(evidence_text(r))
            elif element == "skipped":
                # pytest's convention for xfail: skipped, the kind in `type`, the reason as message
                message = reason if outcome == "SKIP" else f"{outcome}: {reason}"
                skipped = ET.SubElement(case, "skipped", message=message, type=outcome)
                if outcome != "SKIP":
                    skipped.text = _clean(evidence_text(r, with_exchanges=False))
    return root


def render_junit(report: dict[str, Any]) -> str:
    root = build_junit(report)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(report: dict[str, Any], path: Path) -> None:
    from conformance.reporting.sink import write_text

    write_text(path, render_junit(report))
