"""verify's run: one pass of the catalogue over a live server (or `repeat` passes, each with fresh
requests, folded into one result per check and case), or over a recording."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from rich.console import Console

from conformance.outcomes import Result
from conformance.running.target import Target


def run_live(console: Console, base_url: str, make_target: Callable[[Any], Target], cases, *, api_key: str | None,
             request_timeout: float, run_timeout: float, concurrency: int, select: str | None,
             liveness=None, record: Path | None = None, repeat: int = 1,
             dialect_name: str = "") -> tuple[list[Result], int, dict]:
    """(results, requests sent, what the first pass learnt about the engine)."""
    from conformance.progress import run_progress
    from conformance.running.runner import run_checks
    from conformance.wire.store import LiveStore
    from conformance.wire.transport import Sender

    passes, sent, traits = [], 0, {}
    for n in range(repeat):
        if n:
            console.print(f"pass {n + 1} of {repeat}", highlight=False)
        sender = Sender(base_url, api_key=api_key, timeout=request_timeout, concurrency=concurrency,
                        run_deadline=time.monotonic() + run_timeout)
        # a fresh store per pass: every request is sent again, so comparisons see fresh answers
        store = LiveStore(sender, liveness=liveness)
        target = make_target(store)
        try:
            with run_progress(console) as progress:  # a bar in a terminal, a few lines in a CI log
                passes.append(run_checks(target, cases, select=select, progress=progress))
        finally:
            sender.close()
        if n == 0:
            traits = target.traits
        sent += store.requests_sent
        if record and n == 0:
            store.write_jsonl(record, dialect=dialect_name)
        if liveness and liveness():
            break  # the remaining passes would only repeat "engine exited"
    if repeat == 1:
        return passes[0], sent, traits
    from conformance.running.repeat import fold

    return fold(passes + [[]] * (repeat - len(passes))), sent, traits


def run_replay(console: Console, recording: Path, make_target: Callable[[Any], Target], cases,
               select: str | None) -> tuple[list[Result], int, dict]:
    """The catalogue over a recording (`verify --record`, or a shipped one): nothing is sent."""
    from conformance.progress import run_progress
    from conformance.running.runner import run_checks
    from conformance.wire.store import RecordedStore

    target = make_target(RecordedStore.from_jsonl(recording))
    with run_progress(console) as progress:
        results = run_checks(target, cases, select=select, progress=progress)
    return results, 0, target.traits
