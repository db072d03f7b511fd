"""The check catalogue: import every suite module and read the checks it declares."""
from __future__ import annotations

import importlib.util
from pathlib import Path

from conformance.checking.api import CheckInfo, check_info
from conformance.dialects.features import FEATURES, unknown_features
from conformance.errors import UsageError
from conformance.resources import suites_dir


def load_catalog(suites: Path | None = None) -> list[CheckInfo]:
    infos, seen = [], {}
    for path in sorted((suites or suites_dir()).glob("check_*.py")):
        spec = importlib.util.spec_from_file_location(f"tokconf_suite_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for obj in vars(module).values():
            info = check_info(obj)
            if info is None:
                continue
            if info.id in seen:
                raise UsageError(f"check id {info.id!r} is declared twice: {seen[info.id]} and {path.name}:{info.function}")
            seen[info.id] = f"{path.name}:{info.function}"
            unknown = unknown_features(info.requires)
            if unknown:
                raise UsageError(f"check {info.id!r} ({path.name}) requires unknown feature(s) {', '.join(unknown)}; "
                                 f"the registry (conformance/dialects/features.py) has: {', '.join(sorted(FEATURES))}")
            infos.append(info)
    return infos
