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


def named_file(name_or_path: str, kind: str, suffix: str) -> Path:
    """A user's file by path, or a shipped one by name: `--expectations vllm-0.32.0-cpu` is
    fixtures/expectations/vllm-0.32.0-cpu.yaml, in a checkout or inside the wheel."""
    from conformance.errors import UsageError

    path = Path(name_or_path)
    if path.exists() or "/" in name_or_path:
        return path
    try:
        folder = project_path(f"fixtures/{kind}")
    except FileNotFoundError:
        folder = None
    if folder is not None and (folder / f"{name_or_path}{suffix}").exists():
        return folder / f"{name_or_path}{suffix}"
    shipped = sorted(p.stem for p in folder.glob(f"*{suffix}")) if folder is not None else []
    raise UsageError(f"no {kind} file {name_or_path!r} (no such path, no shipped name); shipped: {', '.join(shipped) or 'none'}")
