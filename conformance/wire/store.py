"""Exchange stores: where checks get exchanges from. Live (sends once, caches) or recorded."""
from __future__ import annotations

import json
import threading
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterable

from conformance.wire.exchange import Exchange
from conformance.wire.requests import RequestSpec
from conformance.wire.transport import Sender


class MissingExchange(Exception):
    pass


class EngineGone(Exception):
    """The engine under test exited; the exchange failed because nobody was there to answer."""

    def __init__(self, message: str, log_tail: str = ""):
        super().__init__(message)
        self.evidence = {"engine_log_tail": log_tail} if log_tail else {}


class AnsweredRequests:
    """What a store that asks has asked: exchanges by request key, and their "case/variant" labels."""

    def __init__(self):
        self._cache: dict[str, Exchange] = {}
        self._labels: dict[str, str] = {}

    @property
    def requests_sent(self) -> int:
        return len(self._cache)

    @property
    def labels(self) -> dict[str, str]:
        """Request key -> "case/variant" for every request seen."""
        return dict(self._labels)


class LiveStore(AnsweredRequests):
    """Sends each distinct request at most once. submit() puts requests in flight (concurrently,
    `sender.concurrency` at a time) and returns; get() waits for that one request only, so a
    check can run as soon as its own exchanges are in. prefetch() submits and waits for all."""

    def __init__(self, sender: Sender, liveness: Callable[[], object] | None = None, cancels: bool = True):
        super().__init__()
        self.sender = sender
        # whether cancel() reaches the engine: not through tokconf's selftest proxy, which fetches
        # each response whole from the engine and answers from that copy
        self.cancels = cancels
        self._cancelled = 0  # cancels sent (never cached: each is a request of its own)
        self.liveness = liveness  # returns the dead engine process, if any
        self._pending: dict[str, Future] = {}
        self._lock = threading.RLock()
        self._pool: ThreadPoolExecutor | None = None
        self.progress = None  # a progress.LineProgress/BarProgress, told as requests complete

    # -- sending ----------------------------------------------------------------
    def submit(self, specs: Iterable[RequestSpec], phase: str = "sending requests") -> None:
        """Put every distinct request not yet sent in flight; `phase` names them in the progress."""
        specs = list(specs)
        with self._lock:
            for s in specs:
                self._labels.setdefault(s.key, s.label)
            if self._engine_dead():
                return  # the engine has exited: get() reports it per check, nothing is sent
            todo = list({s.key: s for s in specs if s.key not in self._cache and s.key not in self._pending}.values())
            if not todo:
                return
            tick = self.progress.phase(phase, len(todo)).advance if self.progress else None
            for spec in todo:
                self._start(spec, tick)

    def submit_all_after(self, groups: list[tuple[RequestSpec, list[Callable[[], RequestSpec]]]],
                         phase: str = "sending follow-ups") -> None:
        """Follow-ups, each group (base request, builds) on its own base: each build makes its
        request from the base reply (read from this store) once that reply is in, and it is sent
        at once. A build that raises sends nothing (the check that reads it reports why)."""
        total = sum(len(b) for _, b in groups)
        if not total or self._engine_dead():
            return
        tick = self.progress.phase(phase, total).advance if self.progress else None
        for base, builds in groups:
            self.submit([base])

            def send_followups(_=None, builds=builds):
                for build in builds:
                    try:
                        spec = build()
                    except Exception:  # the base cannot be built on
                        spec = None
                    with self._lock:
                        fresh = spec is not None and spec.key not in self._cache and spec.key not in self._pending \
                            and not self._engine_dead()
                        if spec is not None:
                            self._labels.setdefault(spec.key, spec.label)
                        if fresh:
                            self._start(spec, tick)
                    if not fresh and tick:
                        tick()  # nothing (new) to send for it: counted as done

            with self._lock:
                future = self._pending.get(base.key)
            if future is None:
                send_followups()  # the base is in already (or could not be sent)
            else:
                future.add_done_callback(send_followups)

    def prefetch(self, specs: Iterable[RequestSpec]) -> None:
        """submit(), then wait until each of them is in."""
        specs = list(specs)
        self.submit(specs)
        for s in specs:
            self._wait(s.key)

    def prefetch_in_background(self, specs: Iterable[RequestSpec]) -> None:
        """The caller goes on (pytest collects) while the requests are in flight."""
        self.submit(specs)

    def close(self) -> None:
        """Stop sending what is not in flight yet; what is in flight ends with the sender."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def _start(self, spec: RequestSpec, tick) -> None:
        """Submit one request (the caller holds the lock and has checked it is new)."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.sender.concurrency, thread_name_prefix="tokconf-send")
        future = self._pool.submit(self.sender.send, spec)
        self._pending[spec.key] = future

        def done(fut: Future, key=spec.key):
            with self._lock:
                if not fut.cancelled() and fut.exception() is None:
                    self._cache.setdefault(key, fut.result())
                self._pending.pop(key, None)
            if tick and not fut.cancelled():
                tick()

        future.add_done_callback(done)

    def _wait(self, key: str) -> None:
        """Until the request `key` is in, if it is in flight (its result may beat its callback)."""
        with self._lock:
            future = self._pending.get(key)
        if future is None:
            return
        try:
            ex = future.result()  # raises what send() raised (a bug: it records transport errors)
        except CancelledError:
            return
        with self._lock:
            self._cache.setdefault(key, ex)

    def _engine_dead(self) -> bool:
        return bool(self.liveness and self.liveness() is not None)

    def get(self, spec: RequestSpec) -> Exchange:
        self._wait(spec.key)
        if spec.key not in self._cache:  # not planned: sent now (after what is queued before it)
            self._raise_if_engine_gone(None)  # nothing is sent to an engine that has exited
            with self._lock:
                self._labels.setdefault(spec.key, spec.label)
                if spec.key not in self._cache and spec.key not in self._pending:
                    self._start(spec, None)
            self._wait(spec.key)
        ex = self._cache.get(spec.key)
        if ex is None:  # cancelled: the run is being torn down
            raise MissingExchange(f"{spec.label or spec.path}: not sent (the run was stopped)")
        if ex.error:
            self._raise_if_engine_gone(ex.error)
        return ex

    @property
    def requests_sent(self) -> int:
        return len(self._cache) + self._cancelled

    def cancel(self, spec: RequestSpec, until: Callable[[str], bool]) -> Exchange:
        """Send a stream now and close it once `until` holds of the events received (a client that
        cancels: Sender.send). Never cached, never recorded: each call is a new request, and a
        recording could not replay the cut (RecordedStore has no cancel)."""
        self._raise_if_engine_gone(None)
        with self._lock:
            self._cancelled += 1
        ex = self.sender.send(spec, until=until)
        if ex.error:
            self._raise_if_engine_gone(ex.error)
        return ex

    def peek(self, spec: RequestSpec) -> Exchange | None:
        """The exchange if it was sent (waiting for it if in flight); never sends (reports must
        not cause traffic)."""
        self._wait(spec.key)
        return self._cache.get(spec.key)

    def _raise_if_engine_gone(self, error: str | None) -> None:
        dead = self.liveness() if self.liveness else None
        if dead is not None:
            detail = f": {error}" if error else "; request not sent"
            raise EngineGone(f"engine exited (code {dead.exit_code()}){detail}", dead.log_tail(20))

    def write_jsonl(self, path: Path, **extra) -> None:
        """Save every exchange, labelled "case/variant", in the recording format."""
        from conformance.redact import RedactingStream

        path.parent.mkdir(parents=True, exist_ok=True)
        with RedactingStream(open(path, "w", encoding="utf-8")) as fh:
            for key, ex in self._cache.items():
                label, _, attempt = self._labels.get(key, "").partition("#")
                case, _, variant = label.partition("/")
                rec = ex.to_record(**extra, case=case, variant=variant, **({"attempt": int(attempt)} if attempt else {}))
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")


# a recorded exchange's keys and the types each may hold (None: the key may be null)
RECORD_TYPES: dict[str, tuple[type, ...]] = {
    "path": (str,), "method": (str, type(None)), "request": (dict, type(None)), "status": (int, type(None)),
    "response_headers": (dict, type(None)), "body": (str, type(None)), "elapsed": (int, float, type(None)),
    "error": (str, type(None)), "request_headers": (dict, type(None)), "attempt": (int, type(None)),
    "side": (dict, type(None)), "side_source": (str, type(None)), "side_error": (str, type(None)),
}


def record_problem(rec: dict) -> str | None:
    """What makes a recorded exchange unusable, or None (the keys tokconf writes; others are the
    recorder's notes and stay allowed, as recordings carry case and variant labels)."""
    if "path" not in rec:
        return "no path"
    for name, types in RECORD_TYPES.items():
        if name in rec and (not isinstance(rec[name], types) or isinstance(rec[name], bool) and bool not in types):
            return f"{name} is {type(rec[name]).__name__}, not {' or '.join(t.__name__ for t in types)}"
    for name in ("response_headers", "request_headers"):
        if not all(isinstance(v, (str, int, float)) for v in (rec.get(name) or {}).values()):
            return f"{name} holds a value that is not a string"
    return None


class RecordedStore:
    """Replays exchanges recorded from a real engine, matched by request body."""

    def __init__(self, exchanges: Iterable[Exchange | tuple[Exchange, int]]):
        self._by_key = {}
        for item in exchanges:
            ex, attempt = item if isinstance(item, tuple) else (item, 0)
            headers = tuple(sorted(ex.request_headers.items()))  # the same body sent with opt-in headers is another request
            self._by_key[RequestSpec(ex.method, ex.path, ex.request or {}, attempt=attempt, headers=headers).key] = ex

    @classmethod
    def from_jsonl(cls, path: str | Path) -> "RecordedStore":
        from conformance.errors import UsageError
        from conformance.inputs.schema import read_input_text

        lines = read_input_text(path, "recording").splitlines()
        try:
            records = [json.loads(line) for line in lines if line.strip()]
        except json.JSONDecodeError as exc:
            raise UsageError(f"recording {path} is not JSONL: line {exc.lineno}: {exc.msg}") from None
        if not all(isinstance(r, dict) for r in records):
            raise UsageError(f"recording {path} holds no exchanges (one JSON object with a request per line)")
        for n, rec in enumerate(records, 1):
            problem = record_problem(rec)
            if problem:
                raise UsageError(f"recording {path}: exchange {n}: {problem}")
        return cls((Exchange.from_record(r), int(r.get("attempt") or 0)) for r in records)

    @property
    def requests_sent(self) -> int:
        return 0

    def prefetch(self, specs: Iterable[RequestSpec]) -> None:
        pass

    def peek(self, spec: RequestSpec) -> Exchange | None:
        return self._by_key.get(spec.key)

    def get(self, spec: RequestSpec) -> Exchange:
        try:
            return self._by_key[spec.key]
        except KeyError:
            raise MissingExchange(f"no recorded exchange for {spec.method} {spec.path} {json.dumps(spec.body)[:200]}") from None
