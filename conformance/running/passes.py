"""A run of the catalogue (verify's, each of compare's targets, selftest's rounds): one pass over a
live server (or `repeat` passes, each with fresh requests, folded into one result per check and
case), or over a store that already holds the answers (a recording, selftest's fault proxy)."""
from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from rich.console import Console

from conformance.outcomes import Result
from conformance.running.target import Target


@dataclass
class Run:
    results: list[Result]
    requests_sent: int
    target: Target  # the first pass's: its traits
    inspected: Any = None  # what `inspect` made of the first pass's target, while it could still send

    @property
    def traits(self) -> dict:
        """What the first pass learnt about the engine (the determinism pre-check)."""
        return self.target.traits


def _shown(console: Console | None, progress):
    """The progress a pass reports to: the caller's; else a bar on `console` (a few lines in a CI
    log); none without a console (selftest's rounds, under its own status line)."""
    from conformance.progress import run_progress

    if progress is not None or console is None:
        return nullcontext(progress)
    return run_progress(console)


def run_live(console: Console | None, base_url: str, make_target: Callable[[Any], Target], cases, *,
             api_key: str | None, request_timeout: float, run_timeout: float | None, concurrency: int,
             select: str | None, liveness=None, record: Path | None = None, repeat: int = 1, dialect_name: str = "",
             progress=None, inspect: Callable[[Target], Any] | None = None, cancels: bool = True) -> Run:
    """`progress`: the caller's (compare shows one for all its targets), else one per pass.
    `cancels`: whether the store may cancel a stream mid-way (abort.client_cancel; not through a proxy).
    `run_timeout`: seconds a pass may take (None: no bound but each request's). `inspect`: called
    on the first pass's target before its sender closes (compare collects each case's ids, and a
    case the -k selection left unsent is sent then)."""
    from conformance.running.runner import run_checks
    from conformance.wire.store import LiveStore
    from conformance.wire.transport import Sender

    passes, sent, first, inspected = [], 0, None, None
    for n in range(repeat):
        if n:
            console.print(f"pass {n + 1} of {repeat}", highlight=False)
        deadline = None if run_timeout is None else time.monotonic() + run_timeout
        with Sender(base_url, api_key=api_key, timeout=request_timeout, concurrency=concurrency,
                    run_deadline=deadline) as sender:
            # a fresh store per pass: every request is sent again, so comparisons see fresh answers
            store = LiveStore(sender, liveness=liveness, cancels=cancels)
            target = make_target(store)
            with _shown(console, progress) as shown:
                passes.append(run_checks(target, cases, select=select, progress=shown))
            if n == 0 and inspect is not None:
                inspected = inspect(target)
        first = first or target
        sent += store.requests_sent
        if record and n == 0:
            store.write_jsonl(record, dialect=dialect_name)
        if liveness and liveness():
            break  # the remaining passes would only repeat "engine exited"
    if repeat == 1:
        return Run(passes[0], sent, first, inspected)
    from conformance.running.repeat import fold

    return Run(fold(passes + [[]] * (repeat - len(passes))), sent, first, inspected)


def run_stored(console: Console | None, store, make_target: Callable[[Any], Target], cases, select: str | None,
               progress=None, inspect: Callable[[Target], Any] | None = None) -> Run:
    """The catalogue over a store that answers without a server of its own: a recording
    (RecordedStore), or selftest's fault proxy asked in-process (ProxyStore)."""
    from conformance.running.runner import run_checks

    target = make_target(store)
    with _shown(console, progress) as shown:
        results = run_checks(target, cases, select=select, progress=shown)
    return Run(results, store.requests_sent, target, inspect(target) if inspect is not None else None)


def run_replay(console: Console | None, recording: Path, make_target: Callable[[Any], Target], cases,
               select: str | None, progress=None, inspect: Callable[[Target], Any] | None = None) -> Run:
    """The catalogue over a recording (`verify --record`, or a shipped one): nothing is sent."""
    from conformance.wire.store import RecordedStore

    return run_stored(console, RecordedStore.from_jsonl(recording), make_target, cases, select, progress, inspect)
