"""`tokconf baseline record NAME`: send each case as a vanilla client would (no id opt-in,
non-stream and stream) and keep the key paths of the responses (the file's shape and its
reading are conformance.inputs.baseline)."""
from __future__ import annotations

from typing import Any

from conformance.dialects import Dialect
from conformance.inputs.baseline import VARIANTS
from conformance.inputs.cases import Case
from conformance.inputs.keypaths import key_paths, union_key_paths
from conformance.wire.requests import build_request


def build_baseline(store, cases: list[Case], dialect: Dialect, model: str, name: str,
                   info: dict[str, Any]) -> dict[str, Any]:
    specs = {(c.id, v): build_request(c, v, dialect, model) for c in cases for v in VARIANTS}
    store.prefetch(specs.values())
    out: dict[str, Any] = {"name": name, **info, "cases": {}}
    for (case_id, variant), spec in specs.items():
        ex = store.get(spec).ok()
        paths = key_paths(ex.json) if variant == "plain_nonstream" else union_key_paths(ex.stream.chunks)
        out["cases"].setdefault(case_id, {})[variant] = sorted(paths)
    return out
