"""The exchanges a result rests on, as report evidence: the request sent and, for a result that
did not pass, an excerpt of the raw response. Read from the store's cache: never sends."""
from __future__ import annotations

import json
from typing import Any

EXCERPT_CHARS = 4000  # per response; a stream's head and tail are kept (ids often sit in the last chunks)


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    if len(text) <= limit:
        return text
    head = limit * 2 // 3
    tail = limit - head
    return f"{text[:head]}\n… [{len(text) - limit} characters cut] …\n{text[-tail:]}"


def exchange_evidence(target, case, variants: tuple[str, ...], with_response: bool) -> list[dict[str, Any]]:
    out = []
    for variant in variants:
        try:
            spec = target.request(case, variant)
        except Exception:  # a follow-up whose base reply cannot be built on: nothing was sent
            continue
        peek = getattr(target.store, "peek", None)
        ex = peek(spec) if peek else None
        item: dict[str, Any] = {"variant": variant, "method": spec.method, "path": spec.path, "request": spec.body}
        if ex is not None:
            item.update(status=ex.status, elapsed=round(ex.elapsed, 4))
            if ex.error:
                item["error"] = ex.error
            if with_response:
                item["response_excerpt"] = excerpt(ex.body)
            if ex.side_source:  # a side-channel dialect: where the ids the checks read came from
                item["side_source"] = ex.side_source
                if with_response:
                    item["side_excerpt"] = ex.side_error or excerpt(json.dumps(ex.side, ensure_ascii=False))
        out.append(item)
    return out
