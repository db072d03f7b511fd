"""SGLang's server, launched as `python -m sglang.launch_server`, ready when /health_generate
answers 200 (a 1-token generation went through the whole pipeline) and /v1/models lists the model.

Without a GPU it gets the CPU recipe measured in ../shared/reference/engines-on-cpu.md:
SGLANG_USE_CPU_ENGINE=1, --device cpu, float32, a small KV budget. Flags passed with
--engine-arg come last, so they override any of these (argparse keeps the last value).
"""
from __future__ import annotations

import os
from pathlib import Path

from conformance.engines.base import EngineOptions, LaunchSpec, free_port

CPU_ARGS = ["--device", "cpu", "--dtype", "float32", "--max-total-tokens", "8192", "--max-running-requests", "16"]


def has_gpu() -> bool:
    """An NVIDIA device node is present (cheap: no torch import)."""
    return Path("/dev/nvidia0").exists()


class SglangEngine:
    name = "sglang"
    default_dialect = "sglang"

    def __init__(self, gpu: bool | None = None):
        self.gpu = has_gpu() if gpu is None else gpu

    def launch_specs(self, opts: EngineOptions) -> list[LaunchSpec]:
        port = opts.port or free_port(opts.host)
        argv = [
            opts.python, "-m", "sglang.launch_server",
            "--model-path", str(opts.model),
            "--served-model-name", opts.served_model,
            "--host", opts.host,
            "--port", str(port),
            "--random-seed", "0",
            "--tool-call-parser", "qwen25",
            *([] if self.gpu else CPU_ARGS),
            *opts.extra_args,
        ]
        env = dict(os.environ)
        env.setdefault("HF_HUB_OFFLINE", "1")
        if not self.gpu:
            env.setdefault("SGLANG_USE_CPU_ENGINE", "1")
        return [LaunchSpec("sglang", argv, env, f"http://{opts.host}:{port}", ["/health_generate", "/v1/models"],
                           opts.served_model)]
