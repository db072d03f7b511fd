"""Best-effort engine version: asked over HTTP (vLLM /version, SGLang /server_info), else read
from the engine's installed distribution. None when neither says; a report then shows null."""
from __future__ import annotations

import subprocess

import httpx

from conformance.engines.registry import engine_kinds
from conformance.wire.transport import tls_context

VERSION_PATHS = ("/version", "/server_info", "/get_server_info")


def version_over_http(base_url: str, api_key: str | None = None, timeout: float = 3.0) -> dict | None:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        with httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, verify=tls_context()) as client:
            for path in VERSION_PATHS:
                try:
                    resp = client.get(path)
                    value = resp.json().get("version") if resp.status_code == 200 else None
                except (httpx.HTTPError, ValueError, AttributeError):
                    continue
                if isinstance(value, str) and value:
                    return {"version": value, "source": f"GET {path}"}
    except httpx.HTTPError:
        pass
    return None


def distributions(engine: str) -> tuple[str, ...]:
    """Where an engine's version is installed: its `distributions`, else a distribution of its name."""
    kind = engine_kinds().get(engine)
    return (kind.distributions if kind else ()) or (engine,)


def installed_version(engine: str, python: str, timeout: float = 30.0) -> dict | None:
    for dist in distributions(engine):
        code = f"import importlib.metadata as m; print(m.version({dist!r}))"
        try:
            res = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=timeout)
        except (OSError, subprocess.TimeoutExpired):
            return None
        if res.returncode == 0 and res.stdout.strip():
            return {"version": res.stdout.strip(), "source": f"installed distribution {dist}"}
    return None


def engine_version(base_url: str, api_key: str | None = None, engine: str | None = None,
                   python: str | None = None) -> dict | None:
    return version_over_http(base_url, api_key) or (installed_version(engine, python) if engine and python else None)
