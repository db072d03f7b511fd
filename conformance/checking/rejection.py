"""What a clean refusal looks like: the rule shared by the n>1 and streaming-rejection checks."""
from __future__ import annotations

from typing import Any, Iterable

from conformance.checking.api import Fail
from conformance.wire.exchange import Exchange, ExchangeError


def require_rejection(ex: Exchange, what: str, names: Iterable[str] = ()) -> None:
    """A 4xx (not a 5xx, not a 200 that went ahead anyway) whose body is a JSON error object,
    with no stream chunks in it, and which mentions one of `names` (when given)."""
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
    names = sorted(set(names))
    if names and not any(name in ex.body for name in names):
        raise Fail(f"{what}: the error body names none of {names}", body=ex.body[:500])


def field_names(fields: Any) -> set[str]:
    """Every key and string value of a request opt-in (nvext, extra_fields, completion_token_ids…)."""
    if isinstance(fields, dict):
        return set(fields).union(*(field_names(v) for v in fields.values()))
    if isinstance(fields, list):
        return set().union(*(field_names(v) for v in fields))
    return {fields} if isinstance(fields, str) else set()
