"""Overlays: small Python modules that give a launched engine a fork's token-id contract.

An overlay is loaded by the ENGINE's interpreter at start-up, never by tokconf: the launcher puts
the engine kind's boot folder (its `overlay_dir`, here `sglang/`, holding a `sitecustomize.py`
import hook and the shipped overlays in `tokconf_overlays/`) first on the engine's PYTHONPATH and
names the overlay in an environment variable (its `overlay_env`). The installed engine package is
never edited.

`--overlay NAME` picks a shipped overlay (`tokconf overlays` style names: agentcore, llm360, miles,
agentcore-broken-*); `--overlay path/to/file.py` loads the user's own module (it defines
`PATCHES = {"sglang.module.name": function(module)}`).
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from conformance.engines.registry import engine_kinds
from conformance.errors import UsageError

BOOT_ROOT = Path(__file__).resolve().parent  # the engines' boot folders live here
APPLIED_MARK = "[tokconf overlay] "  # the boot hook logs this line once per module it patched


@dataclass(frozen=True)
class Overlay:
    engine: str
    name: str  # the shipped name, or the user's file stem
    path: Path  # the module's file
    shipped: bool

    @property
    def env_value(self) -> str:
        return self.name if self.shipped else str(self.path)

    def info(self) -> dict:
        """What a report's run info records about it."""
        return {"name": self.name, "engine": self.engine, "shipped": self.shipped, "path": str(self.path),
                "sha256": hashlib.sha256(self.path.read_bytes()).hexdigest()}


def boot_dirs() -> dict[str, Path]:
    """The engines that take an overlay, and each one's boot folder."""
    return {name: kind.overlay_dir for name, kind in engine_kinds().items() if kind.overlay_dir is not None}


def shipped(engine: str = "sglang") -> list[str]:
    package = boot_dirs()[engine] / "tokconf_overlays"
    return sorted(p.stem.replace("_", "-") for p in package.glob("*.py") if not p.stem.startswith("_"))


def resolve_overlay(value: str, engine: str) -> Overlay:
    """A shipped overlay by name, or a user's .py file by path; anything else is a UsageError (exit 2)."""
    boots = boot_dirs()
    if engine not in boots:
        raise UsageError(f"--overlay applies to engines {', '.join(boots)}, not {engine}")
    if value.endswith(".py") or os.sep in value:
        path = Path(value).expanduser()
        if not path.is_file():
            raise UsageError(f"overlay file {value} does not exist")
        if path.suffix != ".py":
            raise UsageError(f"overlay file {value} is not a .py module")
        return Overlay(engine, path.stem, path.resolve(), shipped=False)
    if value not in shipped(engine):
        raise UsageError(f"unknown overlay {value!r} for {engine}; shipped: {', '.join(shipped(engine))}")
    path = boots[engine] / "tokconf_overlays" / f"{value.replace('-', '_')}.py"
    return Overlay(engine, value, path, shipped=True)


def apply_overlay(env: dict[str, str], overlay: Overlay) -> dict[str, str]:
    """The engine's environment with the boot folder first on PYTHONPATH and the overlay named."""
    kind = engine_kinds()[overlay.engine]
    out = dict(env)
    out["PYTHONPATH"] = os.pathsep.join([str(kind.overlay_dir), *filter(None, [env.get("PYTHONPATH")])])
    out[kind.overlay_env] = overlay.env_value
    return out


def applied_modules(log_text: str) -> list[str]:
    """The modules the boot hook reports it patched, read from the engine's log."""
    out = []
    for line in log_text.splitlines():
        at = line.find(APPLIED_MARK)
        if at >= 0 and ": patched " in line:
            out.append(line[at:].split(": patched ", 1)[1].strip())
    return list(dict.fromkeys(out))


def confirm_applied(overlay: Overlay, log_path: Path) -> dict:
    """Run info for an overlay on a ready engine; an EngineError (exit 3) if the engine's log shows
    it patched nothing (the boot folder was shadowed, or the engine never imported the modules):
    checks would otherwise pass or fail the upstream engine in the overlay's name."""
    from conformance.errors import EngineError

    try:
        log = log_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        log = ""
    modules = applied_modules(log)
    if not modules:
        raise EngineError(f"overlay {overlay.name} was not applied: the engine log ({log_path}) has no "
                          f"{APPLIED_MARK.strip()} line")
    return {**overlay.info(), "applied_to": modules}
