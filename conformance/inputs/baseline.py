"""Key-path baselines: the shape of an unpatched engine's vanilla responses, per case.

`tokconf baseline record NAME` sends each case as a vanilla client would (no id opt-in,
non-stream and stream) and writes fixtures/baselines/NAME.json:

    {"name": "vllm-0.32.0-cpu", "engine": ..., "cases": {"hello": {"plain_nonstream": [paths],
                                                                  "plain_stream": [paths]}}}

`verify --baseline FILE` hands it to the vanilla.baseline check, which names every key path
a patched engine adds or drops. The recording (which sends requests) is
conformance.running.baseline; this module reads and checks the file.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.errors import UsageError
from conformance.inputs.schema import build, key, read_document

VARIANTS = ("plain_nonstream", "plain_stream")


@dataclass
class BaselineFile:
    """A baseline as `tokconf baseline record` writes it (the schema it is read back with)."""

    cases: dict[str, dict[str, list[str]]] = key(
        "cases", check=lambda v: next((f"case {c!r}: unknown variant {x!r} (known: {', '.join(VARIANTS)})"
                                       for c, vs in v.items() for x in vs if x not in VARIANTS), None))
    name: str | None = key("name", None)
    engine: str | None = key("engine", None)
    base_url: str | None = key("base_url", None)
    model: str | None = key("model", None)
    recorded_at: str | None = key("recorded_at", None)
    tokconf_version: str | None = key("tokconf_version", None)
    launch_argv: list[list[str]] | None = key("launch_argv", None)
    engine_env: dict[str, str] | None = key("engine_env", None)
    engine_version: Any = key("engine_version", None)


def load_baseline(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    doc = read_document(path, "baseline")
    build(BaselineFile, doc, f"baseline {path}")  # types, keys and variants checked; the mapping is what checks read
    doc.setdefault("name", path.stem)
    return doc


def baseline_file(out_dir: Path, name: str) -> Path:
    """Where `baseline record NAME` writes: OUT_DIR/NAME.json. NAME is a file name: a path in it
    would write outside --out-dir (`../x`) or into a folder that is not there (`sub/name`)."""
    if not name.strip() or name in (".", "..") or any(sep in name for sep in ("/", "\\", "\0")):
        raise UsageError(f"baseline name {name!r} must be a plain file name (no '/', not '..'): it is written "
                         f"to --out-dir/NAME.json; give the folder as --out-dir")
    return Path(out_dir) / f"{name}.json"
