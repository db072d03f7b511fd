"""SGLang's server, launched as `python -m sglang.launch_server`, ready when /health_generate
answers 200 (a 1-token generation went through the whole pipeline) and /v1/models lists the model.

Without a GPU it gets the CPU recipe measured in ../shared/reference/engines-on-cpu.md:
SGLANG_USE_CPU_ENGINE=1, --device cpu, float32, a small KV budget, and, when the engine's
interpreter has no `sgl_kernel` (it is not on PyPI for CPU), tokconf's stand-in for it
(sglang_cpu/sgl_kernel: the eight names SGLang imports on CPU, none of them called; with
standin_common/ behind it, what every release's stand-in shares). Flags passed
with --engine-arg come last, so they override any of these (argparse keeps the last value).
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Callable

from conformance.engines.base import Engine, EngineOptions, LaunchSpec, engine_env, free_port
from conformance.engines.registry import register_engine
from conformance.engines.tool_parsers import tool_parser_args
from conformance.errors import EngineError
from conformance.engines.overlays import BOOT_ROOT, apply_overlay

CPU_ARGS = ["--device", "cpu", "--dtype", "float32", "--max-total-tokens", "8192", "--max-running-requests", "16"]
STANDIN_DIR = Path(__file__).resolve().parent / "sglang_cpu"  # holds the sgl_kernel stand-in package (0.5.23)
# SGLang imports other sgl_kernel names in other releases: a stand-in per release family, picked by
# the engine's SGLang version (releases before the key's use its stand-in; later ones, STANDIN_DIR's).
STANDINS_BEFORE = {(0, 5, 10): Path(__file__).resolve().parent / "sglang059_cpu"}
# what every stand-in imports (tokconf_standin: the kernel that raises, naming itself), on the path
# right behind the release's stand-in
STANDIN_COMMON = Path(__file__).resolve().parent / "standin_common"
# Asked of the engine's interpreter without importing anything heavy: where each package would load
# from, and SGLang's version.
INSPECT = ("import importlib.util as u, importlib.metadata as m, json\n"
           "def origin(name):\n"
           "    spec = u.find_spec(name)\n"
           "    return None if spec is None else (spec.origin or 'namespace')\n"
           "found = {n: origin(n) for n in ('sglang', 'sgl_kernel')}\n"
           "try:\n"
           "    found['version'] = m.version('sglang')\n"
           "except Exception:\n"
           "    found['version'] = None\n"
           "print(json.dumps(found))")


def standin_for(version: str | None) -> Path:
    """The sgl_kernel stand-in folder that fits this SGLang release."""
    release = tuple(int(p) for p in (version or "").split(".")[:3] if p.isdigit())
    for before, folder in sorted(STANDINS_BEFORE.items()):
        if release and release < before:
            return folder
    return STANDIN_DIR


def standin_pythonpath(version: str | None) -> list[str]:
    """The folders an engine's PYTHONPATH needs for the stand-in: the release's, and the module its
    kernels share."""
    return [str(standin_for(version)), str(STANDIN_COMMON)]


def has_gpu() -> bool:
    """An NVIDIA device node is present (cheap: no torch import)."""
    return Path("/dev/nvidia0").exists()


def inspect_python(python: str, env: dict[str, str], timeout: float = 60.0) -> dict[str, str | None]:
    """Where `sglang` and `sgl_kernel` would load from in the engine's interpreter (None: absent).
    A missing or broken interpreter is an EngineError with one clear line."""
    try:
        res = subprocess.run([python, "-c", INSPECT], env=env, capture_output=True, text=True, timeout=timeout,
                             stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise EngineError(f"--engine-python {python}: no such interpreter (make .venv-sglang builds SGLang's)") from None
    except PermissionError:
        raise EngineError(f"--engine-python {python}: not executable") from None
    except OSError as exc:
        raise EngineError(f"--engine-python {python}: cannot run it ({exc.strerror or exc})") from None
    except subprocess.TimeoutExpired:
        raise EngineError(f"--engine-python {python}: no answer within {timeout:.0f}s") from None
    lines = res.stdout.strip().splitlines()
    try:
        found = json.loads(lines[-1]) if res.returncode == 0 and lines else None
    except ValueError:
        found = None
    if not isinstance(found, dict):
        why = (res.stderr.strip().splitlines() or [f"exit code {res.returncode}"])[-1]
        raise EngineError(f"--engine-python {python} does not run as a Python interpreter: {why}")
    return found


@register_engine
class SglangEngine(Engine):
    name = "sglang"
    default_dialect = "sglang"
    tool_parser_flag = "--tool-call-parser"
    distributions = ("sglang",)
    fleet = True  # N workers behind sglang-router (engines/fleet.py)
    # sglang-router 0.3.2 drops the chat requests' id opt-in: only the native /generate carries ids
    fleet_dialect = "sglang-generate"
    overlay_dir = BOOT_ROOT / "sglang"  # its sitecustomize.py reads the variable below
    overlay_env = "TOKCONF_SGLANG_OVERLAY"

    def __init__(self, gpu: bool | None = None,
                 inspect: Callable[[str, dict[str, str]], dict[str, str | None]] = inspect_python):
        self.gpu = has_gpu() if gpu is None else gpu
        self.inspect = inspect

    def launch_specs(self, opts: EngineOptions) -> list[LaunchSpec]:
        port = opts.port or free_port(opts.host)
        argv = [
            opts.python, "-m", "sglang.launch_server",
            "--model-path", str(opts.model),
            "--served-model-name", opts.served_model,
            "--host", opts.host,
            "--port", str(port),
            "--random-seed", "0",
            *tool_parser_args("sglang", opts.model, opts.extra_args),  # by model family; the user's own wins
            *([] if self.gpu else CPU_ARGS),
            *opts.extra_args,
        ]
        env = engine_env(opts, {} if self.gpu else {"SGLANG_USE_CPU_ENGINE": "1"})
        notes = self._kernels(opts.python, env)
        if opts.overlay is not None:  # a fork's contract (engines/overlays/sglang), loaded at start
            env = apply_overlay(env, opts.overlay)
        run_info = {}
        if opts.patch is not None:  # the fork's own patch code, applied to a private copy (engines/patches)
            from conformance.engines.patches import apply

            env, run_info["patch"] = apply(opts.patch, opts.python, env, opts.work_dir)
        return [LaunchSpec("sglang", argv, env, f"http://{opts.host}:{port}", ["/health_generate", "/v1/models"],
                           opts.served_model, notes, run_info=run_info)]

    def _kernels(self, python: str, env: dict[str, str]) -> dict[str, str]:
        """Check the interpreter has SGLang, and put the sgl_kernel stand-in on its path when it has
        no sgl_kernel and this is a CPU run. Returns what run info should record."""
        found = self.inspect(python, env)
        if not found.get("sglang"):
            raise EngineError(f"--engine-python {python} has no sglang installed (make .venv-sglang builds one "
                              f"from PyPI; then --engine-python .venv-sglang/bin/python)")
        kernel = found.get("sgl_kernel")
        standin = standin_for(found.get("version"))
        if kernel and not any(Path(kernel).resolve().is_relative_to(d) for d in (STANDIN_DIR, *STANDINS_BEFORE.values())):
            return {"sgl_kernel": f"the engine's own ({kernel})"}
        if self.gpu:
            raise EngineError(f"--engine-python {python} has no sgl_kernel, and this machine has a GPU: SGLang on a "
                              f"GPU needs the real kernels (pip install sgl-kernel); tokconf's stand-in only serves "
                              f"CPU runs")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [env.get("PYTHONPATH"),
                                                          *standin_pythonpath(found.get("version"))]))
        return {"sgl_kernel": f"tokconf's CPU stand-in for SGLang {found.get('version') or '(version unknown)'} "
                              f"({standin / 'sgl_kernel'}): the engine's interpreter has none and no GPU is "
                              f"present; none of its names may be called"}
