"""Exchange stores: where checks get exchanges from. Live (sends once, caches) or recorded."""
from __future__ import annotations

import json
import threading
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


class LiveStore:
    """Sends each distinct request at most once; prefetch() sends a batch concurrently."""

    def __init__(self, sender: Sender, liveness: Callable[[], object] | None = None):
        self.sender = sender
        self.liveness = liveness  # returns the dead engine process, if any
        self._cache: dict[str, Exchange] = {}
        self._labels: dict[str, str] = {}
        self._lock = threading.Lock()
        self.progress = None  # a progress.LineProgress/BarProgress, told as requests complete
        self._background: threading.Thread | None = None
        self._background_error: BaseException | None = None

    def prefetch_in_background(self, specs: Iterable[RequestSpec]) -> None:
        """prefetch() on a thread: the caller goes on (pytest collects) while requests are in
        flight. The next prefetch() or get() waits for it first."""
        specs = list(specs)

        def run():
            try:
                self.prefetch(specs)
            except BaseException as exc:  # surfaced by the next prefetch()/get()
                self._background_error = exc

        self._background = threading.Thread(target=run, name="tokconf-prefetch", daemon=True)
        self._background.start()

    def _wait_background(self) -> None:
        thread, self._background = self._background, None
        if thread is not None:
            thread.join()
        if self._background_error is not None:
            exc, self._background_error = self._background_error, None
            raise exc

    @property
    def requests_sent(self) -> int:
        return len(self._cache)

    @property
    def labels(self) -> dict[str, str]:
        """Request key -> "case/variant" for every request seen."""
        return dict(self._labels)

    def prefetch(self, specs: Iterable[RequestSpec]) -> None:
        specs = list(specs)
        if threading.current_thread() is not self._background:
            self._wait_background()
        for s in specs:
            self._labels.setdefault(s.key, s.label)
        if self.liveness and self.liveness() is not None:
            return  # the engine has exited: get() reports it per check, nothing is sent
        todo = [s for s in specs if s.key not in self._cache]
        if not todo:
            return
        if self.progress:
            self.progress.phase("sending requests", len({s.key for s in todo}))
        self._cache.update(self.sender.send_all(todo, on_done=self.progress.advance if self.progress else None))

    def get(self, spec: RequestSpec) -> Exchange:
        if spec.key not in self._cache and self._background is not None:
            self._wait_background()
        with self._lock:
            if spec.key not in self._cache:
                self._raise_if_engine_gone(None)  # nothing is sent to an engine that has exited
                self._labels.setdefault(spec.key, spec.label)
                self._cache[spec.key] = self.sender.send(spec)
            ex = self._cache[spec.key]
        if ex.error:
            self._raise_if_engine_gone(ex.error)
        return ex

    def peek(self, spec: RequestSpec) -> Exchange | None:
        """The exchange if it was already sent; never sends (reports must not cause traffic)."""
        return self._cache.get(spec.key)

    def _raise_if_engine_gone(self, error: str | None) -> None:
        dead = self.liveness() if self.liveness else None
        if dead is not None:
            detail = f": {error}" if error else "; request not sent"
            raise EngineGone(f"engine exited (code {dead.exit_code()}){detail}", dead.log_tail(20))

    def write_jsonl(self, path: Path, **extra) -> None:
        """Save every exchange, labelled "case/variant", in the recording format."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8") as fh:
            for key, ex in self._cache.items():
                label, _, attempt = self._labels.get(key, "").partition("#")
                case, _, variant = label.partition("/")
                rec = ex.to_record(**extra, case=case, variant=variant, **({"attempt": int(attempt)} if attempt else {}))
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")


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
        lines = Path(path).read_text(encoding="utf-8").splitlines()
        records = [json.loads(line) for line in lines if line.strip()]
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
