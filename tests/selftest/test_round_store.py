"""A fault round asked in-process (ProxyStore) gives exactly the results of the same round asked
over HTTP through the proxy, and sends nothing over a socket that the clean round fetched."""
import pytest

from conformance.dialects import load_dialect
from conformance.running.runner import run_checks
from conformance.running.target import Target
from conformance.selftest.faults import FAULTS, FaultContext
from conformance.selftest.proxy import FaultProxy
from conformance.selftest.round_store import ProxyStore
from conformance.wire.store import LiveStore
from conformance.wire.transport import Sender
from support import SERVED, vllm_records
from hostile import HostileServer

# a stream fault, a non-stream one, and one whose mutated reply makes the next turn a new request
FAULT_NAMES = ["stream.drop_eos", "nonstream.string_ids", "nonstream.drop_last_text_token"]


def _as_rows(results):
    return [(r.check, r.case, r.outcome.value, r.reason) for r in results]


@pytest.mark.parametrize("name", FAULT_NAMES)
def test_an_in_process_round_equals_the_http_round(tokenizer, cases, name):
    dialect = load_dialect("vllm")
    with HostileServer(vllm_records(), "clean") as upstream_url:
        upstream = Sender(upstream_url)
        proxy = FaultProxy(upstream, FaultContext(dialect, tokenizer))
        with proxy as url:
            proxy.start_round(None)
            sender = Sender(url)
            # the stores as run_selftest builds them: no cancel through the proxy (abort.client_cancel SKIPs)
            run_checks(Target(dialect, tokenizer, LiveStore(sender, cancels=False), SERVED), cases)  # fills the copies
            fetched = proxy.upstream_requests
            proxy.start_round(FAULTS[name])
            over_http = run_checks(Target(dialect, tokenizer, LiveStore(sender, cancels=False), SERVED), cases)
            mutated_http = set(proxy.mutated)
            after_http = proxy.upstream_requests
            proxy.start_round(FAULTS[name])
            in_process = run_checks(Target(dialect, tokenizer, ProxyStore(proxy), SERVED), cases)
            sender.close()
        upstream.close()
    assert _as_rows(in_process) == _as_rows(over_http)
    assert proxy.mutated == mutated_http and mutated_http  # the fault applied, to the same exchanges
    assert proxy.upstream_requests == after_http >= fetched  # nothing new reached the target the second time
