"""The wheel carries what the README's commands need outside a checkout: the suites, the cases and
tools, the fixture model, the expectation files and the baselines (named with --expectations NAME)."""
import subprocess
import sys
import zipfile

import pytest

from support import ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    # pip builds it as `pip install .` would (hatchling from PyPI, in an isolated environment)
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    (path,) = out.glob("tokconf-*.whl")
    return path


@pytest.fixture(scope="module")
def names(wheel):
    with zipfile.ZipFile(wheel) as zf:
        return set(zf.namelist())


def test_the_wheel_ships_expectations_baselines_and_what_verify_needs(names):
    wheel = names
    bundled = "conformance/_bundled/"
    for name in (p.name for p in (ROOT / "fixtures" / "expectations").glob("*.yaml")):
        assert f"{bundled}fixtures/expectations/{name}" in wheel
    for name in (p.name for p in (ROOT / "fixtures" / "baselines").glob("*.json")):
        assert f"{bundled}fixtures/baselines/{name}" in wheel
    assert f"{bundled}fixtures/cases/default.yaml" in wheel and f"{bundled}fixtures/tiny-chat/config.json" in wheel
    assert f"{bundled}suites/check_exposure.py" in wheel
    assert "conformance/reporting/report.schema.json" in wheel
    assert "conformance/dialects/profiles/vllm.yaml" in wheel
    assert "conformance/session/preflight.py" in wheel


def test_shipped_names_resolve_in_the_unpacked_wheel_outside_a_checkout(wheel, tmp_path):
    # the lookup `--expectations vllm-0.32.0-cpu` uses, run from the wheel's files alone (no checkout on the path)
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site)
    code = ("import conformance, conformance.resources as r; print(conformance.__file__); "
            "print(r.named_file('vllm-0.32.0-cpu', 'expectations', '.yaml')); "
            "print(r.named_file('vllm-0.32.0-cpu', 'baselines', '.json')); print(r.default_cases())")
    res = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path[:0] = [{str(site)!r}]; {code}"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    lines = res.stdout.splitlines()
    assert lines[0].startswith(str(site))
    assert all(line.startswith(str(site / "conformance" / "_bundled" / "fixtures")) for line in lines[1:]), lines
