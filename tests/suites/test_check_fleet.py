"""fleet.workers_agree over a real fleet's recording: sglang-router 0.3.2 round robin in front of
two SGLang 0.5.23 workers on CPU serving the fixture model (`tokconf verify --engine sglang
--fleet-size 2 --record ...`: every greedy request with ids sent twice more, back to back). The
uniform fleet passes; one repeat's ids changed (one worker unlike the other) fails, naming the
request and the first divergence; a worker that does not reproduce itself is INCONCLUSIVE."""
import pytest

from conftest import RECORDINGS, Recorded, outcome, reason

FLEET_RECORDING = RECORDINGS / "sglang-router-0.3.2-sglang-0.5.23-cpu-fleet.jsonl"
CHECK = "fleet.workers_agree"


@pytest.fixture(scope="module")
def fleet(tokenizer, cases):
    return Recorded(FLEET_RECORDING, "sglang", tokenizer, cases)


def fleet_results(results):
    return {r.case: r for r in results if r.check == CHECK}


def test_a_uniform_fleet_agrees_on_every_greedy_case(fleet, cases):
    results = fleet_results(fleet.run(select="fleet", fleet_size=2))
    assert set(results) == {c.id for c in cases if c.is_greedy}
    assert {r.outcome.value for r in results.values()} == {"PASS"}, {c: r.reason for c, r in results.items()}


def test_one_worker_with_another_template_fails_naming_the_request(fleet):
    results = fleet.run(fault="nonstream.worker_other_template", case="hello", variants=["nonstream"], attempt=2,
                        select="fleet", fleet_size=2)
    assert outcome(results, CHECK, "hello") == "FAIL"
    why = reason(results, CHECK, "hello")
    assert why.startswith("workers disagree on hello/nonstream (repeats 1 and 2 of 2"), why
    assert "repeat 1 prompt ids" in why and "first differ at index" in why and "helpful" in why, why
    assert outcome(results, CHECK, "french") == "PASS"  # the other cases' workers still agree


def test_a_stream_repeat_without_its_eos_fails_with_the_divergence_shape(fleet):
    results = fleet.run(fault="stream.drop_eos", case="haiku", variants=["stream"], attempt=2, select="fleet",
                        fleet_size=2)
    why = reason(results, CHECK, "haiku")
    assert outcome(results, CHECK, "haiku") == "FAIL", why
    assert "haiku/stream" in why and "repeat 2 completion ids lacks the last 1 id(s)" in why, why


def test_a_worker_that_does_not_reproduce_itself_is_inconclusive(fleet, cases):
    # the determinism probe compares repeats 1 and 3 of the first greedy case: one worker's answers
    probe = next(c for c in cases if c.is_greedy).id
    results = fleet.run(fault="nonstream.drop_eos", case=probe, variants=["nonstream"], attempt=3, select="fleet",
                        fleet_size=2)
    assert {r.outcome.value for r in fleet_results(results).values()} == {"INCONCLUSIVE"}
    assert "to the same worker (repeats 1 and 3" in reason(results, CHECK, probe)


def test_not_a_fleet_run_is_skipped_with_the_reason(fleet):
    results = fleet_results(fleet.run(select="fleet"))
    assert {r.outcome.value for r in results.values()} == {"SKIP"}
    assert all("not a fleet run" in r.reason for r in results.values())
