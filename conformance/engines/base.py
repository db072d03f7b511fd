"""The engine interface: how to launch one engine kind and how to tell that it is ready."""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from conformance.engines.overlays import Overlay
    from conformance.engines.patches import SourcePatch


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@dataclass
class LaunchSpec:
    """One process to start. Ready when every path in `ready_paths` answers 200 (a models path must list `served_model`)."""

    name: str
    argv: list[str]
    env: dict[str, str]
    base_url: str
    ready_paths: list[str] = field(default_factory=list)
    served_model: str = ""
    notes: dict[str, str] = field(default_factory=dict)  # how the launcher set it up, for the report's run info
    # a ready path whose 200 is not enough: ready once the predicate holds on its JSON body
    ready_when: dict[str, Callable[[Any], bool]] = field(default_factory=dict)
    # a line holding one of these in the process's log while it starts: the launch failed (the value says why)
    fatal_log: dict[str, str] = field(default_factory=dict)
    run_info: dict[str, Any] = field(default_factory=dict)  # structured facts for the report's run info (a patch)


def launch_notes(specs: list[LaunchSpec]) -> dict[str, str]:
    """Every launched process's notes, merged: the report's run_info.engine_setup."""
    return {key: value for spec in specs for key, value in spec.notes.items()}


@dataclass
class EngineOptions:
    model: Path | str
    served_model: str
    python: str  # interpreter that has the engine installed
    host: str = "127.0.0.1"
    port: int = 0
    extra_args: list[str] = field(default_factory=list)
    worker: str | None = None  # engines made of a frontend and a worker (Dynamo)
    work_dir: Path | None = None  # the run's folder, for state an engine needs on disk
    api_key: str | None = None  # the server requires it; passed in the environment, never in argv
    overlay: "Overlay | None" = None  # a fork's contract loaded into the engine at start (engines/overlays)
    patch: "SourcePatch | None" = None  # a fork's own source patch, applied to a copy before the start (engines/patches)
    env: dict[str, str] = field(default_factory=dict)  # the user's --engine-env: set last, wins


def engine_env(opts: EngineOptions, defaults: dict[str, str] = {}) -> dict[str, str]:
    """A launched process's environment: tokconf's own, the engine's defaults where the user has
    not set them, then the user's --engine-env (which wins)."""
    env = dict(os.environ)
    for key, value in defaults.items():
        env.setdefault(key, value)
    env.update(opts.env)
    return env


class Engine:
    """One engine kind: how to launch it, and the facts the rest of tokconf reads about it. A kind
    registers itself (engines/registry.py: @register_engine); nothing else lists engines."""

    name: str  # --engine NAME
    default_dialect: str  # the dialect verify uses when --dialect is not given
    # the flag that picks its tool-call parser (the parser per model family: inputs/tool_markup.yaml,
    # which then names a parser for this engine); None: tokconf adds no tool-parser flag
    tool_parser_flag: str | None = None
    # installed distributions its version is read from when the server does not say (default: its name)
    distributions: tuple[str, ...] = ()
    workers: tuple[str, ...] = ()  # what --worker picks from (an engine made of a frontend and workers)
    # --fleet-size N: N workers behind sglang-router, or the engine's own `fleet_launch_specs(opts, size)`
    fleet: bool = False
    fleet_dialect: str | None = None  # a fleet's default dialect when the router changes what carries ids
    # --overlay: the boot folder put first on the engine's PYTHONPATH (engines/overlays) and the
    # variable that names the overlay to it; None: the engine takes no overlay
    overlay_dir: Path | None = None
    overlay_env: str | None = None

    def launch_specs(self, opts: EngineOptions) -> list[LaunchSpec]:
        """Processes to start, in order; the last one serves the OpenAI API."""
        raise NotImplementedError
