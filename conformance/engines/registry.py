"""The engine kinds `--engine NAME` launches. Each registers itself where it is defined, so adding
one is one file:

    @register_engine
    class MyEngine(Engine):  # engines/base.py: the facts an engine declares, with their defaults
        name = "my"
        default_dialect = "vllm"
        def launch_specs(self, opts): ...

A module of this package is imported with the package (engines/__init__.py finds them all); one
from outside comes through conformance.plugins ($TOKCONF_PLUGINS, entry points), which every
lookup loads first: a plugin's engine is known wherever an engine name is read.
"""
from __future__ import annotations

from conformance.engines.base import Engine
from conformance.errors import UsageError

_KINDS: dict[str, type[Engine]] = {}


def register_engine(cls: type[Engine]) -> type[Engine]:
    """Class decorator: `--engine cls.name` launches `cls()`."""
    if not (isinstance(cls, type) and issubclass(cls, Engine)) or cls.launch_specs is Engine.launch_specs \
            or not all(isinstance(getattr(cls, fact, None), str) and getattr(cls, fact) for fact in ("name", "default_dialect")):
        raise TypeError(f"{getattr(cls, '__qualname__', cls)}: an engine is a subclass of "
                        f"conformance.engines.base.Engine with a name, a default_dialect and launch_specs(opts)")
    known = _KINDS.get(cls.name)
    # the same class imported again (a reloaded module) replaces itself; another one is a clash
    if known is not None and (known.__module__, known.__qualname__) != (cls.__module__, cls.__qualname__):
        raise ValueError(f"engine {cls.name!r} is already registered by {known.__module__}.{known.__qualname__}")
    _KINDS[cls.name] = cls
    return cls


def registered() -> dict[str, type[Engine]]:
    """The live table (name -> class): what has registered so far, plugins not loaded."""
    return _KINDS


def engine_kinds() -> dict[str, type[Engine]]:
    """Every engine kind by name, sorted: the package's own and the plugins'."""
    from conformance import plugins

    plugins.load()
    return dict(sorted(_KINDS.items()))


def engine_kind(name: str) -> type[Engine]:
    """The class of `--engine name`; an unknown name is a UsageError (exit 2) listing the known ones."""
    kinds = engine_kinds()
    try:
        return kinds[name]
    except KeyError:
        raise UsageError(f"unknown engine {name!r}; known: {', '.join(kinds)}") from None
