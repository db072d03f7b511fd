"""Source patches: a fork's OWN patch code, run as its users run it (`--patch NAME`).

Some forks ship their token-id contract as a function that rewrites the installed engine's source
files (agentcore-rl-toolkit 0.1.3's `apply_patch()`). tokconf does not re-implement those: before
the launch it runs that function, from the package installed in the engine's interpreter, on a
private copy of the engine's package (apply_in_engine.py), checks from the function's own log that
every anchor applied, and puts the patched copy first on the engine's PYTHONPATH. A missing anchor,
a missing package or a crash is an EngineError (exit 3) naming it, and the engine is never started
half-patched. The installed engine is never edited.

Each patch is one YAML file in this folder (schema: SourcePatch). `conformance/engines/overlays`
holds tokconf's own re-implementations (readable reference, broken variants); this holds theirs.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from conformance.errors import EngineError, UsageError
from conformance.inputs.schema import build, key, read_document

HERE = Path(__file__).resolve().parent
DRIVER = HERE / "apply_in_engine.py"


@dataclass(frozen=True)
class Edit:
    file: str = key("file")  # one of the patch's files
    old: str = key("old")  # must occur exactly once in the patched copy
    new: str = key("new")


@dataclass(frozen=True)
class Variant:
    """tokconf's broken variant of a fork's patch: the patch applied by its own code, then these edits."""
    title: str = key("title")
    edits: tuple[Any, ...] = key("edits")


@dataclass(frozen=True)
class SourcePatch:
    name: str = key("name")
    engine: str = key("engine")
    title: str = key("title")
    dialect: str = key("dialect")  # the dialect the patched engine speaks: verify's default with --patch
    distribution: str = key("package.distribution")
    version: str = key("package.version")
    import_name: str = key("package.import")
    module: str = key("package.module")  # inside the package's folder
    entry: str = key("package.entry")  # the function the fork's users call
    engine_package: str = key("patches.package")
    engine_distribution: str = key("patches.distribution")
    files: tuple[str, ...] = key("patches.files")
    anchors: int = key("patches.anchors")
    applied_prefix: str = key("patches.applied_prefix")
    measured_on: tuple[str, ...] = key("patches.measured_on", ())
    sources: tuple[str, ...] = key("sources", ())
    variants: dict[str, Any] = key("variants", {})  # name -> Variant (tokconf's faults)
    variant: str | None = None  # the one chosen (`NAME:VARIANT`)

    @property
    def label(self) -> str:
        return f"{self.name}:{self.variant}" if self.variant else self.name

    def edits(self) -> list[Edit]:
        return list(self.variants[self.variant].edits) if self.variant else []


def shipped() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.yaml"))


def load_patch(value: str) -> SourcePatch:
    """A shipped patch by name, or one of tokconf's broken variants of it (NAME:VARIANT)."""
    name, _, variant = value.partition(":")
    path = HERE / f"{name}.yaml"
    if not path.is_file():
        raise UsageError(f"unknown --patch {name!r}; shipped: {', '.join(shipped())}")
    where = f"source patch {path.name}"
    patch = build(SourcePatch, read_document(path, "source patch"), where)
    variants = {}
    for vname, raw in patch.variants.items():
        v = build(Variant, raw, f"{where}: variants.{vname}")
        edits = tuple(build(Edit, e, f"{where}: variants.{vname}.edits[{i}]") for i, e in enumerate(v.edits))
        for e in edits:
            if e.file not in patch.files:
                raise UsageError(f"{where}: variants.{vname}: {e.file} is not one of the patch's files")
        variants[vname] = replace(v, edits=edits)
    patch = replace(patch, variants=variants)
    if variant:
        if variant not in variants:
            raise UsageError(f"--patch {name} has no variant {variant!r}; its variants: {', '.join(sorted(variants))}")
        patch = replace(patch, variant=variant)
    return patch


def resolve_patch(name: str, engine: str) -> SourcePatch:
    patch = load_patch(name)
    if patch.engine != engine:
        raise UsageError(f"--patch {name} patches {patch.engine}, not {engine} (give --engine {patch.engine})")
    return patch


def applied_anchors(patch: SourcePatch, result: dict) -> list[str]:
    """The patch's own log lines that say an anchor was rewritten."""
    return [r["message"] for r in result.get("records", []) if r["message"].startswith(patch.applied_prefix)]


def judge(patch: SourcePatch, result: dict) -> list[str]:
    """Why the patch cannot be trusted as applied (empty: every anchor applied to the copy)."""
    problems = []
    if result.get("error"):
        return [result["error"]]
    records = result.get("records", [])
    bad = [r["message"] for r in records if r["level"] in ("WARNING", "ERROR", "CRITICAL")]
    applied = applied_anchors(patch, result)
    already = [r["message"] for r in records if "already patched" in r["message"]]
    if already:
        problems.append(f"the engine's installed {patch.engine_package} is already patched ({'; '.join(already)}): "
                        f"tokconf applies {patch.name} itself to a private copy, so it needs an unpatched "
                        f"{patch.engine_package} (or verify the patched install without --patch, "
                        f"--dialect {patch.dialect})")
    problems += bad
    if not bad and not already and len(applied) != patch.anchors:
        problems.append(f"{len(applied)} of its {patch.anchors} anchors reported applied")
    if not result.get("returned") and not problems:
        problems.append(f"{patch.entry}() returned {result.get('returned')!r}")
    copy = result.get("shadow_dir") or ""
    if result.get("package_file") and copy and not str(result["package_file"]).startswith(copy):
        problems.append(f"the patch function found {patch.engine_package} at {result['package_file']}, not on "
                        f"tokconf's copy")
    if result.get("installed_untouched") is False:
        problems.append(f"the installed {patch.engine_package} changed while the patch ran on the copy")
    return problems


def apply(patch: SourcePatch, python: str, env: dict[str, str], work_dir: Path | None) -> tuple[dict[str, str], dict]:
    """Run the fork's patch function in the engine's interpreter on a private copy of the engine's
    package. Returns (the engine's environment with the copy first on PYTHONPATH, run info).
    Anything short of every anchor applied is an EngineError (exit 3): nothing is launched."""
    # absolute: the engine may change directory, and the driver reports absolute paths
    root = (Path(work_dir) if work_dir is not None else Path(tempfile.mkdtemp(prefix="tokconf-patch-"))).resolve()
    shadow = root / f"patched-{patch.engine_package}"
    if shadow.exists():
        shutil.rmtree(shadow)
    request = {"engine_package": patch.engine_package, "engine_distribution": patch.engine_distribution,
               "patch_package": patch.import_name, "patch_distribution": patch.distribution,
               "patch_version": patch.version, "patch_module": patch.module, "entry": patch.entry,
               "targets": list(patch.files), "shadow_dir": str(shadow),
               "edits": [{"file": e.file, "old": e.old, "new": e.new} for e in patch.edits()]}
    shadow.parent.mkdir(parents=True, exist_ok=True)
    request_file = shadow.parent / f"{patch.name}.request.json"
    request_file.write_text(json.dumps(request))
    try:
        res = subprocess.run([python, str(DRIVER), str(request_file)], env=env, capture_output=True, text=True, timeout=300,
                  stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EngineError(f"--patch {patch.name}: cannot run {python}: {exc}") from None
    lines = res.stdout.strip().splitlines()
    try:
        result = json.loads(lines[-1]) if lines else None
    except ValueError:
        result = None
    if not isinstance(result, dict):
        why = (res.stderr.strip().splitlines() or [f"exit code {res.returncode}"])[-1]
        raise EngineError(f"--patch {patch.name}: the patch did not run in {python}: {why}",
                          log_tail="\n".join(res.stderr.splitlines()[-30:]))
    problems = judge(patch, result) + list(result.get("edit_errors", []))
    if problems:
        shutil.rmtree(shadow, ignore_errors=True)  # never launched half-patched: nothing of it is left to load
        on = f" on {patch.engine_package} {result['engine_version']}" if result.get("engine_version") else ""
        measured = f" (its anchors were measured on {', '.join(patch.measured_on)})" if patch.measured_on else ""
        raise EngineError(f"--patch {patch.label} did not apply{on}{measured}: {'; '.join(problems)}")
    out = dict(env)
    out["PYTHONPATH"] = os.pathsep.join([str(shadow), *filter(None, [env.get("PYTHONPATH")])])
    info = {"name": patch.name, **({"variant": patch.variant, "variant_title": patch.variants[patch.variant].title,
                                    "variant_is": "tokconf's broken variant (a fault), not the fork's code"}
                                   if patch.variant else {}),
            "package": f"{patch.distribution}=={result['patch_version']}",
            "module": result["patch_module"], "module_sha256": result["patch_module_sha256"],
            "engine_package": f"{patch.engine_distribution}=={result['engine_version']}",
            "anchors_applied": applied_anchors(patch, result),
            "patched_copy": str(shadow), "files_before": result["before"], "files_after": result["after"]}
    return out, info
