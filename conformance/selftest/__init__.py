"""`tokconf selftest`: prove the suite bites, on a real target.

A clean round runs every check through the fault proxy (no false alarm allowed), then one
round per fault, each with that one fault injected into the target's real responses. A fault
counts as detected when some check FAILS in its round that did not fail in the clean round;
ERROR is not detection (a check that crashes proves nothing). A fault that found nothing to
break in this target's responses is reported as not applicable and left out of the score.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from conformance.inputs.cases import Case
from conformance.selftest.faults import FAULTS, Fault, FaultContext
from conformance.outcomes import Outcome, Result
from conformance.running.passes import run_live, run_stored
from conformance.running.target import Target
from conformance.wire.transport import Sender
from conformance.selftest.proxy import FaultProxy
from conformance.selftest.round_store import ProxyStore


@dataclass
class FaultVerdict:
    fault: str
    bug_class: str
    mode: str
    applied_to: list[str] = field(default_factory=list)  # "case/variant" labels it mutated
    caught_by: list[str] = field(default_factory=list)  # "check[case]" that FAILED only under it
    errors: list[str] = field(default_factory=list)  # "check[case]" that ERRORED only under it
    elapsed: float = 0.0

    @property
    def applicable(self) -> bool:
        return bool(self.applied_to)

    @property
    def detected(self) -> bool:
        return bool(self.caught_by)

    def to_json(self) -> dict:
        return {"fault": self.fault, "bug_class": self.bug_class, "mode": self.mode, "applicable": self.applicable,
                "detected": self.detected, "applied_to": self.applied_to, "caught_by": self.caught_by,
                "errors_only": self.errors, "elapsed": round(self.elapsed, 3)}


@dataclass
class SelftestReport:
    clean: list[Result]
    verdicts: list[FaultVerdict]
    upstream_requests: int  # over all rounds (a follow-up turn built from a mutated reply is new)
    elapsed: float
    clean_upstream_requests: int = 0  # the clean round's: each distinct request once

    @property
    def false_alarms(self) -> list[Result]:
        return [r for r in self.clean if r.outcome.failed]

    @property
    def applicable(self) -> list[FaultVerdict]:
        return [v for v in self.verdicts if v.applicable]

    @property
    def missed(self) -> list[FaultVerdict]:
        return [v for v in self.applicable if not v.detected]

    @property
    def score(self) -> float | None:
        n = len(self.applicable)
        return None if n == 0 else (n - len(self.missed)) / n

    @property
    def ok(self) -> bool:
        return not self.false_alarms and not self.missed and bool(self.applicable)

    def to_json(self) -> dict:
        return {
            "mutation_score": self.score,
            "faults_applicable": len(self.applicable),
            "faults_detected": len(self.applicable) - len(self.missed),
            "clean": {"results": [r.to_json() for r in self.clean],
                      "false_alarms": [f"{r.check}[{r.case}]" for r in self.false_alarms]},
            "faults": [v.to_json() for v in self.verdicts],
            "upstream_requests": self.upstream_requests,
            "clean_upstream_requests": self.clean_upstream_requests,
            "elapsed": round(self.elapsed, 3),
        }


def _where(r: Result) -> str:
    return f"{r.check}[{r.case}]" if r.case else r.check


def run_selftest(upstream: Sender, target_template: Target, cases: list[Case], faults: list[Fault] | None = None,
                 select: str | None = None, concurrency: int = 4,
                 progress: Callable[[str], None] = lambda msg: None) -> SelftestReport:
    """`target_template` gives the dialect, tokenizer and served model; its store is not used."""
    start = time.monotonic()
    faults = list(FAULTS.values()) if faults is None else faults
    ctx = FaultContext(target_template.dialect, target_template.tokenizer)
    proxy = FaultProxy(upstream, ctx)
    labels: dict[str, str] = {}

    requests: dict = {}  # the requests built from the cases, built once for every round

    def make_target(store) -> Target:
        return Target(target_template.dialect, target_template.tokenizer, store, target_template.model,
                      baseline=target_template.baseline, fleet_size=target_template.fleet_size, built=requests)

    def round_(fault: Fault | None) -> list[Result]:
        proxy.start_round(fault)
        # The clean round goes over HTTP through the proxy, concurrently, and fills its copies; a
        # fault round asks the proxy in-process (ProxyStore): the same answers, nothing re-sent.
        # A fresh store each round; no progress of their own (the command's status line says which).
        # No cancel (abort.client_cancel SKIPs): the proxy fetches the whole response from the engine
        # and answers from its copy, so a cancel would never reach the engine.
        if fault is None:
            run = run_live(None, url, make_target, cases, api_key=None, request_timeout=upstream.timeout,
                           run_timeout=None, concurrency=concurrency, select=select, cancels=False)
        else:
            run = run_stored(None, ProxyStore(proxy), make_target, cases, select)
        labels.update(run.target.store.labels)
        return run.results

    with proxy as url:
        progress("clean round (fetching each distinct request from the target once)")
        clean = round_(None)
        clean_upstream = proxy.upstream_requests
        before = {(r.check, r.case): r.outcome for r in clean}
        verdicts = []
        for i, fault in enumerate(faults, 1):
            progress(f"fault {i}/{len(faults)}: {fault.name}")
            t0 = time.monotonic()
            results = round_(fault)
            v = FaultVerdict(fault.name, fault.bug_class, fault.mode,
                             applied_to=sorted(labels.get(k, k) for k in proxy.mutated))
            for r in results:
                was = before.get((r.check, r.case))
                if r.outcome is Outcome.FAIL and was is not Outcome.FAIL:
                    v.caught_by.append(_where(r))
                elif r.outcome is Outcome.ERROR and was is not Outcome.ERROR:
                    v.errors.append(_where(r))
            v.elapsed = time.monotonic() - t0
            verdicts.append(v)
        upstream_requests = proxy.upstream_requests
    return SelftestReport(clean, verdicts, upstream_requests, time.monotonic() - start, clean_upstream)
