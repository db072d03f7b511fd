"""A JSON report written as its results come, for runs too large to hold (`tokconf trace` over a
store): the same document `build_report` makes, keys in another order (results first, run_info
and summary when the run is done), so every reader of a report reads it unchanged."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import IO, Any

from conformance import __version__
from conformance.outcomes import Result
from conformance.reporting.schema import FORMAT, FORMAT_VERSION
from conformance.reporting.sink import is_stdout


def _indented(value: Any, depth: int) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n" + "  " * depth)


class StreamedReport:
    """`add` each result, then `close` with the run_info and summary known only at the end."""

    def __init__(self, path: Path | str):
        self.path = path
        if is_stdout(path):
            self._fh: IO[str] = sys.stdout
        else:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            from conformance.redact import RedactingStream

            self._fh = RedactingStream(open(path, "w", encoding="utf-8"))
        head = {"format": FORMAT, "format_version": FORMAT_VERSION, "tokconf_version": __version__}
        self._fh.write("{\n" + "".join(f"  {json.dumps(k)}: {json.dumps(v)},\n" for k, v in head.items())
                       + '  "results": [')
        self._first = True

    def add(self, result: Result) -> None:
        self._fh.write(("\n    " if self._first else ",\n    ") + _indented(result.to_json(), 2))
        self._first = False

    def close(self, run_info: dict[str, Any], summary: dict[str, int]) -> None:
        self._fh.write(("]" if self._first else "\n  ]") + ",\n  \"run_info\": " + _indented(run_info, 1)
                       + ",\n  \"summary\": " + _indented(summary, 1) + "\n}\n")
        self._fh.flush()
        if self._fh is not sys.stdout:
            self._fh.close()

    def abandon(self) -> None:
        """The run stopped before its end: close the file as it is (not a report: no run_info)."""
        if self._fh is not sys.stdout:
            self._fh.close()
