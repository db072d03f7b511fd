"""Engine launchers: one module per engine kind, each a subclass of Engine (base.py) that registers
itself (registry.py). Every module of this package is imported here, so a new kind is one new
file and no other edit; a kind from outside the package comes through conformance.plugins."""
from __future__ import annotations

import importlib
import pkgutil

from conformance.engines.base import Engine
from conformance.engines.registry import engine_kind, engine_kinds, register_engine, registered

# Modules only: the subpackages (overlays, patches) are imported by the engines that use them, and
# the stand-in folders (sglang_cpu, ...) are for an engine's own interpreter, never tokconf's.
for _module in pkgutil.iter_modules(__path__):
    if not _module.ispkg:
        importlib.import_module(f"{__name__}.{_module.name}")

ENGINES = registered()  # name -> class: the table registrations fill (a plugin's too, once loaded)

__all__ = ["ENGINES", "Engine", "engine_kind", "engine_kinds", "get_engine", "register_engine"]


def get_engine(name: str) -> Engine:
    return engine_kind(name)()
