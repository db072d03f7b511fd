"""rllm-model-gateway (PyPI) as a second managed process in front of an engine.

The gateway proxies `/sessions/{id}/v1/...` to its worker, injects `logprobs` and
`return_token_ids` into every request, strips the id fields from what the agent receives and
stores a TraceRecord per call (SQLite at `db_path`). Its argv is a list; it binds 127.0.0.1.
"""
from __future__ import annotations

import os
from pathlib import Path

from conformance.engines.base import LaunchSpec, free_port


def gateway_spec(worker_base_url: str, db_path: Path, python: str, served_model: str,
                 host: str = "127.0.0.1", port: int = 0) -> LaunchSpec:
    """The gateway process. Ready once it lists the worker's model (its /v1/models is proxied),
    so it is started after the engine and waited for last."""
    port = port or free_port(host)
    argv = [python, "-m", "rllm_model_gateway", "--host", host, "--port", str(port),
            "--worker", worker_base_url.rstrip("/") + "/v1", "--db-path", str(db_path), "--store", "sqlite",
            "--log-level", "info"]
    env = dict(os.environ)
    return LaunchSpec("gateway", argv, env, f"http://{host}:{port}", ["/health", "/v1/models"], served_model)
