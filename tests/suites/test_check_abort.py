"""abort.client_cancel over HTTP: real vLLM 0.32.0 streams (fixtures/recordings/) served by a replay
server, cancelled by tokconf's own client (Sender.send(until=...)). PASS on the engine's own
streams; FAIL where the stream sent again (the cancelled one, or the one after the cancel) is the
real stream with a stale id ahead of its own (an aborted request's sampled token committed to the
next one: sglang #34112 / #34149); SKIP in a replay without a server."""
from __future__ import annotations

import json
import threading

from dataclasses import replace

import pytest

from conformance.running.runner import run_checks
from conformance.running.target import Target
from conformance.wire.exchange import Exchange
from conformance.wire.sse import parse_stream
from conformance.wire.store import LiveStore
from conformance.wire.transport import Sender
from replay_server import ReplayServer
from support import SERVED, check_function, outcome, reason, vllm_records

CHECK = "abort.client_cancel"

# (check, fault, case, variants, words): the failing cases below, declared in the check's caught_by as
# HandBuilt (the fault is applied to the stream sent again, not a registry fault)
ABORT_FAULTS = [
    (CHECK, "stale id ahead of the cancelled stream's ids", "hello", ["stream"], "not the first ids"),
    (CHECK, "stale id ahead of the stream sent after the cancel", "french", ["stream"], "other ids"),
]


def stale_id_ahead(ex: Exchange, dialect) -> Exchange:
    """The real stream with one id ahead of its first chunk's own (the stream's second id, a real
    one): the text is the engine's, the ids are not the run's."""
    parsed = parse_stream(ex.body)
    from conformance.dialects.paths import assign, resolve
    from conformance.selftest.faults import serialize_stream

    chunks = json.loads(json.dumps(parsed.chunks))
    with_ids = [c for c in chunks if isinstance(resolve(c, dialect.stream_completion), list)
                and resolve(c, dialect.stream_completion)]
    first = resolve(with_ids[0], dialect.stream_completion)
    assign(with_ids[0], dialect.stream_completion, [resolve(with_ids[1], dialect.stream_completion)[0], *first])
    return Exchange(ex.method, ex.path, ex.request, ex.status, dict(ex.headers), serialize_stream(chunks, parsed.done))


class NthAnswer(ReplayServer):
    """The recorded exchanges; the `nth` time (0-based) a body is asked, `mutate(exchange)` instead."""

    def __init__(self, exchanges, mutate_nth: dict[int, object]):
        super().__init__(exchanges)
        self.mutate_nth, self.asked, self.lock = mutate_nth, {}, threading.Lock()
        by_key, outer = self.by_key, self

        class Counting(dict):
            def get(self, key, default=None):
                ex = by_key.get(key, default)
                with outer.lock:
                    n = outer.asked[key] = outer.asked.get(key, -1) + 1
                mutate = outer.mutate_nth.get(n)
                return ex if ex is None or mutate is None or not ex.is_stream_request else mutate(ex)

        self.by_key = Counting(by_key)


def run(vllm_recorded, server_cls=ReplayServer, case=None, **kw):
    exchanges = [Exchange.from_record(r) for r in vllm_records() if r.get("attempt") in (None, 0)]
    with server_cls(exchanges, **kw) as server:
        sender = Sender(server.base_url, timeout=30)
        try:
            target = Target(vllm_recorded.dialect, vllm_recorded.tokenizer, LiveStore(sender), SERVED)
            cases = [c for c in vllm_recorded.cases if case is None or c.id == case]
            return run_checks(target, cases, select=check_function(CHECK)), server
        finally:
            sender.close()


def test_passes_on_real_vllm_streams_cut_over_http(vllm_recorded):
    results, server = run(vllm_recorded)
    got = {r.case: (r.outcome.value, r.reason) for r in results}
    assert {c for c, (o, _) in got.items() if o == "PASS"} >= {"hello", "french", "haiku"}, got
    assert all(o in ("PASS", "SKIP") for o, _ in got.values()), got
    assert all("too short to cut" in why for o, why in got.values() if o == "SKIP"), got
    # the stream of each passing case was asked three times: the full run, the cancel, the one after
    streams = [r for r in server.received if r["body"].get("stream") and r["body"]["messages"][0]["content"] == "hello there"]
    assert len([s for s in streams if s["body"].get("return_token_ids")]) == 3


@pytest.mark.parametrize("check,fault,case,variants,words", ABORT_FAULTS, ids=["cancelled", "after-cancel"])
def test_fails_on_a_stale_id_after_a_cancel(vllm_recorded, check, fault, case, variants, words):
    nth = 1 if "cancelled" in fault else 2  # 0: the full stream, 1: the cancelled one, 2: the one after
    results, _ = run(vllm_recorded, NthAnswer, case=case,
                     mutate_nth={nth: lambda ex: stale_id_ahead(ex, vllm_recorded.dialect)})
    assert outcome(results, check, case) == "FAIL", reason(results, check, case)
    assert words in reason(results, check, case)


def test_skips_in_a_replay(vllm_recorded):
    results = vllm_recorded.run(select=check_function(CHECK))
    assert {r.outcome.value for r in results} == {"SKIP"}
    assert all("a cancel needs a live server" in r.reason for r in results)


# other real streams, over HTTP the same way: reasoning with and without a parser (the think
# markers are then content), DeepSeek's template, Dynamo's frontend
OTHER_RECORDINGS = [
    ("tiny-think-vllm-0.32.0-cpu.jsonl", "vllm", "tiny-think", "tiny-think.yaml"),
    ("tiny-think-vllm-0.32.0-cpu-qwen3.jsonl", "vllm", "tiny-think", "tiny-think.yaml"),
    ("tiny-deepseek-vllm-0.32.0-cpu-deepseek_r1.jsonl", "vllm", "tiny-deepseek", "tiny-deepseek.yaml"),
    ("dynamo-1.6.1-vllm-0.31.0-cpu.jsonl", "dynamo", "tiny-chat", "default.yaml"),
]


@pytest.mark.parametrize("recording,dialect,model,cases_file", OTHER_RECORDINGS, ids=[r[0] for r in OTHER_RECORDINGS])
def test_passes_on_other_real_streams(recording, dialect, model, cases_file):
    from conformance.checking.client_tokenizer import Tokenizer
    from conformance.dialects import load_dialect
    from conformance.inputs.cases import load_cases
    from support import ROOT, load_records

    records = [r for r in load_records(ROOT / "fixtures" / "recordings" / recording) if not r.get("attempt")]
    served = next(r["request"]["model"] for r in records if r.get("request"))
    with ReplayServer([Exchange.from_record(r) for r in records]) as server:
        sender = Sender(server.base_url, timeout=30)
        try:
            # the cancel works on Dynamo's frontend too (seen live); its profile does not declare it
            # until the whole engine tier has run it there (fleets behind it among them)
            dial = load_dialect(dialect)
            dial = replace(dial, features=dial.features | {"stream.client_cancel"})
            target = Target(dial, Tokenizer.load(ROOT / "fixtures" / model), LiveStore(sender), served)
            results = run_checks(target, load_cases(ROOT / "fixtures" / "cases" / cases_file),
                                 select=check_function(CHECK))
        finally:
            sender.close()
    got = {r.case: (r.outcome.value, r.reason) for r in results}
    assert "PASS" in {o for o, _ in got.values()}, got
    assert all(o == "PASS" or (o == "SKIP" and "too short to cut" in why) for o, why in got.values()), got
