"""The check catalogue: import every suite module and read the checks it declares."""
from __future__ import annotations

import importlib.util
from pathlib import Path

from conformance.checking.api import CheckInfo, check_info
from conformance.resources import suites_dir


def load_catalog(suites: Path | None = None) -> list[CheckInfo]:
    infos = []
    for path in sorted((suites or suites_dir()).glob("check_*.py")):
        spec = importlib.util.spec_from_file_location(f"tokconf_suite_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        infos += [info for obj in vars(module).values() if (info := check_info(obj))]
    return infos
