"""SGLang's launch spec: the measured CPU recipe, and the sgl_kernel stand-in put on the engine's
path only when the engine's own interpreter (asked for real) has no sgl_kernel and no GPU is
present. Bad interpreters and a GPU without kernels are one clear line, exit 3, no traceback."""
import ast
import importlib.util
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.engines import get_engine
from conformance.engines.base import EngineOptions, launch_notes
from conformance.engines.sglang import STANDIN_COMMON, STANDIN_DIR, SglangEngine, inspect_python
from conformance.errors import EngineError
from support import ROOT

OPTS = EngineOptions(model="/models/tiny", served_model="tiny", python="/venv/bin/python", port=18300)
NO_KERNEL = {"sglang": "/venv/lib/sglang/__init__.py", "sgl_kernel": None}
OWN_KERNEL = {"sglang": "/venv/lib/sglang/__init__.py", "sgl_kernel": "/venv/lib/sgl_kernel/__init__.py"}
SGLANG_PYTHON = Path(os.environ.get("TOKCONF_SGLANG_PYTHON") or ROOT / ".venv-sglang" / "bin" / "python")
STANDIN_NAMES = ["copy_all_layer_kv_cache_cpu", "assign_req_to_token_pool_cpu", "build_tree_kernel_efficient_cpu",
                 "verify_tree_greedy_cpu", "assign_draft_cache_locs_contiguous_cpu", "assign_extend_cache_locs_cpu",
                 "fill_accept_out_cache_loc_cpu", "fill_bonus_tokens_cpu"]


def engine(gpu, found):
    return SglangEngine(gpu=gpu, inspect=lambda python, env: found)


def test_sglang_on_cpu_gets_the_measured_cpu_recipe_and_the_standin():
    (spec,) = engine(False, NO_KERNEL).launch_specs(OPTS)
    assert spec.argv[:3] == ["/venv/bin/python", "-m", "sglang.launch_server"]
    args = spec.argv[3:]
    for flag, value in [("--model-path", "/models/tiny"), ("--served-model-name", "tiny"), ("--host", "127.0.0.1"),
                        ("--port", "18300"), ("--device", "cpu"), ("--dtype", "float32"), ("--max-total-tokens", "8192"),
                        ("--tool-call-parser", "qwen")]:  # qwen25 is a deprecated alias in 0.5.23
        assert args[args.index(flag) + 1] == value, flag
    assert spec.env["SGLANG_USE_CPU_ENGINE"] == "1" and spec.env["HF_HUB_OFFLINE"] == "1"
    assert spec.env["PYTHONPATH"].split(os.pathsep)[-2:] == [str(STANDIN_DIR), str(STANDIN_COMMON)]
    assert spec.base_url == "http://127.0.0.1:18300"
    assert spec.ready_paths == ["/health_generate", "/v1/models"] and spec.served_model == "tiny"
    assert "tokconf's CPU stand-in" in launch_notes([spec])["sgl_kernel"]
    assert get_engine("sglang").default_dialect == "sglang"


def test_the_users_pythonpath_comes_before_the_standin(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", "/my/overlay")
    (spec,) = engine(False, NO_KERNEL).launch_specs(OPTS)
    assert spec.env["PYTHONPATH"] == os.pathsep.join(["/my/overlay", str(STANDIN_DIR), str(STANDIN_COMMON)])


def test_an_interpreter_with_its_own_sgl_kernel_gets_no_standin(monkeypatch):
    monkeypatch.delenv("PYTHONPATH", raising=False)
    (spec,) = engine(False, OWN_KERNEL).launch_specs(OPTS)
    assert "PYTHONPATH" not in spec.env
    assert launch_notes([spec]) == {"sgl_kernel": "the engine's own (/venv/lib/sgl_kernel/__init__.py)"}


def test_sglang_with_a_gpu_gets_no_cpu_flags_and_engine_args_come_last(monkeypatch):
    monkeypatch.delenv("PYTHONPATH", raising=False)
    opts = EngineOptions(model="m", served_model="m", python="py", port=1, extra_args=["--dtype", "bfloat16"])
    (spec,) = engine(True, OWN_KERNEL).launch_specs(opts)
    assert "--device" not in spec.argv and "--max-total-tokens" not in spec.argv
    assert spec.env.get("SGLANG_USE_CPU_ENGINE") == os.environ.get("SGLANG_USE_CPU_ENGINE")  # not forced on
    assert "PYTHONPATH" not in spec.env
    assert spec.argv[-2:] == ["--dtype", "bfloat16"]  # argparse keeps the last value: the user's wins


def test_a_gpu_without_sgl_kernel_is_refused_not_given_the_standin():
    with pytest.raises(EngineError) as exc:
        engine(True, NO_KERNEL).launch_specs(OPTS)
    msg = str(exc.value)
    assert "has no sgl_kernel, and this machine has a GPU" in msg and "\n" not in msg


def test_an_interpreter_without_sglang_is_refused():
    with pytest.raises(EngineError, match="has no sglang installed .*make .venv-sglang"):
        engine(False, {"sglang": None, "sgl_kernel": None}).launch_specs(OPTS)


# The interpreter asked for real: a fake `sglang` package is enough to be found (find_spec imports nothing).

def fake_sglang(tmp_path: Path) -> Path:
    (tmp_path / "site" / "sglang").mkdir(parents=True)
    (tmp_path / "site" / "sglang" / "__init__.py").write_text("raise SystemExit('never imported')\n")
    return tmp_path / "site"


def test_a_real_interpreter_is_asked_and_the_standin_serves_the_eight_names(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(fake_sglang(tmp_path)))
    opts = EngineOptions(model="m", served_model="m", python=sys.executable, port=1)
    (spec,) = SglangEngine(gpu=False).launch_specs(opts)
    assert spec.env["PYTHONPATH"].split(os.pathsep) == [str(tmp_path / "site"), str(STANDIN_DIR), str(STANDIN_COMMON)]
    code = ("import sgl_kernel\n"
            f"from sgl_kernel import {', '.join(STANDIN_NAMES)}\n"
            "try:\n    fill_bonus_tokens_cpu(1, 2)\n"
            "except NotImplementedError as exc:\n    print(exc)\n")
    res = subprocess.run([sys.executable, "-c", code], env=spec.env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("sgl_kernel.fill_bonus_tokens_cpu was called, but this is tokconf's CPU stand-in")
    # asked again with the stand-in already on the path (a second launch from the same shell): still the stand-in
    monkeypatch.setenv("PYTHONPATH", spec.env["PYTHONPATH"])
    assert inspect_python(sys.executable, dict(os.environ))["sgl_kernel"].startswith(str(STANDIN_DIR))
    (again,) = SglangEngine(gpu=False).launch_specs(opts)
    assert "tokconf's CPU stand-in" in again.notes["sgl_kernel"]


def test_the_standin_ships_in_the_package():
    assert STANDIN_DIR.is_relative_to(Path(__import__("conformance").__file__).parent)
    assert (STANDIN_DIR / "sgl_kernel" / "__init__.py").is_file()
    assert STANDIN_COMMON.is_relative_to(Path(__import__("conformance").__file__).parent)
    assert (STANDIN_COMMON / "tokconf_standin.py").is_file()


def test_missing_and_broken_interpreters_are_one_clear_line(tmp_path):
    not_exec = tmp_path / "python"
    not_exec.write_text("#!/bin/sh\n")
    not_exec.chmod(stat.S_IRUSR)
    for python, words in [(str(tmp_path / "nope" / "python"), "no such interpreter"),
                          (str(not_exec), "not executable"),
                          ("/bin/false", "does not run as a Python interpreter: exit code 1")]:
        with pytest.raises(EngineError) as exc:
            inspect_python(python, dict(os.environ))
        assert words in str(exc.value) and "\n" not in str(exc.value), python


@pytest.mark.parametrize("python,words", [("/no/such/python", "no such interpreter"),
                                          (sys.executable, "has no sglang installed")])
def test_cli_bad_engine_python_exits_3_without_a_traceback(tmp_path, python, words):
    if words == "has no sglang installed" and importlib.util.find_spec("sglang"):
        pytest.skip("this interpreter has sglang")
    res = subprocess.run([sys.executable, "-m", "conformance", "verify", "--engine", "sglang", "--engine-python",
                          python, "--report-dir", str(tmp_path)], capture_output=True, text=True, cwd=ROOT,
                         timeout=120)
    assert res.returncode == 3, res.stderr
    assert words in " ".join(res.stderr.split()) and "Traceback" not in res.stderr


@pytest.mark.skipif(not SGLANG_PYTHON.exists(), reason=f"no SGLang virtualenv at {SGLANG_PYTHON} "
                    "(make test builds .venv-sglang)")
def test_the_projects_sglang_venv_has_sglang_and_needs_the_standin():
    found = inspect_python(str(SGLANG_PYTHON), {k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert found["sglang"] and found["sgl_kernel"] is None


def test_sglang_0_5_9_gets_its_own_standin_with_the_kvcacheio_names(monkeypatch):
    """0.5.9 imports thirteen names from sgl_kernel.kvcacheio and none of 0.5.23's eight: the stand-in
    is picked by the engine's SGLang version, and imports as 0.5.9's memory_pool_host imports it."""
    from conformance.engines.sglang import STANDINS_BEFORE, standin_for

    old = STANDINS_BEFORE[(0, 5, 10)]
    assert standin_for("0.5.9") == old and standin_for("0.5.9.post1") == old
    assert standin_for("0.5.23") == STANDIN_DIR and standin_for(None) == STANDIN_DIR
    engine = SglangEngine(gpu=False, inspect=lambda py, env: {"sglang": "/x", "sgl_kernel": None, "version": "0.5.9"})
    (spec,) = engine.launch_specs(EngineOptions(model="m", served_model="m", python="py", port=1))
    assert spec.env["PYTHONPATH"].split(os.pathsep)[-2:] == [str(old), str(STANDIN_COMMON)]
    assert "stand-in for SGLang 0.5.9" in spec.notes["sgl_kernel"]
    # its names, read without importing it here (it is for the engine's interpreter)
    tree = ast.parse((old / "sgl_kernel" / "kvcacheio.py").read_text(encoding="utf-8"))
    (NAMES,) = [ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)
                and getattr(n.targets[0], "id", None) == "NAMES"]
    code = ("import sgl_kernel\nfrom sgl_kernel.kvcacheio import " + ", ".join(NAMES) + "\n"
            "try:\n    transfer_kv_direct(1)\nexcept NotImplementedError as exc:\n    print(exc)\n")
    res = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": spec.env["PYTHONPATH"]},
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and "sgl_kernel.kvcacheio.transfer_kv_direct was called" in res.stdout, res.stderr
