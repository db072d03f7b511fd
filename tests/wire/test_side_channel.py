"""A side-channel dialect (`rllm-gateway`): the ids a gateway stored for each request, read back from
its trace API after the reply and attached to the exchange, go through verify's checks as if the
server had returned them. Replayed from real rllm-model-gateway 0.1.0 in front of vLLM 0.32.0 on
CPU (fixtures/recordings/rllm-gateway-0.1.0-vllm-0.32.0-cpu.jsonl, `verify --record` through the
gateway); faults are put into the stored records (conformance/trace/faults.py, the same mutations
`tokconf trace` is tested on)."""
import copy
import json
import subprocess
import sys

import pytest

from support import RECORDINGS, ROOT, SERVED, Recorded, outcome, reason
from replay_server import ReplayServer
from conformance.running.runner import run_checks
from conformance.running.target import Target
from conformance.trace import faults as stored
from conformance.wire.exchange import Exchange
from conformance.wire.requests import build_request
from conformance.wire.store import RecordedStore

RECORDING = RECORDINGS / "rllm-gateway-0.1.0-vllm-0.32.0-cpu.jsonl"
EXPECTED = ROOT / "fixtures" / "expectations" / "rllm-gateway-0.1.0-vllm-0.32.0-cpu.yaml"
FINDINGS = [("n.per_choice.nonstream", "hello"), ("n.per_choice.stream", "hello")]  # declared in EXPECTED


@pytest.fixture(scope="module")
def gateway(tokenizer, cases) -> Recorded:
    return Recorded(RECORDING, "rllm-gateway", tokenizer, cases)


def _record(gateway, case, variant):
    return next(r for r in gateway.records if r["case"] == case and r["variant"] == variant and not r.get("attempt"))


def _run(gateway, mutate=None, select=None):
    """The catalogue over the recording, `mutate(record) -> record` applied to what each request's
    side channel returned (the gateway's stored trace)."""
    pairs = []
    for rec in gateway.records:
        if mutate and rec.get("side") is not None:
            rec = mutate(rec)
        pairs.append((Exchange.from_record(rec), int(rec.get("attempt") or 0)))
    target = Target(gateway.dialect, gateway.tokenizer, RecordedStore(pairs), SERVED)
    return run_checks(target, gateway.cases, select=select)


def _stored_fault(fault, case, variant, tok):
    """A mutate() applying one of tokconf trace's stored-data faults to one request's record."""
    def mutate(rec):
        if rec["case"] != case or rec["variant"] != variant or rec.get("attempt"):
            return rec
        rec = copy.deepcopy(rec)
        rec["side"] = fault({"it": rec["side"]}, tok, "it")["it"]
        return rec
    return mutate


def test_the_wire_has_no_ids_the_exchange_gets_the_stored_ones(gateway, cases):
    hello = next(c for c in cases if c.id == "hello")
    d = gateway.dialect
    for variant in ("nonstream", "stream"):
        rec = _record(gateway, "hello", variant)
        spec = build_request(hello, variant, d, SERVED)
        # one session per request: the request went to its session URL, its ids were read from its traces
        assert rec["path"] == spec.path and rec["side_source"] == spec.side.fetch
        assert spec.path.startswith("/sessions/tokconf-ids-") and spec.side.reset == spec.path.split("/v1/")[0]
        assert "token_ids" not in rec["body"]  # what the agent received carries no ids
        ex = Exchange.from_record(rec)
        if variant == "nonstream":
            prompt, completion = d.prompt_ids(ex.json), d.completion_ids(ex.json)
        else:
            found = d.stream_ids(ex.stream.chunks)
            # the one stored list, once, on the chunk that carries the finish_reason (mode final)
            [(pos, completion)] = [(p, v) for p, v in found.completion if isinstance(v, list)]
            assert ex.stream.chunks[pos]["choices"][0]["finish_reason"] == "stop"
            prompt = found.prompt[0][1]
        assert prompt == rec["side"]["prompt_token_ids"] and completion == rec["side"]["completion_token_ids"]
        assert completion[-1] in gateway.tokenizer.eos_ids  # the stored list ends at the EOS, as vLLM's does
    # a vanilla request fetches nothing: its exchange is the wire alone
    plain = build_request(hello, "plain_nonstream", d, SERVED)
    assert plain.side is None and plain.path.startswith("/sessions/tokconf-plain-")
    assert "side" not in _record(gateway, "hello", "plain_nonstream")


def test_the_real_gateway_passes_but_its_declared_findings(gateway):
    results = _run(gateway)
    by = {(r.check, r.case): r.outcome.value for r in results}
    assert sorted(k for k, v in by.items() if v in ("FAIL", "ERROR")) == FINDINGS
    assert "choice 1 completion ids is missing" in reason(results, *FINDINGS[0])
    decoded = reason(results, *FINDINGS[1]).split("decoded ids give ", 1)[1].split(", the text is")[0]
    assert decoded.count("Hello") == 2  # both choices' ids in one list (interleaved as the chunks came)
    assert sum(v == "PASS" for v in by.values()) > 130
    # one stored list per stream: the check that needs each chunk's own ids SKIPs and says why
    per_chunk = [r for r in results if r.check == "logprobs.alignment.stream"]
    assert per_chunk and all(r.outcome.value == "SKIP" and "ids.per_chunk" in r.reason for r in per_chunk)
    for check in ("exposure.stream", "decode.roundtrip.stream", "parity.stream_nonstream", "hygiene.synthetic_final",
                  "template.prompt_ids", "multiturn.prefix", "logprobs.alignment.nonstream", "finish.eos.stream"):
        assert "PASS" in {v for (c, _), v in by.items() if c == check}, check


@pytest.mark.parametrize("fault, variant, check, words", [
    (stored.ids_shifted, "nonstream", "decode.roundtrip.nonstream", "decoded ids give"),
    (stored.ids_shifted, "stream", "decode.roundtrip.stream", "decoded ids give"),
    (stored.ids_shifted, "stream", "parity.stream_nonstream", "first differ"),
    (stored.retokenized, "nonstream", "parity.stream_nonstream", "first differ"),
    (stored.other_template, "nonstream", "template.prompt_ids", "the server has 'system\\nYou are a helpful"),
])
def test_a_fault_in_the_stored_ids_fails_the_check(gateway, fault, variant, check, words):
    case = "french"  # not the determinism pre-check's case (a fault there makes model-output checks INCONCLUSIVE)
    clean = _run(gateway, select=check)
    assert outcome(clean, check, case) == "PASS"
    broken = _run(gateway, _stored_fault(fault, case, variant, gateway.tokenizer), select=check)
    assert outcome(broken, check, case) == "FAIL", reason(broken, check, case)
    assert words in reason(broken, check, case)


def test_no_stored_record_is_a_fail_naming_the_side_channel(gateway):
    def lost(rec):
        if (rec["case"], rec["variant"]) != ("hello", "nonstream") or rec.get("attempt"):
            return rec
        rec = {k: v for k, v in rec.items() if k != "side"}
        return {**rec, "side_error": f"GET {rec['side_source']} lists no record 10s after the reply"}
    results = _run(gateway, lost, select="exposure.nonstream")
    assert outcome(results, "exposure.nonstream", "hello") == "FAIL"
    assert "the side channel holds no record of this call" in reason(results, "exposure.nonstream", "hello")


def _verify(server, tmp_path, *extra):
    return subprocess.run([sys.executable, "-m", "conformance", "verify", "--base-url", server.base_url, "--dialect",
                           "rllm-gateway", "--model", SERVED, "--tokenizer", str(ROOT / "fixtures" / "tiny-chat"),
                           "--json", str(tmp_path / "out.json"), *extra],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)


def test_verify_fetches_each_record_over_http_and_waits_for_it(tmp_path):
    """The whole CLI path against the recording served over HTTP: each record is listed only on the
    second GET (the gateway writes it after answering), every session is reset first."""
    exchanges = [Exchange.from_record(json.loads(line)) for line in RECORDING.read_text().splitlines() if line.strip()]
    with ReplayServer(exchanges, side_empty_polls=1) as server:
        # the recording predates logprobs.alignment.bare's request: served over HTTP it is a 404
        res = _verify(server, tmp_path, "--expectations", str(EXPECTED), "-k", "not check_logprobs_bare")
        deletes = {r["path"] for r in server.received if r.get("method") == "DELETE"}
    assert res.returncode == 0, res.stdout + res.stderr
    assert deletes == {e.side_source.rsplit("/traces", 1)[0] for e in exchanges if e.side_source}
    assert set(server.side_polls.values()) == {2}
    results = json.loads((tmp_path / "out.json").read_text())["results"]
    assert sorted((r["check"], r["case"]) for r in results if r["outcome"] == "XFAIL") == FINDINGS


def test_verify_over_http_fails_on_a_stored_fault(tmp_path, tokenizer):
    records = [json.loads(line) for line in RECORDING.read_text().splitlines() if line.strip()]
    mutate = _stored_fault(stored.ids_shifted, "french", "nonstream", tokenizer)
    exchanges = [Exchange.from_record(mutate(r) if r.get("side") else r) for r in records]
    with ReplayServer(exchanges) as server:
        res = _verify(server, tmp_path, "--expectations", str(EXPECTED), "-k", "decode.roundtrip.nonstream")
    assert res.returncode == 1, res.stdout + res.stderr
    assert "decode.roundtrip.nonstream[french]" in res.stdout
    # the report says where the ids came from and holds the record read there
    [failed] = [r for r in json.loads((tmp_path / "out.json").read_text())["results"] if r["outcome"] == "FAIL"]
    [read] = [e for e in failed["exchanges"] if e["variant"] == "nonstream"]
    assert read["side_source"].endswith("/traces") and '"completion_token_ids"' in read["side_excerpt"]
