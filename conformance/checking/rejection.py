"""What a clean refusal looks like: the rule shared by the n>1 and streaming-rejection checks.

A refusal is evidence about ONE field: the error must name the field under test (as a word of the
error's text, not a substring of any word: `n` is not in "invalid"), and the request must carry
that field and no other field the dialect says is refused the same way (a request carrying two
refused flags proves nothing about either)."""
from __future__ import annotations

import re
from typing import Any, Iterable

from conformance.checking.api import Fail, Inconclusive
from conformance.wire.exchange import Exchange, ExchangeError


PROMPT_KEYS = ("messages", "tools", "input_ids", "text", "model")  # what the request says, not how it asks


def require_rejection(ex: Exchange, what: str, names: Iterable[str] = ()) -> None:
    """A 4xx (not a 5xx, not a 200 that went ahead anyway) whose body is a JSON error object,
    with no stream chunks in it, and whose text names one of `names` (when given) as a word."""
    if ex.error:
        raise Fail(f"{what}: no HTTP response ({ex.error})")
    if ex.status is not None and 200 <= ex.status < 300:
        raise Fail(f"{what}: HTTP {ex.status}: served although the dialect must reject it with a 4xx",
                   body=ex.body[:500])
    if not (ex.status and 400 <= ex.status < 500):
        raise Fail(f"{what}: HTTP {ex.status}: a request the dialect does not support is the client's "
                   f"error (4xx), not a server error", body=ex.body[:500])
    if "data:" in ex.body:
        raise Fail(f"{what}: HTTP {ex.status} but the body holds stream chunks (a partial stream)", body=ex.body[:500])
    try:
        ex.json
    except ExchangeError:
        raise Fail(f"{what}: HTTP {ex.status} with a body that is not a JSON error object", body=ex.body[:500])
    require_names(ex, what, names)


def require_names(ex: Exchange, what: str, names: Iterable[str]) -> None:
    """The refusal's JSON error names one of `names` (the field(s) under test) as a word."""
    names = sorted(set(names))
    body = ex.json
    if names and not any(names_word(body, name) for name in names):
        raise Fail(f"{what}: the error names none of {names}, the field(s) under test: "
                   f"{' '.join(error_text(body))[:200]!r}", body=ex.body[:500], under_test=names)


def error_text(body: Any) -> list[str]:
    """Every string of a JSON error body (keys too: `{"detail": {"return_meta_info": ...}}`)."""
    if isinstance(body, dict):
        return [*map(str, body), *(s for v in body.values() for s in error_text(v))]
    if isinstance(body, list):
        return [s for v in body for s in error_text(v)]
    return [body] if isinstance(body, str) else []


def names_word(body: Any, name: str) -> bool:
    """Whether the error's text holds `name` as a word (not inside a longer identifier)."""
    pattern = re.compile(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])")
    return any(pattern.search(text) for text in error_text(body))


def require_alone(request: dict | None, under_test: Iterable[str], refused: Iterable[str], what: str) -> None:
    """The request carries a field under test and no other refused field: else the refusal is not
    evidence about the field under test (INCONCLUSIVE)."""
    sent = field_names({k: v for k, v in (request or {}).items() if k not in PROMPT_KEYS})
    carried = sorted(set(under_test) & sent)
    if not carried:
        raise Inconclusive(f"{what}: the request carries none of {sorted(set(under_test))}: its refusal says "
                           "nothing about them")
    others = sorted(set(refused) & sent - set(carried))
    if len(carried) > 1 or others:
        raise Inconclusive(f"{what}: the request carries {len(carried) + len(others)} refused fields "
                           f"({', '.join(carried + others)}): a refusal proves nothing about either; each must be "
                           "sent alone")


def field_names(fields: Any) -> set[str]:
    """Every key and string value of a request opt-in (nvext, extra_fields, completion_token_ids…)."""
    if isinstance(fields, dict):
        return set(fields).union(*(field_names(v) for v in fields.values()))
    if isinstance(fields, list):
        return set().union(*(field_names(v) for v in fields))
    return {fields} if isinstance(fields, str) else set()
