"""Source patches without an engine: the registry, and the driver that runs a fork's own patch
function in the engine's interpreter on a private copy (conformance/engines/patches). The driver
runs for real, in a child interpreter, on a stand-in engine package and a stand-in patch package
made here that follow agentcore's conventions (rewrite files found through PKG.__file__, log one
"Patched ..." per anchor, a warning per anchor not found). The real patch on real SGLang 0.5.9 and
0.5.23 is the engine tier's (tests/live/test_agentcore_patch.py)."""
import os
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from conformance.engines.patches import SourcePatch, apply, load_patch, resolve_patch, shipped
from conformance.errors import EngineError, UsageError
from conformance.inputs.schema import build

ROOT = Path(__file__).resolve().parents[2]

PATCH_MODULE = '''
import logging, os
logger = logging.getLogger(__name__)
ANCHORS = [("a.py", "VALUE = 1", "VALUE = 2"), ("sub/b.py", "def f():\\n    return 'x'", "def f():\\n    return 'y'")]

def apply_patch():
    import fakeengine
    root = os.path.dirname(fakeengine.__file__)
    if {raise_it}:
        raise RuntimeError("boom")
    for rel, old, new in ANCHORS:
        path = os.path.join(root, rel)
        text = open(path).read()
        if new in text:
            logger.info("%s already patched", rel)
            continue
        if old in text:
            text = text.replace(old, new, 1)
            logger.info("Patched %s", rel)
        else:
            logger.warning("Could not find %s anchor", rel)
        open(path, "w").write(text)
    return True
'''


def dist_info(site: Path, name: str, version: str) -> None:
    info = site / f"{name}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")


@pytest.fixture
def site(tmp_path):
    """A site folder with the stand-in engine `fakeengine` 1.0 and the stand-in patch package `fakepatch` 0.1.3."""
    site = tmp_path / "site"
    (site / "fakeengine" / "sub").mkdir(parents=True)
    (site / "fakeengine" / "__init__.py").write_text("")
    (site / "fakeengine" / "a.py").write_text("VALUE = 1\n")
    (site / "fakeengine" / "sub" / "__init__.py").write_text("")
    (site / "fakeengine" / "sub" / "b.py").write_text("def f():\n    return 'x'\n")
    (site / "fakeengine" / "untouched.py").write_text("U = 0\n")
    dist_info(site, "fakeengine", "1.0")
    (site / "fakepatch" / "patches").mkdir(parents=True)
    (site / "fakepatch" / "__init__.py").write_text("import not_installed_anywhere\n")  # like agentcore's boto3
    (site / "fakepatch" / "patches" / "p.py").write_text(PATCH_MODULE.format(raise_it="False"))
    dist_info(site, "fakepatch", "0.1.3")
    return site


PATCH = SourcePatch(name="fake-0.1.3", engine="sglang", title="t", dialect="sglang-tokenids-patch",
                    distribution="fakepatch", version="0.1.3", import_name="fakepatch", module="patches/p.py",
                    entry="apply_patch", engine_package="fakeengine", engine_distribution="fakeengine",
                    files=("a.py", "sub/b.py"), anchors=2, applied_prefix="Patched ", measured_on=("1.0",))


def env_with(site: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(site)}


def test_every_anchor_applied_puts_the_patched_copy_first_and_leaves_the_install_alone(site, tmp_path):
    env, info = apply(PATCH, sys.executable, env_with(site), tmp_path / "run")
    copy = Path(info["patched_copy"])
    assert env["PYTHONPATH"].split(os.pathsep) == [str(copy), str(site)]
    assert info["anchors_applied"] == ["Patched a.py", "Patched sub/b.py"]
    assert info["package"] == "fakepatch==0.1.3" and info["engine_package"] == "fakeengine==1.0"
    assert (copy / "fakeengine" / "a.py").read_text() == "VALUE = 2\n"
    assert (site / "fakeengine" / "a.py").read_text() == "VALUE = 1\n"  # the installed package is never edited
    assert (copy / "fakeengine" / "untouched.py").is_symlink()
    # the engine's interpreter, given that environment, imports the patched copy
    out = subprocess.run([sys.executable, "-c", "import fakeengine.a, fakeengine.sub.b as b; "
                          "print(fakeengine.a.VALUE, b.f())"], env=env, capture_output=True, text=True)
    assert out.stdout.split() == ["2", "y"]


def test_a_missing_anchor_is_an_engine_error_naming_it_and_nothing_is_left(site, tmp_path):
    (site / "fakeengine" / "sub" / "b.py").write_text("def f():\n    return 'z'\n")  # another release
    with pytest.raises(EngineError) as err:
        apply(PATCH, sys.executable, env_with(site), tmp_path / "run")
    msg = str(err.value)
    assert "--patch fake-0.1.3 did not apply on fakeengine 1.0" in msg and "Could not find sub/b.py anchor" in msg
    assert "measured on 1.0" in msg
    assert not (tmp_path / "run" / "patched-fakeengine").exists()


def test_an_install_patched_already_is_refused(site, tmp_path):
    (site / "fakeengine" / "a.py").write_text("VALUE = 2\n")
    with pytest.raises(EngineError, match="already patched.*needs an unpatched fakeengine"):
        apply(PATCH, sys.executable, env_with(site), tmp_path / "run")


def test_a_patch_function_that_raises_is_an_engine_error(site, tmp_path):
    (site / "fakepatch" / "patches" / "p.py").write_text(PATCH_MODULE.format(raise_it="True"))
    with pytest.raises(EngineError, match=r"apply_patch\(\) raised RuntimeError: boom"):
        apply(PATCH, sys.executable, env_with(site), tmp_path / "run")


def test_fewer_anchors_reported_than_declared_is_refused(site, tmp_path):
    with pytest.raises(EngineError, match="2 of its 3 anchors reported applied"):
        apply(replace(PATCH, anchors=3), sys.executable, env_with(site), tmp_path / "run")


@pytest.mark.parametrize("change, message", [
    (lambda site: __import__("shutil").rmtree(site / "fakepatch"), "no fakepatch installed in this interpreter "
     "(pip install --no-deps fakepatch==0.1.3)"),
    (lambda site: __import__("shutil").rmtree(site / "fakeengine"), "no fakeengine installed"),
    (lambda site: (site / "fakepatch" / "patches" / "p.py").unlink(), "fakepatch 0.1.3 has no patches/p.py"),
    (lambda site: (site / "fakeengine" / "a.py").unlink(), "fakeengine 1.0 has no a.py"),
])
def test_what_the_interpreter_lacks_is_one_line(site, tmp_path, change, message):
    change(site)
    with pytest.raises(EngineError) as err:
        apply(PATCH, sys.executable, env_with(site), tmp_path / "run")
    assert message in str(err.value) and "\n" not in str(err.value)


def test_another_version_of_the_patch_package_is_refused(site, tmp_path):
    with pytest.raises(EngineError, match="has fakepatch 0.1.3, not 0.1.4"):
        apply(replace(PATCH, version="0.1.4"), sys.executable, env_with(site), tmp_path / "run")


def test_an_interpreter_that_is_not_there_is_an_engine_error(tmp_path):
    with pytest.raises(EngineError, match="cannot run /nonexistent/python"):
        apply(PATCH, "/nonexistent/python", dict(os.environ), tmp_path / "run")


def test_the_shipped_patch_parses_and_names_its_dialect():
    assert shipped() == ["agentcore-0.1.3"]
    patch = load_patch("agentcore-0.1.3")
    assert patch.distribution == "agentcore-rl-toolkit" and patch.version == "0.1.3" and patch.anchors == 17
    assert patch.dialect == "sglang-tokenids-patch" and patch.measured_on == ("0.5.9",)


def test_unknown_names_engines_and_keys_are_usage_errors():
    with pytest.raises(UsageError, match="unknown --patch 'agentcore-9'; shipped: agentcore-0.1.3"):
        resolve_patch("agentcore-9", "sglang")
    with pytest.raises(UsageError, match="patches sglang, not vllm"):
        resolve_patch("agentcore-0.1.3", "vllm")
    with pytest.raises(UsageError, match="unknown key 'patches.anchor'"):
        build(SourcePatch, {"name": "x", "patches": {"anchor": 1}}, "source patch x.yaml")


@pytest.mark.parametrize("args, message", [
    (["--patch", "nosuch"], "unknown --patch 'nosuch'"),
    (["--patch", "agentcore-0.1.3", "--engine", "vllm"], "patches sglang, not vllm"),
    (["--patch", "agentcore-0.1.3", "--base-url", "http://127.0.0.1:9", "--model", "m"],
     "--patch is loaded into a launched engine"),
    (["--patch", "agentcore-0.1.3", "--engine", "sglang", "--overlay", "agentcore"],
     "give either --overlay (tokconf's re-implementation) or --patch"),
    (["--patch", "agentcore-0.1.3", "--engine", "sglang", "--fleet-size", "2"], "--patch and --fleet-size"),
])
def test_bad_patch_options_are_one_line_and_exit_2(tmp_path, args, message):
    res = subprocess.run([sys.executable, "-m", "conformance", "verify", *args, "--report-dir", str(tmp_path)],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert res.returncode == 2, res.stderr
    assert message in res.stderr and len(res.stderr.strip().splitlines()) == 1, res.stderr


def test_a_broken_variant_applies_its_edits_after_the_forks_own_code(site, tmp_path):
    from conformance.engines.patches import Edit, Variant

    variant = Variant(title="t", edits=(Edit(file="a.py", old="VALUE = 2", new="VALUE = 3"),))
    patch = replace(PATCH, variants={"broken-x": variant}, variant="broken-x")
    env, info = apply(patch, sys.executable, env_with(site), tmp_path / "run")
    assert (Path(info["patched_copy"]) / "fakeengine" / "a.py").read_text() == "VALUE = 3\n"
    assert info["variant"] == "broken-x" and info["anchors_applied"] == ["Patched a.py", "Patched sub/b.py"]
    # an edit that does not match the patched copy exactly once: refused, nothing launched
    bad = replace(patch, variants={"broken-x": Variant(title="t", edits=(Edit(file="a.py", old="NOPE", new=""),))})
    with pytest.raises(EngineError, match=r"--patch fake-0.1.3:broken-x did not apply.*variant edit 1 \(a.py\) "
                                          r"matches 0 places, not one"):
        apply(bad, sys.executable, env_with(site), tmp_path / "run2")


def test_the_shipped_variants_parse_and_unknown_ones_are_usage_errors():
    patch = load_patch("agentcore-0.1.3:broken-shared-watermark")
    assert patch.label == "agentcore-0.1.3:broken-shared-watermark" and len(patch.edits()) == 2
    assert sorted(load_patch("agentcore-0.1.3").variants) == [
        "broken-cumulative", "broken-no-flush", "broken-shared-buffer", "broken-shared-watermark", "broken-tool-drop"]
    with pytest.raises(UsageError, match="has no variant 'broken-x'; its variants: broken-cumulative"):
        load_patch("agentcore-0.1.3:broken-x")
