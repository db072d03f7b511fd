"""rllm-model-gateway 0.1.0 behaviours that break the id contract for training, each shown with
the gateway's own code (its extraction, its store, its HTTP API) and caught by `tokconf trace`."""
from __future__ import annotations

import asyncio
import json
import shutil
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("rllm_model_gateway")

from rllm_model_gateway.data_process import build_trace_record  # noqa: E402

from conformance.checking.client_tokenizer import Tokenizer  # noqa: E402
from conformance.engines.base import free_port  # noqa: E402
from conformance.outcomes import Outcome  # noqa: E402
from conformance.trace.checks import check_counts  # noqa: E402
from conformance.trace.faults import read_store  # noqa: E402
from conformance.trace.mapping import load_mapping  # noqa: E402
from conformance.trace.model import read_trace  # noqa: E402
from conformance.trace.runner import run_traces  # noqa: E402
from conformance.trace.sources import http_rows  # noqa: E402

DATA = Path(__file__).resolve().parent / "data"
STORE = DATA / "gateway-vllm.sqlite"
TOKENIZER = DATA / "tokenizer"


@pytest.fixture(scope="module")
def tok():
    return Tokenizer.load(TOKENIZER)


def _results(records, tok, checks=None):
    from conformance.trace.sources import Row

    rows = [Row(n, f"#{n}", r, None, r["session_id"]) for n, r in enumerate(records, 1)]
    return list(run_traces(rows, tok, load_mapping("rllm-gateway"), checks))


def test_null_logprob_entry_is_dropped_and_logprobs_shift(tok):
    """data_process.extract_logprobs skips entries whose logprob is null: the stored list is one
    short and every later logprob scores the wrong id. Fed a real vLLM response with one entry's
    logprob nulled (JSON cannot carry -inf), the gateway's own builder stores the shifted list."""
    rec = read_store(STORE)["hello/0"]
    response = json.loads(json.dumps(rec["raw_response"]))
    response["choices"][0]["logprobs"]["content"][2]["logprob"] = None
    stored = build_trace_record("s", rec["raw_request"], response, 1.0).model_dump()
    assert len(stored["logprobs"]) == len(stored["completion_token_ids"]) - 1
    (result,) = [r for r in _results([stored], tok, ["trace.counts"])]
    assert result.outcome is Outcome.FAIL and "logprobs no longer line up" in result.reason


def test_n2_keeps_choice_0_only_and_usage_of_both(tok):
    """An n=2 request through the gateway (captured live): the record holds choice 0's ids while
    raw_response has both choices and token_counts counts both."""
    rec = read_store(STORE)["haiku-n2/0"]
    assert len(rec["raw_response"]["choices"]) == 2
    assert rec["token_counts"]["completion"] == sum(len(c["token_ids"]) for c in rec["raw_response"]["choices"])
    got = {r.check: r for r in _results([rec], tok)}
    assert got["trace.choices"].outcome is Outcome.FAIL
    assert got["trace.counts"].outcome is Outcome.FAIL


def test_store_order_is_write_order_not_call_order(tmp_path):
    """The gateway writes traces from background tasks (sync_traces false, the default) and orders
    a session by the write time (trace_sessions.created_at): GET /sessions/{id}/traces returned the
    captured `hello` session's turns out of call order. tokconf orders by the record's own time."""
    from rllm_model_gateway.store.sqlite_store import SqliteTraceStore

    copy = tmp_path / "s.sqlite"
    shutil.copyfile(STORE, copy)

    async def api_order():
        store = SqliteTraceStore(str(copy))
        try:
            return await store.get_session_traces("hello")
        finally:
            await store.close()

    traces = asyncio.run(api_order())
    stamps = [t["timestamp"] for t in traces]
    assert stamps != sorted(stamps)  # the API's order is not the order the calls were made
    in_call_order = [len(t["messages"]) for t in sorted(traces, key=lambda t: t["timestamp"])]
    assert in_call_order == sorted(in_call_order)  # by the record's time each turn extends the last


def test_http_source_reads_the_gateways_api(tmp_path, tok):
    """`tokconf trace http://gateway` over the real gateway app serving a copy of the store."""
    import uvicorn
    from rllm_model_gateway.models import GatewayConfig
    from rllm_model_gateway.server import create_app

    copy = tmp_path / "s.sqlite"
    shutil.copyfile(STORE, copy)
    port = free_port()
    app = create_app(GatewayConfig(host="127.0.0.1", port=port, db_path=str(copy), workers=[]))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        mapping = load_mapping("rllm-gateway")
        rows = list(http_rows(f"http://127.0.0.1:{port}", time_path=mapping.fields["time"]))
        assert len(rows) == len(read_store(STORE)) and all(r.record for r in rows)
        one = list(http_rows(f"http://127.0.0.1:{port}", session="hello", time_path="timestamp"))
        assert [len(r.record["messages"]) for r in one] == [1, 3, 5, 7]
        results = list(run_traces(iter(rows), tok, mapping))
        from_store = {}
        from conformance.trace.command import run_trace

        _, store_results, _, _ = run_trace(str(STORE), mapping_name="rllm-gateway", tokenizer=str(TOKENIZER),
                                           session=None, checks=None, api_key=None, argv=[])
        from_store = {(r.check, r.case): r.outcome for r in store_results}
        assert {(r.check, r.case): r.outcome for r in results} == from_store
    finally:
        server.should_exit = True
        thread.join(timeout=10)
