"""A Markdown summary (GitHub job summaries, PR comments): run info, counts, the check x case
matrix, then every result that did not pass with its reason and evidence in a <details> block."""
from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

from conformance.reporting.outcome_style import legend, rank, style
from conformance.reporting.text import evidence_text, result_label

NOT_APPLICABLE = "·"
MAX_DETAILS_CHARS = 6000  # per result; GitHub caps a step summary at 1 MiB


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _fence(text: str) -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}text\n{text}\n{fence}"


def matrix(results: list[dict[str, Any]]) -> list[str]:
    checks = list(dict.fromkeys(r["check"] for r in results))
    cases = list(dict.fromkeys(r["case"] for r in results if r.get("case")))
    cell = {(r["check"], r.get("case")): r["outcome"] for r in results}
    lines = ["| check | " + " | ".join(_cell(c) for c in cases) + " |",
             "|---|" + "---|" * len(cases)]
    for chk in checks:
        whole = cell.get((chk, None))
        row = [style(o).emoji if (o := cell.get((chk, case)) or whole) else NOT_APPLICABLE for case in cases]
        lines.append(f"| `{chk}` | " + " | ".join(row) + " |")
    return lines


def render_markdown(report: dict[str, Any], title: str | None = None) -> str:
    info, results = report.get("run_info") or {}, report["results"]
    counts = Counter(r["outcome"] for r in results)
    version = (info.get("engine_version") or {}).get("version")
    target = info.get("engine") or info.get("base_url") or info.get("source") or "?"  # source: tokconf trace
    out = [f"## {title or 'tokconf ' + info.get('command', 'verify')}: {target}{' ' + version if version else ''}", ""]
    verdict = "❌ failed" if any(style(r["outcome"]).failing for r in results) else "✅ passed"
    out.append(f"**{verdict}**: " + ", ".join(f"{style(k).emoji} {counts[k]} {k.lower()}" for k in sorted(counts, key=rank)))
    out += ["", "| | |", "|---|---|"]
    for key in ("engine", "base_url", "model", "tokenizer", "dialect", "host", "started_at", "finished_at",
                "tokconf_version"):
        if info.get(key) is not None:
            out.append(f"| {key} | `{_cell(info[key])}` |")
    if version:
        out.append(f"| engine_version | `{_cell(version)}` ({_cell(info['engine_version'].get('source', ''))}) |")
    out += ["", *matrix(results), "",
            legend([r["outcome"] for r in results], "emoji") + " · `·` not applicable", ""]
    notable = [r for r in results if r["outcome"] != "PASS"]
    if notable:
        out += ["### Not passed", ""]
    for r in notable:
        # requests, not raw responses: a summary stays short; the JSON and HTML reports carry the bodies
        text = evidence_text(r, with_exchanges=style(r["outcome"]).failing, with_responses=False)
        if len(text) > MAX_DETAILS_CHARS:
            text = text[:MAX_DETAILS_CHARS] + "\n… (cut; the JSON report has all of it)"
        out += [f"<details><summary>{style(r['outcome']).emoji} <b>{r['outcome']}</b> <code>{result_label(r)}</code>: "
                f"{_html_escape(r.get('reason') or '')[:300]}</summary>", "", _fence(text), "", "</details>", ""]
    return "\n".join(out) + "\n"


def _html_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def write_markdown(report: dict[str, Any], path: Path | None, env: dict[str, str] | None = None) -> str:
    """Write to `path` (if given) and append to $GITHUB_STEP_SUMMARY (if set). Returns the text."""
    return publish(render_markdown(report), path, env)


def publish(text: str, path: Path | None, env: dict[str, str] | None = None) -> str:
    if path:
        from conformance.reporting.sink import write_text

        write_text(path, text)
    summary = (os.environ if env is None else env).get("GITHUB_STEP_SUMMARY")
    if summary:
        from conformance.redact import redact_text

        with open(summary, "a", encoding="utf-8") as fh:
            fh.write(redact_text(text))
    return text
