"""vanilla.optin_equal.stream sends a differing pair again before it blames the opt-in: a stream
whose text changes from one send to the next (timing: SGLang's tool parser with tools attached
and a plain-text answer) is INCONCLUSIVE, a difference that repeats is a FAIL. Real vLLM 0.32.0
exchanges, each pair's repeat being the same recorded exchange, the fault injected where named."""
from conformance.wire.exchange import Exchange
from conformance.running.runner import run_checks
from conformance.running.target import Target
from conformance.selftest.faults import FAULTS, FaultContext, apply_fault
from conformance.wire.store import RecordedStore
from support import check_function, outcome, reason

CASE = "french"
SELECT = check_function("vanilla.optin_equal.stream")


def run_with_repeats(rec, broken: set[tuple[str, int]]):
    """The recordings plus a repeat (attempt 1) of the case's two streams; the opt-in fault that
    leaks the EOS text is injected into the (variant, attempt) pairs in `broken`."""
    ctx = FaultContext(rec.dialect, rec.tokenizer)
    pairs = []
    for record in rec.records:
        ex = Exchange.from_record(record)
        attempts = [0, 1] if record["case"] == CASE and record["variant"] in ("plain_stream", "stream") else [0]
        for attempt in attempts:
            sent = ex
            if (record["case"] == CASE and (record["variant"], attempt) in broken):
                sent = apply_fault(ex, FAULTS["stream.optin_leaks_special_tokens"], ctx)
                assert sent is not None
            pairs.append((sent, attempt))
    target = Target(rec.dialect, rec.tokenizer, RecordedStore(pairs), "tiny-chat")
    return run_checks(target, rec.cases, select=SELECT)


def test_a_difference_that_repeats_is_blamed_on_the_opt_in(vllm_recorded):
    results = run_with_repeats(vllm_recorded, {("stream", 0), ("stream", 1)})
    assert outcome(results, "vanilla.optin_equal.stream", CASE) == "FAIL"
    assert "<|im_end|>" in reason(results, "vanilla.optin_equal.stream", CASE)
    assert "the same on a repeat" in reason(results, "vanilla.optin_equal.stream", CASE)


def test_a_stream_that_differs_from_itself_is_inconclusive_not_blamed(vllm_recorded):
    # the first opt-in stream differs, its repeat equals the plain stream: timing, not the opt-in
    results = run_with_repeats(vllm_recorded, {("stream", 0)})
    assert outcome(results, "vanilla.optin_equal.stream", CASE) == "INCONCLUSIVE"
    why = reason(results, "vanilla.optin_equal.stream", CASE)
    assert "differs from itself when sent again (with the opt-in" in why and "cannot be blamed on it" in why
    # the plain stream unstable instead
    results = run_with_repeats(vllm_recorded, {("plain_stream", 1)})
    assert outcome(results, "vanilla.optin_equal.stream", CASE) == "PASS"  # first pair agrees: no repeat needed
    results = run_with_repeats(vllm_recorded, {("plain_stream", 0)})
    assert outcome(results, "vanilla.optin_equal.stream", CASE) == "INCONCLUSIVE"
    assert "(without the opt-in" in reason(results, "vanilla.optin_equal.stream", CASE)


def test_without_a_recorded_repeat_the_one_pair_decides(vllm_recorded):
    results = vllm_recorded.run(fault="stream.optin_leaks_special_tokens", case=CASE, variants=["stream"],
                                select=SELECT)
    assert outcome(results, "vanilla.optin_equal.stream", CASE) == "FAIL"
    assert "(not repeated)" in reason(results, "vanilla.optin_equal.stream", CASE)
