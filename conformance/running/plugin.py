"""The pytest plugin that runs suites/ against a Target.

It parametrizes every check over the cases it applies to, puts every distinct request the
selected checks need in flight (concurrently, once each; a follow-up as soon as the reply it is
built from is in), runs the checks in the order their requests were sent so each runs as soon
as its own exchanges are in, skips checks whose dialect features are missing, and turns pytest
reports into tokconf Results (in collection order).
"""
from __future__ import annotations

import pytest

from conformance.running import determinism
from conformance.inputs.cases import Case
from conformance.checking.api import CheckInfo, Fail, Inconclusive, check_info
from conformance.dialects import ShapeError
from conformance.wire.exchange import ExchangeError, ProtocolViolation
from conformance.outcomes import Outcome, Result
from conformance.running.evidence import exchange_evidence
from conformance.wire.requests import VARIANTS
from conformance.wire.store import EngineGone, MissingExchange
from conformance.running.target import Target

# what a check raises to give its verdict (as opposed to a bug in it)
VERDICTS = (Fail, Inconclusive, ProtocolViolation, ShapeError, ExchangeError, MissingExchange, EngineGone)


def _case_of(item) -> Case | None:
    """The item's case; None when no case applies (pytest then parametrizes with NOTSET)."""
    case = getattr(item, "callspec", None) and item.callspec.params.get("case")
    return case if isinstance(case, Case) else None


def plan_requests(target: Target, cases: list[Case], checks) -> tuple[list, list[tuple[Case, str]]]:
    """For (CheckInfo, Case | None) pairs: the phase-1 request specs (those built from the cases,
    plus the determinism probe when a check compares with model output), and the (case,
    variant) follow-ups that can only be built from phase-1 replies."""
    wanted: dict[tuple[str, str], tuple[Case, str]] = {}
    wants_determinism = False
    for info, case in checks:
        if any(not target.dialect.has(f) for f in info.requires):
            continue
        wants_determinism |= info.model_output
        if case is not None:
            for v in info.needs:
                wanted.setdefault((case.id, v), (case, v))
    first = [target.request(c, v) for c, v in wanted.values() if not VARIANTS[v].after]
    if wants_determinism:
        first += determinism.probe_requests(target, cases)
    return first, [(c, v) for c, v in wanted.values() if VARIANTS[v].after]


class TokconfPlugin:
    def __init__(self, target: Target, cases: list[Case]):
        self._target = target
        self.cases = cases
        self.results: list[Result] = []  # in the order the checks ran
        self._ranked: list[tuple[int, Result]] = []
        self._order: dict[str, int] = {}
        self.interrupted: BaseException | None = None
        self.progress = None  # conformance.progress: told when each check has a result
        self.selection = None  # conformance.running.selection: -k

    # -- fixtures -------------------------------------------------------------
    @pytest.fixture
    def target(self) -> Target:
        return self._target

    # -- collection -----------------------------------------------------------
    def pytest_generate_tests(self, metafunc):
        info = check_info(metafunc.function)
        if info is None or "case" not in metafunc.fixturenames:
            return
        cases = [c for c in self.cases if info.applies_to(c)]
        metafunc.parametrize("case", cases, ids=[c.id for c in cases])

    @pytest.hookimpl(trylast=True)  # after -k/-m deselection: prefetch only what will run
    def pytest_collection_modifyitems(self, session, config, items):
        if self.selection is not None:
            chosen, dropped = [], []
            for item in items:
                info, case = check_info(item.function), _case_of(item)
                picked = info is not None and self.selection.matches(info.id, case.id if case else None, info.function)
                (chosen if picked else dropped).append(item)
            if dropped:
                config.hook.pytest_deselected(items=dropped)
                items[:] = chosen
        pairs = [(check_info(item.function), _case_of(item)) for item in items if check_info(item.function)]
        first, later = plan_requests(self._target, self.cases, pairs)
        self._order = {item.nodeid: n for n, item in enumerate(items)}
        store = self._target.store
        # behind a router (a fleet) requests that must reach given workers go one at a time with
        # nothing else in flight (the router's turn decides the worker): the checks wait for all
        if hasattr(store, "submit_all_after") and getattr(self._target, "fleet_size", 1) < 2:
            self._send_while_checking(first, later, pairs, items)
        else:
            self._send_then_check(first, later)
        if self.progress:
            self.progress.phase("running checks", sum(check_info(i.function) is not None for i in items))

    def _send_while_checking(self, first, later, pairs, items) -> None:
        """Phase 1 (requests built from the cases, and the determinism probe: the runner may have
        put them in flight while pytest collected) and each follow-up as soon as its base reply is
        in; the checks run meanwhile, those whose requests go out first first."""
        target, store = self._target, self._target.store
        store.submit(first)
        groups: dict[str, tuple] = {}
        for case, variant in later:
            base = target.request(case, VARIANTS[variant].after)
            groups.setdefault(base.key, (base, []))[1].append(lambda c=case, v=variant: target.request(c, v))
        repeat = determinism.repeat_request(target, self.cases) if any(i.model_output for i, _ in pairs) else None
        if repeat is not None:  # after its original, never beside it (determinism.probe_requests)
            groups.setdefault(repeat[0].key, (repeat[0], []))[1].append(repeat[1])
        store.submit_all_after(list(groups.values()))
        position = {s.key: n for n, s in enumerate(first)}
        position.update({(c.id, v): len(first) + n for n, (c, v) in enumerate(later)})

        def sent_last(item) -> int:  # the send position of the last request the check reads
            info, case = check_info(item.function), _case_of(item)
            if info is None or case is None:
                return 0
            if info.model_output and repeat is not None:  # waits for the determinism verdict
                last = position.get(repeat[0].key, 0)
            else:
                last = 0
            for v in info.needs:
                try:
                    key = (case.id, v) if VARIANTS[v].after else target.request(case, v).key
                except Exception:  # a request that cannot be built: the check says why, early
                    continue
                last = max(last, position.get(key, 0))
            return last

        items.sort(key=sent_last)  # stable: collection order among equals

    def _send_then_check(self, first, later) -> None:
        """A store without in-flight sending (a recording), or a fleet: each phase fetched before
        the checks."""
        self._target.store.prefetch(first)
        specs = []
        for case, variant in later:
            try:
                specs.append(self._target.request(case, variant))
            except Exception:  # the base reply cannot be built on; the check reports why when it runs
                continue
        if specs:
            self._target.store.prefetch(specs)

    def ordered_results(self) -> list[Result]:
        """The results in collection order (checks run in send order)."""
        return [r for _, r in sorted(self._ranked, key=lambda pair: pair[0])]

    def determinism(self) -> determinism.Determinism:
        return determinism.assess(self._target, self.cases)

    def _missing_features(self, info: CheckInfo) -> list[str]:
        return [f for f in info.requires if not self._target.dialect.has(f)]

    @pytest.hookimpl(tryfirst=True)  # before the terminal reporter's, which can crash rendering it
    def pytest_keyboard_interrupt(self, excinfo):
        self.interrupted = excinfo.value  # pytest swallows Ctrl-C / SIGTERM; the runner re-raises it

    # -- running --------------------------------------------------------------
    def pytest_runtest_setup(self, item):
        info = check_info(item.function)
        if info is None:
            return
        if _case_of(item) is None:  # parametrized with an empty case list
            pytest.skip(f"no case applies (the check needs cases tagged {list(info.case_tags) or 'as its filter says'})")
        missing = self._missing_features(info)
        if missing:
            pytest.skip(f"dialect {self._target.dialect.name} does not declare {', '.join(missing)}")
        if info.model_output:
            verdict = self.determinism()
            if verdict.deterministic is False:
                raise Inconclusive(verdict.reason, **verdict.evidence)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(self, item, call):
        """A check's verdict (Fail, Inconclusive, an exchange error) as a report whose text is its
        message: pytest's own formats the traceback with the source parsed (~13 ms a verdict,
        most of a run's checking time). Anything else (a bug in a check) keeps the traceback."""
        exc = call.excinfo.value if call.excinfo is not None else None
        if check_info(item.function) is None or not isinstance(exc, VERDICTS):
            return None
        return pytest.TestReport(item.nodeid, item.location, {}, "failed", str(exc), call.when,
                                 duration=call.duration, start=call.start, stop=call.stop)

    # A new-style wrapper: a signal landing in its teardown (SIGTERM while a result is recorded) is
    # re-raised as is; an old-style one made pluggy print a PluggyTeardownRaisedWarning first.
    @pytest.hookimpl(wrapper=True, specname="pytest_runtest_makereport")
    def pytest_runtest_makereport_record(self, item, call):  # pytest reads only pytest_* names
        report = yield
        info = check_info(item.function)
        if info is None:
            return report
        if call.when == "call" or (call.when == "setup" and report.outcome != "passed"):
            case = _case_of(item)
            result = self._result(info, case.id if case else None, call, report)
            if case is not None and result.outcome is not Outcome.SKIP:
                result.exchanges = exchange_evidence(self._target, case, info.needs,
                                                     with_response=result.outcome is not Outcome.PASS)
            self.results.append(result)
            self._ranked.append((self._order.get(item.nodeid, len(self._order)), result))
            if self.progress:
                self.progress.advance()
        return report

    @staticmethod
    def _result(info: CheckInfo, case: str | None, call, report) -> Result:
        duration = call.duration
        if call.excinfo is None:
            return Result(info.id, case, Outcome.PASS, "", duration)
        exc = call.excinfo.value
        evidence = dict(getattr(exc, "evidence", {}) or {})
        if isinstance(exc, pytest.skip.Exception):
            return Result(info.id, case, Outcome.SKIP, str(exc.msg), duration)
        if isinstance(exc, Inconclusive):
            return Result(info.id, case, Outcome.INCONCLUSIVE, str(exc), duration, evidence)
        if isinstance(exc, Fail):
            return Result(info.id, case, Outcome.FAIL, str(exc), duration, evidence)
        if isinstance(exc, AssertionError):  # a bare assert in a user's check
            return Result(info.id, case, Outcome.FAIL, str(exc) or report.longreprtext[-500:], duration)
        if isinstance(exc, (ProtocolViolation, ShapeError)):  # the engine answered, in the wrong shape
            return Result(info.id, case, Outcome.FAIL, str(exc), duration, evidence)
        if isinstance(exc, (ExchangeError, MissingExchange, EngineGone)):
            return Result(info.id, case, Outcome.ERROR, str(exc), duration, evidence)  # EngineGone: the log tail
        return Result(info.id, case, Outcome.ERROR, f"internal error in the check: {type(exc).__name__}: {exc}",
                      duration, {"traceback": report.longreprtext[-2000:]})
