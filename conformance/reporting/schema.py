"""The JSON report's schema (report.schema.json, shipped in the package) and its validation."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).with_name("report.schema.json")
FORMAT, FORMAT_VERSION = "tokconf-report", 1


@lru_cache(maxsize=1)
def report_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def schema_errors(report: dict[str, Any]) -> list[str]:
    """Every way `report` breaks the schema, as "path: message" lines (needs the jsonschema package)."""
    import jsonschema  # the `test` extra; tokconf itself only writes reports

    validator = jsonschema.Draft202012Validator(report_schema(), format_checker=jsonschema.FormatChecker())
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
            for e in sorted(validator.iter_errors(report), key=lambda e: list(map(str, e.absolute_path)))]
