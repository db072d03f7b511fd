"""One stored trace, read through a mapping: plain values, no I/O."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from conformance.dialects.paths import MISSING
from conformance.trace.mapping import FIELDS, Mapping


@dataclass
class Trace:
    label: str  # session/turn: the "case" column of the report
    where: str  # the record's place in the source
    session: str | None
    turn: int
    values: dict[str, Any] = field(default_factory=dict)  # field -> value, MISSING when absent
    session_hint: str | None = None  # the session the store files the record under
    digest: str | None = None  # the record's content (record_digest): finds a response stored twice

    def get(self, name: str) -> Any:
        return self.values.get(name, MISSING)

    def has(self, name: str) -> bool:
        value = self.get(name)
        return value is not MISSING and value is not None


def read_trace(record: dict[str, Any], mapping: Mapping, *, where: str, session_hint: str | None,
               turn: int, session: str | None) -> Trace:
    values = {name: mapping.get(record, name) for name in FIELDS}
    label = f"{session}/{turn}" if session is not None else str(
        values["trace_id"] if values["trace_id"] not in (MISSING, None) else where)
    return Trace(label, where, session, turn, values, session_hint, record_digest(record, mapping))


def record_digest(record: Any, mapping: Mapping) -> str | None:
    """The record's content without the store's own id (a second write of a response gets a new one)."""
    if not isinstance(record, dict):
        return None
    own = mapping.fields.get("trace_id")
    body = {k: v for k, v in record.items() if k != own}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def session_of(record: dict[str, Any], mapping: Mapping, session_hint: str | None) -> str | None:
    """The session a record belongs to: the store's filing, else the record's own field."""
    if session_hint is not None:
        return session_hint
    value = mapping.get(record, "session_id")
    return None if value in (MISSING, None) else str(value)
