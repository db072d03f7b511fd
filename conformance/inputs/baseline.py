"""Key-path baselines: the shape of an unpatched engine's vanilla responses, per case.

`tokconf baseline record NAME` sends each case as a vanilla client would (no id opt-in,
non-stream and stream) and writes fixtures/baselines/NAME.json:

    {"name": "vllm-0.32.0-cpu", "engine": ..., "cases": {"hello": {"plain_nonstream": [paths],
                                                                  "plain_stream": [paths]}}}

`verify --baseline FILE` hands it to the vanilla.baseline check, which names every key path
a patched engine adds or drops.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conformance.inputs.cases import Case
from conformance.dialects import Dialect
from conformance.errors import UsageError
from conformance.inputs.keypaths import key_paths, union_key_paths
from conformance.wire.requests import build_request

VARIANTS = ("plain_nonstream", "plain_stream")


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


def load_baseline(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read baseline {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise UsageError(f"baseline {path} is not JSON: {exc.msg}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("cases"), dict):
        raise UsageError(f"baseline {path}: expected an object with a 'cases' mapping (tokconf baseline record)")
    doc.setdefault("name", path.stem)
    return doc
