"""fleet.workers_agree over a real fleet's recording: sglang-router 0.3.2 round robin in front of
two SGLang 0.5.23 workers on CPU serving the fixture model, verified as `sglang-generate` (the
only SGLang dialect whose ids pass that router) with `--fleet-size 2 --record`; the file keeps the
repeats (every greedy request with ids sent twice more, back to back, and the determinism probe's
third). The uniform fleet passes; one repeat changed (one worker unlike the other) fails, naming
the request and the first divergence; a worker that does not reproduce itself is INCONCLUSIVE."""
import json

import pytest

from support import RECORDINGS, Recorded, fault_proofs, load_records, outcome, reason, vllm_records

FLEET_RECORDING = RECORDINGS / "sglang-router-0.3.2-sglang-0.5.23-cpu-fleet.jsonl"
CHECK = "fleet.workers_agree"


@pytest.fixture(scope="module")
def fleet(tokenizer, cases):
    return Recorded(FLEET_RECORDING, "sglang-generate", tokenizer, cases)


def fleet_results(results):
    return {r.case: r for r in results if r.check == CHECK}


def test_a_uniform_fleet_agrees_on_every_greedy_case(fleet, cases):
    results = fleet_results(fleet.run(select="fleet", fleet_size=2))
    assert set(results) == {c.id for c in cases if c.is_greedy}
    assert {r.outcome.value for r in results.values()} == {"PASS"}, {c: r.reason for c, r in results.items()}


# the faults fleet.workers_agree declares on="fleet", each in one repeat only (attempt 2: the other worker)
@pytest.mark.parametrize("check,proof", fault_proofs("fleet"))
def test_one_worker_unlike_the_other_fails_naming_the_request(fleet, check, proof):
    # an engine version that leaves the EOS out of the ids, on one worker of two
    case, variants, words = proof.case, proof.variants, proof.words
    results = fleet.run(fault=proof.fault, case=case, variants=variants, attempt=2, select="fleet", fleet_size=2)
    why = reason(results, check, case)
    assert outcome(results, check, case) == "FAIL", why
    assert why.startswith(f"workers disagree on {case}/{variants[0]} (repeats 1 and 2 of 2"), why
    assert words in why and "first differ at index" in why, why
    assert {r.outcome.value for c, r in fleet_results(results).items() if c != case} == {"PASS"}


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


@pytest.mark.parametrize("check,proof", fault_proofs("fleet:vllm-copies"))
def test_a_worker_with_another_chat_template_fails_on_the_prompt_ids(tmp_path, tokenizer, cases, check, proof):
    """Chat dialects echo the server-rendered prompt: a worker serving another template revision gives
    other prompt ids. No router here passes chat ids (sglang-router drops them), so the two workers'
    repeats are copies of real vLLM 0.32.0 replies to case hello (a deterministic engine's answers),
    and the fault puts the other template into repeat 2."""
    hello = [r for r in vllm_records() if r["case"] == "hello" and not r.get("attempt")]
    copies = [{**r, "attempt": k} for r in hello for k in (1, 2, 3)]
    path = tmp_path / "vllm-hello-twice.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in hello + copies), encoding="utf-8")
    recorded = Recorded(path, "vllm", tokenizer, [c for c in cases if c.id == "hello"])
    assert {r.outcome.value for r in fleet_results(recorded.run(select="fleet", fleet_size=2)).values()} == {"PASS"}
    case, words = proof.case, proof.words
    results = recorded.run(fault=proof.fault, case=case, variants=proof.variants, attempt=2, select="fleet",
                           fleet_size=2)
    why = reason(results, check, case)
    assert outcome(results, check, case) == "FAIL", why
    assert why.startswith("workers disagree on hello/nonstream (repeats 1 and 2 of 2") and "prompt ids" in why, why
    assert words in why, why
