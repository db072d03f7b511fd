"""Extensions from outside the package: a user's own report format or engine launcher is one module
that registers itself when imported (the registries: conformance.reporting.formats,
conformance.engines). tokconf imports, once and before it declares its commands (so their flags
and choices include the extension):

- the modules named in $TOKCONF_PLUGINS (comma-separated, importable from sys.path), and
- the entry points of group `tokconf.plugins` of installed distributions.

A plugin that fails to import is bad input: one line naming it (exit 2), never a traceback. The
commands are declared while tokconf's CLI module is imported, before any command can say so: the
failure is kept (`failure()`), and every command then exits 2 with it (session.exits.CommandGroup).
"""
from __future__ import annotations

import functools
import importlib
import os

ENV_VAR = "TOKCONF_PLUGINS"
ENTRY_POINT_GROUP = "tokconf.plugins"
_loaded: list[str] = []
_failure: list[str] = []


def named() -> list[str]:
    return [name.strip() for name in os.environ.get(ENV_VAR, "").split(",") if name.strip()]


def failure() -> str | None:
    """Why a plugin did not load, if one did not."""
    return _failure[0] if _failure else None


@functools.lru_cache(maxsize=1)
def _entry_points() -> tuple:
    """The installed distributions' plugins: scanned once (4-10 ms each time, and every engine
    lookup loads the plugins); the installed distributions do not change while tokconf runs."""
    from importlib.metadata import entry_points

    return tuple(entry_points(group=ENTRY_POINT_GROUP))


def load() -> list[str]:
    """Import every plugin not imported yet; the names imported. A failure is kept, not raised."""
    found = [(name, lambda name=name: importlib.import_module(name)) for name in named()]
    found += [(ep.value, ep.load) for ep in _entry_points()]
    for name, load_one in found:
        if name in _loaded:
            continue
        try:
            load_one()
        except Exception as exc:  # an ImportError, or the plugin's own error while registering
            if not _failure:
                _failure.append(f"plugin {name} ({ENV_VAR} or entry point {ENTRY_POINT_GROUP}) failed to load: "
                                f"{type(exc).__name__}: {exc}")
            continue
        _loaded.append(name)
    return list(_loaded)
