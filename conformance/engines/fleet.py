"""A fleet: N workers of one engine kind behind a router, launched and torn down as one target
(`--fleet-size N`), routing round robin, so that N requests sent one at a time reach N different
workers (what fleet.workers_agree relies on). Two kinds:

- SGLang workers behind sglang-router (PyPI, a Rust binary in a wheel, installed in SGLang's
  interpreter). sglang-router 0.3.2 drops SGLang's id opt-in from chat requests (the
  `return_token_ids` and sglext fields, and the answer to the sglext headers): through it only
  the native /generate carries ids, so a launched fleet is verified as `sglang-generate` (the
  engine's `fleet_dialect`) unless --dialect says otherwise. The router neither retries a failed
  request on another worker nor opens a circuit breaker on one: either would bend the rotation.
- Dynamo workers behind Dynamo's own frontend (`--router-mode round-robin`): the engine builds
  that fleet itself (DynamoEngine.fleet_launch_specs); ids come through as for one worker.

Which engines can be a fleet is their `fleet` fact (engines/base.py).

Every process binds 127.0.0.1 (the router's metrics port too).
"""
from __future__ import annotations

from dataclasses import replace

from conformance.engines.base import Engine, EngineOptions, LaunchSpec, engine_env, free_port
from conformance.engines.registry import engine_kinds
from conformance.errors import UsageError

ROUTER_POLICY = "round_robin"


def router_argv(python: str, host: str, port: int, worker_urls: list[str], metrics_port: int) -> list[str]:
    return [python, "-m", "sglang_router.launch_router", "--host", host, "--port", str(port),
            "--worker-urls", *worker_urls, "--policy", ROUTER_POLICY,
            "--prometheus-host", host, "--prometheus-port", str(metrics_port),
            "--worker-startup-check-interval", "1", "--disable-retries", "--disable-circuit-breaker"]


def routed_workers(listing: dict) -> int:
    """Workers the router routes to: the healthy entries of its GET /workers listing. The
    router answers /v1/models as soon as one worker is registered while it retries the others
    with a backoff: a fleet checked then is one worker compared with itself."""
    return sum(1 for w in listing.get("workers", []) if w.get("is_healthy") is True)


def fleet_engines() -> list[str]:
    return [name for name, kind in engine_kinds().items() if kind.fleet]


class Fleet(Engine):
    """`size` workers of `worker` (an Engine), then the router; the router is what serves the API."""

    def __init__(self, worker: Engine, size: int):
        if not worker.fleet:
            raise UsageError(f"--fleet-size launches workers behind a router for "
                             f"{' or '.join(f'--engine {name}' for name in fleet_engines())}, not {worker.name}; "
                             f"for another fleet start it yourself and attach: --base-url ROUTER --fleet-size N")
        self.worker, self.size = worker, size
        self.name = worker.name
        self.workers = worker.workers  # --worker still picks Dynamo's
        self.default_dialect = worker.fleet_dialect or worker.default_dialect

    def launch_specs(self, opts: EngineOptions) -> list[LaunchSpec]:
        if hasattr(self.worker, "fleet_launch_specs"):  # an engine whose own frontend routes (Dynamo)
            return self.worker.fleet_launch_specs(opts, self.size)
        workers = []
        for i in range(self.size):
            *before, spec = self.worker.launch_specs(replace(opts, port=0))  # each on a free port of its own
            workers += [*before, replace(spec, name=f"{spec.name}-worker{i}")]
        port = opts.port or free_port(opts.host)
        urls = [w.base_url for w in workers if w.ready_paths]
        router = LaunchSpec("sglang-router", router_argv(opts.python, opts.host, port, urls, free_port(opts.host)),
                            engine_env(opts), f"http://{opts.host}:{port}", ["/v1/models", "/workers"], opts.served_model,
                            {"fleet": f"{self.size} {self.worker.name} workers ({', '.join(urls)}) behind sglang-router, "
                                      f"policy {ROUTER_POLICY}"},
                            ready_when={"/workers": lambda listing: routed_workers(listing) >= len(urls)})
        return [*workers, router]
