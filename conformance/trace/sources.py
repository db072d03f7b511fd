"""Where stored traces come from, streamed one record at a time, grouped by session in order.

- an rllm-model-gateway SQLite store (its `traces` and `trace_sessions` tables), read-only;
- the gateway's HTTP API: one session, or every session it lists;
- JSONL: one record per line, in file order.

A record that does not parse is a Row with `error` set: the runner reports it as an ERROR
result and goes on.
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from conformance.dialects.paths import parse, resolve
from conformance.errors import UsageError

SQLITE_MAGIC = b"SQLite format 3\x00"


@dataclass
class Row:
    position: int  # 1-based, in source order
    where: str  # a human pointer to the record: file:line, db rowid, URL
    record: dict[str, Any] | None
    error: str | None = None
    session_hint: str | None = None  # the session the source filed the record under


def _decode(position: int, where: str, text: Any, session: str | None = None) -> Row:
    try:
        record = json.loads(text)
    except (TypeError, ValueError) as exc:
        return Row(position, where, None, f"not JSON: {exc}", session)
    if not isinstance(record, dict):
        return Row(position, where, None, f"a record is a JSON object, got {type(record).__name__}", session)
    return Row(position, where, record, None, session)


def is_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(16) == SQLITE_MAGIC
    except OSError:
        return False


def _json_path(path: str | None) -> str | None:
    """A mapping path of plain keys as an SQLite JSON path ('timestamp' -> '$.timestamp')."""
    if not path:
        return None
    steps = parse(path)
    if any(kind != "key" for kind, _ in steps):
        return None
    return "$." + ".".join(f'"{key}"' for _, key in steps)


def sqlite_rows(path: Path, session: str | None = None, time_path: str | None = None) -> Iterator[Row]:
    """The gateway's store, session by session, each in call order: by the records' own time
    (`time_path`), since the store's created_at is when a background task wrote the record."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.Error as exc:
        raise UsageError(f"{path}: cannot open the SQLite store: {exc}") from exc
    if not {"traces", "trace_sessions"} <= tables:
        conn.close()
        raise UsageError(f"{path}: not an rllm-model-gateway store (tables {sorted(tables)}; expected traces, "
                         "trace_sessions)")
    order = _json_path(time_path)
    sql = ("SELECT ts.session_id, t.trace_id, t.data FROM trace_sessions ts JOIN traces t ON t.trace_id = ts.trace_id"
           + (" WHERE ts.session_id = ?" if session else "")
           + " ORDER BY ts.session_id, " + ("CASE WHEN json_valid(t.data) THEN json_extract(t.data, ?) END, " if order else "") + "ts.created_at, t.rowid")
    params = ((session,) if session else ()) + ((order,) if order else ())
    try:
        cursor = conn.execute(sql, params)
        for n, (sid, tid, data) in enumerate(cursor, 1):  # the cursor streams: the store is never loaded whole
            yield _decode(n, f"{path.name}: trace {tid}", data, sid)
    except sqlite3.Error as exc:  # a damaged store: what was read stands, the rest is one ERROR row
        yield Row(0, f"{path.name}", None, f"reading the store failed: {exc}", session)
    finally:
        conn.close()


# a compressed file given as JSONL: said at once, not one "not UTF-8" ERROR per line
COMPRESSED = {b"\x1f\x8b": "gzip (gunzip it first)", b"BZh": "bzip2 (bunzip2 it first)",
              b"\xfd7zXZ\x00": "xz (unxz it first)", b"\x28\xb5\x2f\xfd": "zstd (unzstd it first)",
              b"PK\x03\x04": "a zip archive (unzip it first)"}


def jsonl_rows(path: Path) -> Iterator[Row]:
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from exc
    head = fh.read(8)
    fh.seek(0)
    for magic, what in COMPRESSED.items():
        if head.startswith(magic):
            fh.close()
            raise UsageError(f"{path} is {what}: tokconf trace reads JSONL text, one record per line")
    with fh:
        n = 0
        for lineno, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            n += 1
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield Row(n, f"{path.name}:{lineno}", None, f"not UTF-8: {exc}")
                continue
            yield _decode(n, f"{path.name}:{lineno}", text)


def _by_time(records: list, time_path: str | None) -> list:
    if not time_path:
        return records
    def key(item):
        value = resolve(item[1], time_path) if isinstance(item[1], dict) else None
        return (0, value, item[0]) if isinstance(value, (int, float)) else (1, 0, item[0])
    return [r for _, r in sorted(enumerate(records), key=key)]


def http_rows(base_url: str, session: str | None = None, timeout: float = 60.0,
              api_key: str | None = None, time_path: str | None = None) -> Iterator[Row]:
    """GET /sessions/{id}/traces of one session, or of every session GET /sessions lists."""
    import httpx

    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    base = base_url.rstrip("/")
    with httpx.Client(base_url=base, timeout=timeout, headers=headers) as client:
        try:
            if session:
                sessions = [session]
            else:
                listed = client.get("/sessions")
                sessions = _session_ids(listed)
        except httpx.HTTPError as exc:
            raise UsageError(f"{base}: cannot list the gateway's sessions: {type(exc).__name__}: {exc}") from None
        n = 0
        for sid in sessions:
            url = f"/sessions/{sid}/traces"
            try:
                resp = client.get(url)
                if resp.status_code != 200:  # httpx's own message adds a line of MDN links
                    raise ValueError(f"HTTP {resp.status_code}")
                records = resp.json()
            except (httpx.HTTPError, ValueError) as exc:
                n += 1
                yield Row(n, f"{base}{url}", None, f"cannot read the session's traces: {exc}", sid)
                continue
            if not isinstance(records, list):
                n += 1
                yield Row(n, f"{base}{url}", None, "the traces endpoint did not answer a list", sid)
                continue
            for k, record in enumerate(_by_time(records, time_path)):
                n += 1
                if isinstance(record, dict):
                    yield Row(n, f"{base}{url} #{k}", record, None, sid)
                else:
                    yield Row(n, f"{base}{url} #{k}", None, f"a record is a JSON object, got {type(record).__name__}", sid)


def _session_ids(resp) -> list[str]:
    """GET /sessions of an rllm-model-gateway: a JSON list of {"session_id": ...}. Anything else
    (a 404, an HTML page, another server's JSON) says the URL is not a gateway, in one line."""
    where = f"{resp.request.url.copy_with(path='').__str__().rstrip('/')}"
    if resp.status_code != 200:
        raise UsageError(f"{where} is not an rllm-model-gateway (GET /sessions: HTTP {resp.status_code})")
    try:
        listed = resp.json()
    except ValueError:
        kind = resp.headers.get("content-type", "no content type").split(";")[0]
        raise UsageError(f"{where} is not an rllm-model-gateway (GET /sessions is not JSON: {kind})") from None
    if not isinstance(listed, list) or not all(isinstance(s, dict) and isinstance(s.get("session_id"), str)
                                               for s in listed):
        raise UsageError(f"{where} is not an rllm-model-gateway (GET /sessions is not a list of sessions: "
                         f"{type(listed).__name__})")
    return sorted(s["session_id"] for s in listed)


def open_source(source: str, session: str | None = None, api_key: str | None = None,
                time_path: str | None = None) -> tuple[str, Iterator[Row]]:
    """(kind, rows) for a store file, a JSONL file, or a gateway URL."""
    if source.startswith(("http://", "https://")):
        return "gateway-http", http_rows(source, session, api_key=api_key, time_path=time_path)
    path = Path(source)
    if not path.exists():
        raise UsageError(f"{source}: no such file (give a gateway SQLite store, a JSONL file or a gateway URL)")
    if is_sqlite(path):
        return "gateway-sqlite", sqlite_rows(path, session, time_path)
    if session:
        raise UsageError("--session applies to a gateway store or URL; a JSONL file is read whole")
    return "jsonl", jsonl_rows(path)
