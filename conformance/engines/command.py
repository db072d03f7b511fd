"""Any engine or fork, launched from the user's own command line: `--engine-cmd "..." --ready-url URL`.

The command is split like a POSIX shell would (shlex) into an argv list and run WITHOUT a
shell: no pipes, redirections, globbing or variable expansion, so nothing in it is interpreted
twice. Placeholders are filled inside each argument: {port} (a free port chosen by tokconf),
{model}, {served_model}, {python}. The engine is ready when the ready URL answers 200.
"""
from __future__ import annotations

import shlex
from urllib.parse import urlsplit

from conformance.errors import UsageError
from conformance.engines.base import Engine, EngineOptions, LaunchSpec, engine_env, free_port

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def fill(text: str, values: dict[str, str]) -> str:
    # str.replace, not str.format: engine flags often hold JSON ({"a": 1}) that format would choke on
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


class CommandEngine(Engine):  # not registered: --engine-cmd builds it from the user's command line
    name = "command"
    default_dialect = "vllm"

    def __init__(self, command: str, ready_url: str):
        try:
            self.template = shlex.split(command)
        except ValueError as exc:
            raise UsageError(f"--engine-cmd does not split into arguments: {exc}") from None
        if not self.template:
            raise UsageError("--engine-cmd is empty")
        self.ready_url = ready_url
        self._ready_target(fill(ready_url, {"port": "1"}))  # a bad URL is a usage error before anything starts

    @staticmethod
    def _ready_target(ready_url: str) -> tuple[str, str]:
        """(base URL, readiness path) of a filled-in ready URL."""
        url = urlsplit(ready_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise UsageError(f"--ready-url must be an http(s) URL, got {ready_url!r}")
        if url.hostname not in LOOPBACK:
            raise UsageError(f"--ready-url points at {url.hostname}: a launched engine must listen on 127.0.0.1 "
                             f"(use --base-url to check a remote server)")
        path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        return f"{url.scheme}://{url.netloc}", path

    def launch_specs(self, opts: EngineOptions) -> list[LaunchSpec]:
        port = opts.port or free_port(opts.host)
        values = {"port": str(port), "model": str(opts.model), "served_model": opts.served_model,
                  "python": opts.python}
        argv = [fill(arg, values) for arg in self.template] + list(opts.extra_args)
        base_url, path = self._ready_target(fill(self.ready_url, values))
        return [LaunchSpec("engine", argv, engine_env(opts), base_url, [path], opts.served_model)]
