"""Engine launchers. Each kind lives in its own module behind the Engine interface (base.py)."""
from __future__ import annotations

from conformance.errors import UsageError
from conformance.engines.base import Engine
from conformance.engines.dynamo import DynamoEngine
from conformance.engines.sglang import SglangEngine
from conformance.engines.vllm import VllmEngine

ENGINES: dict[str, type] = {"vllm": VllmEngine, "dynamo": DynamoEngine, "sglang": SglangEngine}


def get_engine(name: str) -> Engine:
    try:
        return ENGINES[name]()
    except KeyError:
        raise UsageError(f"unknown engine {name!r}; known: {', '.join(sorted(ENGINES))}") from None
