"""NVIDIA Dynamo: its OpenAI frontend plus one worker, launched and torn down as one target.

No etcd and no NATS: both processes use file discovery in a private `DYN_FILE_KV` directory
(so concurrent runs never see each other's workers), the request plane is TCP and the event
plane ZMQ. Every plane is bound to 127.0.0.1; without the DYN_*_HOST variables the worker
registers its endpoint on the machine's external address.

A fleet (`--fleet-size N`) is N workers registered for one model through the same discovery
directory, the frontend routing round robin between them: ready once /v1/models lists the model
and /health lists N instances of the workers' `generate` endpoint. Dynamo 1.6.1's frontend keeps
the model card of the first worker it accepts (it renders the chat template and tokenizes with
it) and rejects a worker whose card checksum differs (model path, config, tokenizer, template),
routing nothing to it: that fleet would be one worker compared with itself, so it fails to start.

Workers: `vllm` (Dynamo's vLLM worker; Dynamo 1.6.1 needs vLLM 0.31, so it usually lives in its
own virtualenv, chosen with --engine-python), `mocker` (no model is run: random token ids, which
the determinism pre-check reports) and `sglang` (needs a GPU build of SGLang).
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import replace
from pathlib import Path

from conformance.errors import UsageError
from conformance.engines.base import Engine, EngineOptions, LaunchSpec, engine_env, free_port
from conformance.engines.registry import register_engine
from conformance.engines.tool_parsers import tool_parser_args

LOOPBACK_ENV = ("DYN_TCP_RPC_HOST", "DYN_TCP_RESPONSE_STREAM_HOST", "DYN_EVENT_PLANE_HOST", "DYN_SYSTEM_HOST")
WORKERS = ("vllm", "mocker", "sglang")
WORKER_ENDPOINT = "generate"  # what the frontend routes a model's requests to, one instance per worker
REJECTED_CARD = "Rejected incompatible workers"  # the frontend's log line for a worker whose card differs


def registered_workers(health: dict) -> int:
    """Worker instances behind the frontend: distinct instance ids of `generate` in its /health."""
    return len({i.get("instance_id") for i in health.get("instances", []) if i.get("endpoint") == WORKER_ENDPOINT})


def _worker_argv(worker: str, opts: EngineOptions) -> list[str]:
    py, model, served = opts.python, str(opts.model), opts.served_model
    parser = tool_parser_args("dynamo", opts.model, opts.extra_args)  # by model family; the user's own wins
    if worker == "mocker":
        # --speedup-ratio: the mocker simulates engine timing; tests want it fast
        return [py, "-m", "dynamo.mocker", "--model-path", model, "--model-name", served,
                "--discovery-backend", "file", "--speedup-ratio", "1000"]
    if worker == "vllm":
        # Dynamo parses tool calls in the frontend: the worker rejects vLLM's own
        # --enable-auto-tool-choice/--tool-call-parser and takes --dyn-tool-call-parser instead.
        return [py, "-m", "dynamo.vllm", "--model", model, "--served-model-name", served,
                "--discovery-backend", "file", "--max-model-len", "1024", "--dtype", "float32",
                "--seed", "0", *parser]
    if worker == "sglang":
        return [py, "-m", "dynamo.sglang", "--model-path", model, "--served-model-name", served,
                "--discovery-backend", "file", *parser]
    raise UsageError(f"unknown Dynamo worker {worker!r}; known: {', '.join(WORKERS)}")


def _own_core(env: dict[str, str], i: int) -> dict[str, str]:
    """vLLM on CPU binds its OpenMP threads to the first free core ("auto"): every worker of a fleet
    would share core 0. Worker i gets core i (modulo the cores we may use), unless the user chose."""
    if "VLLM_CPU_OMP_THREADS_BIND" in env:
        return env
    cores = sorted(os.sched_getaffinity(0))
    return {**env, "VLLM_CPU_OMP_THREADS_BIND": str(cores[i % len(cores)])}


@register_engine
class DynamoEngine(Engine):
    name = "dynamo"
    default_dialect = "dynamo"
    tool_parser_flag = "--dyn-tool-call-parser"  # its workers' (see _worker_argv)
    distributions = ("ai-dynamo",)
    workers = WORKERS
    fleet = True  # its own frontend routes: fleet_launch_specs

    def launch_specs(self, opts: EngineOptions) -> list[LaunchSpec]:
        worker = opts.worker or "vllm"
        port = opts.port or free_port(opts.host)
        kv_dir = Path(tempfile.mkdtemp(prefix="tokconf-dynamo-kv-", dir=opts.work_dir))
        env = engine_env(opts, {**{var: opts.host for var in LOOPBACK_ENV}, "TRANSFORMERS_OFFLINE": "1",
                                "VLLM_CPU_KVCACHE_SPACE": "1",  # GiB; only read by the vLLM worker on CPU
                                # a worker waits this long after SIGTERM for in-flight requests (5 s by
                                # default); tokconf stops an engine only once nothing is in flight
                                "DYN_GRACEFUL_SHUTDOWN_GRACE_PERIOD_SECS": "0"})
        env["DYN_FILE_KV"] = str(kv_dir)  # private discovery: never the user's
        env["DYN_DISCOVERY_BACKEND"] = "file"
        worker_argv = _worker_argv(worker, opts) + list(opts.extra_args)
        frontend_argv = [opts.python, "-m", "dynamo.frontend", "--http-host", opts.host, "--http-port", str(port),
                         "--router-mode", "round-robin", "--discovery-backend", "file"]
        base_url = f"http://{opts.host}:{port}"
        # Worker first: the frontend (last spec) is what serves the API and what readiness waits on;
        # the model is listed only once the worker has registered through DYN_FILE_KV.
        return [
            LaunchSpec(f"dynamo-{worker}", worker_argv, env, base_url),
            LaunchSpec("dynamo-frontend", frontend_argv, env, base_url, ["/v1/models"], opts.served_model),
        ]

    def fleet_launch_specs(self, opts: EngineOptions, size: int) -> list[LaunchSpec]:
        """`size` identical workers sharing one discovery directory, then the frontend (the router)."""
        worker, frontend = self.launch_specs(opts)
        workers = [replace(worker, name=f"{worker.name}-worker{i}", argv=list(worker.argv),
                           env=_own_core(worker.env, i) if worker.name == "dynamo-vllm" else worker.env)
                   for i in range(size)]
        return [*workers, replace(
            frontend, ready_paths=[*frontend.ready_paths, "/health"],
            ready_when={"/health": lambda health: registered_workers(health) >= size},
            fatal_log={REJECTED_CARD: "the frontend rejected a worker whose model card (model path, config, "
                                      "tokenizer or chat template) differs from the first worker's and routes "
                                      "nothing to it: the fleet would be one worker compared with itself"},
            notes={"fleet": f"{size} Dynamo {worker.name.removeprefix('dynamo-')} workers registered for "
                            f"{opts.served_model} behind dynamo.frontend, --router-mode round-robin"})]
