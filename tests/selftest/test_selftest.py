"""tokconf selftest over a replay of real vLLM exchanges: the clean round raises no alarm, every
shipped fault applies and is caught, and each request reaches the target once."""
import pytest

from conformance.dialects import load_dialect
from conformance.selftest.faults import FAULTS
from conformance.selftest import run_selftest
from conformance.running.target import Target
from conformance.wire.transport import Sender
from support import CORE_CHECKS, ROOT, SERVED, load_records, only, vllm_records
from hostile import HostileServer


VLLM_BASELINE = ROOT / "fixtures" / "baselines" / "vllm-0.32.0-cpu.json"
# tokenin.followed sends two requests no shipped recording holds (placeholder_nonstream, token_in_swapped:
# recorded before the check existed); a replaying HTTP server answers them 404 "not recorded"; nor
# template.bos_special_tokens's (it SKIPs on tiny-chat, whose tokenizer adds nothing, but its request is planned)
UNRECORDED = "not check_tokenin_followed and not check_special_tokens_bos"


@pytest.fixture(scope="module")
def report(tokenizer, cases):
    from conformance.inputs.baseline import load_baseline

    records = vllm_records()  # the full catalogue's requests, recorded from real vLLM
    with HostileServer(records, "clean") as url:
        upstream = Sender(url)
        try:
            target = Target(load_dialect("vllm"), tokenizer, None, SERVED, baseline=load_baseline(VLLM_BASELINE))
            rep = run_selftest(upstream, target, cases, select=UNRECORDED)
        finally:
            upstream.close()
    rep.recorded = len(records)
    return rep


def test_clean_round_raises_no_alarm(report):
    assert report.clean and report.false_alarms == []


# faults for other dialects' shapes: they find nothing to break in vLLM's delta stream / usage
# and refusals: vLLM refuses nothing the catalogue sends (Dynamo refuses n=2)
# (stream.keep_last_id_per_chunk: tiny-chat's vLLM chunks carry one id each; tests/suites/test_field_faults.py)
# (stream.null_for_absent_ids: vLLM sends unset keys as null by design, unset_keys: null)
OTHER_DIALECTS_ONLY = {"stream.delta_as_cumulative", "nonstream.declared_count_off_by_one",
                       "stream.keep_last_id_per_chunk", "stream.null_for_absent_ids"} | {
    name for name, f in FAULTS.items() if f.mode == "rejection" or (f.stream_modes and "delta" not in f.stream_modes)}
# reasoning faults: the tiny-chat fixture has no reasoning template and vLLM runs it without a
# reasoning parser, so no reply carries reasoning to break (tests/suites/test_checks_reasoning.py)
OTHER_DIALECTS_ONLY |= {"nonstream.reasoning_tokens_miscounted", "stream.reasoning_tokens_miscounted",
                        "nonstream.reasoning_dropped"}
# tiny-chat's tokenizer adds no BOS: no request sends add_special_tokens (tests/suites/test_check_bos.py)
OTHER_DIALECTS_ONLY |= {"nonstream.add_special_tokens_ignored"}


def test_every_shipped_fault_applies_and_is_detected(report):
    assert len(report.verdicts) == len(FAULTS)
    assert {v.fault for v in report.verdicts if not v.applicable} <= OTHER_DIALECTS_ONLY
    assert len(report.applicable) >= 15
    assert [v.fault for v in report.missed] == []
    assert report.score == 1.0 and report.ok
    by_name = {v.fault: v for v in report.verdicts}
    assert "stream.chunk_consistency[hello]" in by_name["stream.chunk_id_changes"].caught_by
    assert "exposure.nonstream[hello]" in by_name["nonstream.string_ids"].caught_by


def test_each_distinct_request_reaches_the_target_once(report):
    # once each over all rounds, however many rounds read it; the determinism pre-check's
    # deliberate repeat is passed on as a second request (the replay answers it from one record)
    assert report.clean_upstream_requests <= report.recorded + 1
    # later rounds reuse those copies; only follow-up turns built from a mutated reply are new
    assert report.upstream_requests - report.clean_upstream_requests < report.recorded // 2


def test_a_fault_the_suite_misses_is_reported_as_missed(tokenizer, cases):
    # a mutation no check looks at (an extra key in the body) must show up as missed, not detected
    from conformance.selftest.faults import Fault

    def add_key(body, ctx):
        body["x_tokconf_unchecked"] = 1
        return True

    harmless = Fault("nonstream.extra_key", "an extra key nobody checks", "nonstream", add_key)
    with HostileServer(vllm_records(), "clean") as url:
        upstream = Sender(url)
        rep = run_selftest(upstream, Target(load_dialect("vllm"), tokenizer, None, SERVED), cases, faults=[harmless],
                           select=only(*CORE_CHECKS))
        upstream.close()
    assert [v.fault for v in rep.missed] == ["nonstream.extra_key"] and rep.score == 0.0 and not rep.ok


DYNAMO_FAULTS = [
    "stream.drop_ids_on_empty_delta", "stream.drop_ids_on_tool_chunks", "stream.cumulative_as_delta",
    "stream.drop_eos", "stream.prompt_ids_every_chunk", "stream.synthetic_final_repeats_ids",
    "stream.prompt_ids_missing", "stream.chunk_id_changes", "stream.choice_index_shifted", "stream.negative_pad_id",
    "stream.cut_before_done", "stream.broken_data_line", "nonstream.drop_eos", "nonstream.null_completion_ids",
    "nonstream.string_ids", "nonstream.out_of_vocab", "nonstream.retokenized_completion",
    "nonstream.drop_last_text_token", "nonstream.float_ids", "nonstream.usage_off_by_one",
    "nonstream.prompt_ids_missing",
]


def test_selftest_on_recorded_dynamo_detects_every_fault_that_applies(tokenizer, cases):
    # the same faults, through the dynamo dialect's paths (nvext.completion_token_ids, prompt ids
    # on the finish chunk), over exchanges recorded from Dynamo 1.6.1's frontend and vLLM worker
    from support import RECORDINGS

    records = load_records(RECORDINGS / "dynamo-1.6.1-vllm-0.31.0-cpu.jsonl")
    cases = [c for c in cases if c.id in {r["case"] for r in records}]
    with HostileServer(records, "clean") as url:
        upstream = Sender(url)
        try:
            # the recording holds the core checks' requests; these faults are the bug classes they catch
            rep = run_selftest(upstream, Target(load_dialect("dynamo"), tokenizer, None, SERVED), cases,
                               faults=[FAULTS[f] for f in DYNAMO_FAULTS], select=only(*CORE_CHECKS))
        finally:
            upstream.close()
    assert rep.false_alarms == []
    assert [v.fault for v in rep.verdicts if not v.applicable] == []
    assert [v.fault for v in rep.missed] == [] and len(rep.applicable) == len(DYNAMO_FAULTS)
    assert "nonstream.null_completion_ids" in {v.fault for v in rep.applicable}  # through nvext paths
