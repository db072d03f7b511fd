"""Where the suites and fixtures live: a checkout's top level, or bundled inside a wheel."""
from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _first_existing(*candidates: Path) -> Path:
    for path in candidates:
        if path.exists():
            return path
    raise FileNotFoundError(f"none of {', '.join(map(str, candidates))} exists")


def project_path(relative: str) -> Path:
    """A path from the project's top level: the checkout in development, the wheel's copy when installed."""
    return _first_existing(_PACKAGE.parent / relative, _PACKAGE / "_bundled" / relative)


def suites_dir() -> Path:
    return project_path("suites")


def default_cases() -> Path:
    return project_path("fixtures/cases/default.yaml")


def fixture_model() -> Path:
    return project_path("fixtures/tiny-chat")


def dialect_profiles_dir() -> Path:
    return _PACKAGE / "dialects" / "profiles"
