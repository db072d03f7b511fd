"""A result's evidence as plain text: for JUnit failure bodies and Markdown details."""
from __future__ import annotations

import json
from typing import Any

from conformance.reporting.divergence import KEYS, is_divergence, plain_table

DIVERGENCE_KEYS = set(KEYS) | {"left_name", "right_name", "left_tokens", "right_tokens", "left_context", "right_context"}


def result_label(result: dict[str, Any]) -> str:
    return f"{result['check']}[{result['case']}]" if result.get("case") else result["check"]


def evidence_text(result: dict[str, Any], with_exchanges: bool = True, with_responses: bool = True) -> str:
    parts = [result.get("reason") or ""]
    evidence = result.get("evidence") or {}
    if is_divergence(evidence):
        parts.append(plain_table(evidence))
    rest = {k: v for k, v in evidence.items() if k not in DIVERGENCE_KEYS and k != "traceback"}
    if rest:
        parts.append("evidence: " + json.dumps(rest, ensure_ascii=False, indent=1)[:3000])
    if evidence.get("traceback"):
        parts.append("traceback:\n" + evidence["traceback"])
    for ex in (result.get("exchanges") or []) if with_exchanges else []:
        head = f"{ex['variant']}: {ex['method']} {ex['path']} -> {ex.get('status', 'not sent')}"
        if ex.get("error"):
            head += f" ({ex['error']})"
        parts.append(head + "\nrequest: " + json.dumps(ex.get("request"), ensure_ascii=False))
        if with_responses and ex.get("response_excerpt"):
            parts.append("response (excerpt):\n" + ex["response_excerpt"])
    return "\n\n".join(p for p in parts if p)
