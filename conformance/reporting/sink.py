"""Where an output goes: a file, or stdout when the path is `-`. Whatever goes is redacted
(conformance.redact): no registered secret reaches a report, whichever format."""
from __future__ import annotations

import sys
from pathlib import Path


def is_stdout(path: Path | str | None) -> bool:
    return path is not None and str(path) == "-"


def write_text(path: Path | str, text: str) -> None:
    from conformance.redact import redact_text

    text = redact_text(text)
    if is_stdout(path):
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
