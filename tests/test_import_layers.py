"""The layers of conformance/ hold (issue 21): `lint-imports` (import-linter) checks .importlinter.

The contracts are shown able to fail: the same config run over a copy of the package with one
injected import (an upward import, a lazy one, pytest below the checking layer, an engine import)
exits non-zero and names the broken contract and the offending import.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / ".importlinter"


def lint_imports(project: Path) -> subprocess.CompletedProcess:
    """`lint-imports` over the package `conformance` in `project` (the console script that comes with
    import-linter, next to this interpreter), without a cache in the tree."""
    script = Path(sys.executable).with_name("lint-imports")
    argv = [str(script)] if script.exists() else [sys.executable, "-c",
                                                    "import sys; from importlinter.cli import lint_imports_command as c; "
                                                    "sys.exit(c())"]
    env = {**os.environ, "PYTHONPATH": str(project)}
    return subprocess.run([*argv, "--no-cache", str(CONFIG)], cwd=project, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_import_contracts_are_kept():
    run = lint_imports(ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


@pytest.fixture(scope="module")
def package_copy(tmp_path_factory) -> Path:
    """A pristine copy of conformance/ (sources only) that each case below edits and restores."""
    project = tmp_path_factory.mktemp("layers")
    shutil.copytree(ROOT / "conformance", project / "conformance",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.yaml", "*.json", "*.j2", "*.jinja"))
    return project


# (module file, line injected, the contract that breaks, what the report names)
VIOLATIONS = {
    "upward": ("conformance/wire/followups.py", "from conformance.checking.verdicts import Inconclusive\n",
               "conformance layers", "conformance.wire.followups -> conformance.checking.verdicts"),
    "lazy upward": ("conformance/dialects/__init__.py",
                    "def _late():\n    from conformance.checking.replies import Reply\n    return Reply\n",
                    "conformance layers", "conformance.dialects -> conformance.checking.replies"),
    "siblings": ("conformance/reporting/compare_view.py", "from conformance.comparing.targets import agreement\n",
                 "conformance layers", "conformance.reporting.compare_view -> conformance.comparing.targets"),
    "pytest in wire": ("conformance/wire/requests.py", "import pytest\n",
                       "nothing imports pytest", "conformance.wire.requests -> pytest"),
    "engine import": ("conformance/engines/vllm.py", "import vllm\n",
                      "never imports an inference engine", "conformance.engines.vllm -> vllm"),
}


@pytest.mark.parametrize("kind", list(VIOLATIONS))
def test_an_injected_import_breaks_a_contract(package_copy, kind):
    rel, line, contract, named = VIOLATIONS[kind]
    path = package_copy / rel
    original = path.read_text()
    path.write_text(original + "\n" + line)
    try:
        run = lint_imports(package_copy)
    finally:
        path.write_text(original)
    out = " ".join((run.stdout + run.stderr).split())  # the report wraps long lines
    assert run.returncode == 1, out
    assert "BROKEN" in out and contract in out, out
    assert named in out, out
    assert "0 broken" not in out, out


def test_the_pristine_copy_is_kept(package_copy):
    """The copy itself passes: each failure above is its injected line's, not the copy's."""
    run = lint_imports(package_copy)
    assert run.returncode == 0, run.stdout + run.stderr


def test_verdicts_and_the_wire_import_without_pytest():
    """What the forbidden contract says statically, at run time: a client of the wire or of the
    verdict types does not load pytest."""
    code = ("import sys\n"
            "import conformance.checking.verdicts, conformance.wire.followups, conformance.wire.store\n"
            "import conformance.inputs.cases, conformance.dialects, conformance.reporting.document\n"
            "assert 'pytest' not in sys.modules, 'pytest was imported'\n")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
