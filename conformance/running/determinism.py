"""The determinism pre-check: does the engine give the same ids when a greedy request is repeated?

Checks that compare ids with the model's text or across requests (`model_output=True`) only
mean something when greedy decoding reproduces itself. Dynamo's mocker, for one, runs no model
and emits random ids; on such an engine those checks are INCONCLUSIVE with this reason, never
FAIL. The probe sends the first greedy case's non-stream request a second time (attempt 1), so
it costs one extra request per run. Behind a router (a fleet, --fleet-size N) two requests may reach
two workers, so the pair compared is one worker's: see `repeat_pair`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conformance.inputs.cases import Case
from conformance.wire.exchange import ExchangeError
from conformance.wire.store import MissingExchange

PROBE_VARIANT = "nonstream"


@dataclass(frozen=True)
class Determinism:
    deterministic: bool | None  # None: could not tell (and the checks run as usual)
    reason: str
    case: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)


def probe_case(cases: list[Case]) -> Case | None:
    return next((c for c in cases if c.is_greedy), None)


def probe_requests(target, cases: list[Case]) -> list:
    """The first request of the pair, for the prefetch batch. The repeat is sent later, alone:
    a repeat batched with its original could differ through batching, not the engine."""
    case = probe_case(cases)
    if case is None or not target.dialect.has("ids.nonstream"):
        return []
    return [target.request(case, PROBE_VARIANT)]


def repeat_pair(target) -> tuple[int, int]:
    """The two attempts of the probe request that must be one engine's answers. One engine: the
    original (0) and a repeat (1). A fleet of N behind a round-robin router: repeats 1..N+1 are sent
    one at a time, back to back, so 1 and N+1 reach the same worker (suites/check_fleet.py compares
    the workers, and reuses repeats 1..N)."""
    n = getattr(target, "fleet_size", 1)
    return (0, 1) if n < 2 else (1, n + 1)


def repeat_request(target, cases: list[Case]):
    """(the probe's first request, a builder of its repeat): the repeat is sent once the first
    is in, so the two never share a batch. None behind a router (a fleet): its repeats go one at a
    time, in order, when the verdict is first asked (assess)."""
    first = probe_requests(target, cases)
    if not first or repeat_pair(target) != (0, 1):
        return None
    case = probe_case(cases)
    return first[0], lambda: target.request(case, PROBE_VARIANT, attempt=1)


def assess(target, cases: list[Case]) -> Determinism:
    """The verdict for this run, computed once and kept in target.traits."""
    if "determinism" not in target.traits:
        target.traits["determinism"] = _assess(target, cases)
    return target.traits["determinism"]


def _assess(target, cases: list[Case]) -> Determinism:
    case = probe_case(cases)
    if case is None:
        return Determinism(None, "no greedy case (temperature 0, n 1) to repeat")
    if not target.dialect.has("ids.nonstream"):
        return Determinism(None, f"dialect {target.dialect.name} exposes no non-stream ids to compare", case.id)
    lo, hi = repeat_pair(target)
    where = "" if lo == 0 else f" to the same worker (repeats {lo} and {hi}, sent back to back through the router)"
    try:
        for attempt in range(lo, hi):  # in order, one at a time: the router's turn decides the worker
            target.exchange(case, PROBE_VARIANT, attempt=attempt)
        first = target.exchange(case, PROBE_VARIANT, attempt=lo).ok().json
        second = target.exchange(case, PROBE_VARIANT, attempt=hi).ok().json
    except MissingExchange:
        return Determinism(None, "the recording has no repeated request", case.id)
    except ExchangeError as exc:
        return Determinism(None, f"the probe request failed: {exc}", case.id)
    a, b = target.dialect.completion_ids(first), target.dialect.completion_ids(second)
    if not isinstance(a, list) or not isinstance(b, list):
        return Determinism(None, "the probe responses carry no completion id lists", case.id)
    if a == b:
        return Determinism(True, f"case {case.id!r} sent twice{where} at temperature 0 gave the same {len(a)} ids",
                           case.id)
    return Determinism(False, f"the engine is not deterministic (determinism pre-check: case {case.id!r} sent "
                              f"twice{where} at temperature 0 gave {a[:4]}… then {b[:4]}…)", case.id,
                       {"first": a, "second": b})
