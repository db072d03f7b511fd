"""Engine launchers. Each kind lives in its own module behind the Engine interface (base.py)."""
from __future__ import annotations

from ..errors import UsageError
from .base import Engine
from .dynamo import DynamoEngine
from .sglang import SglangEngine
from .vllm import VllmEngine

ENGINES: dict[str, type] = {"vllm": VllmEngine, "dynamo": DynamoEngine, "sglang": SglangEngine}


def get_engine(name: str) -> Engine:
    try:
        return ENGINES[name]()
    except KeyError:
        raise UsageError(f"unknown engine {name!r}; known: {', '.join(sorted(ENGINES))}") from None
