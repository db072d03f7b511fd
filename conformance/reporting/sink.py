"""Where an output goes: a file, or stdout when the path is `-`. Whatever goes is redacted
(conformance.redact): no registered secret reaches a report, whichever format."""
from __future__ import annotations

import sys
from pathlib import Path

from conformance.errors import UsageError


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
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:  # checked before the run (check_outputs); a disk can still fill up
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def check_outputs(report_dir: Path | None = None, **outputs: Path | str | None) -> None:
    """Where a command will write, checked before it runs (a mistake costs no run): at most one
    output on stdout (two documents would interleave), no output that is a directory or under a
    file, and a --report-dir that is a directory. `outputs`: flag -> path, e.g. {"--json": path}."""
    on_stdout = [flag for flag, path in outputs.items() if is_stdout(path)]
    if len(on_stdout) > 1:
        raise UsageError(f"{' and '.join(on_stdout)} {'both' if len(on_stdout) == 2 else 'all'} write to stdout ('-'): their documents would interleave; "
                         f"send all but one to a file")
    for flag, path in [*outputs.items(), ("--report-dir", report_dir)]:
        if path is None or is_stdout(path):
            continue
        path = Path(path)
        if flag == "--report-dir" or flag.endswith("-dir"):
            if path.exists() and not path.is_dir():
                raise UsageError(f"{flag} {path} is a file: give a directory")
        elif path.is_dir():
            raise UsageError(f"{flag} {path} is a directory: give a file path")
        above = next((p for p in path.parents if p.exists()), None)
        if above is not None and not above.is_dir():
            raise UsageError(f"{flag} {path}: {above} is a file, not a directory")
