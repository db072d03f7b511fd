"""Every check passes on exchanges recorded from real vLLM 0.32.0 (CPU) and FAILS on the fault
it exists to catch, injected into those same exchanges."""
from pathlib import Path

import pytest

from support import PROVEN_ON, ROOT, check_function, fault_proofs, outcome, reason


def test_every_check_passes_on_real_vllm(vllm_recorded):
    results = vllm_recorded.run()
    assert results, "no results"
    by_outcome = {}
    for r in results:
        by_outcome.setdefault(r.outcome.value, []).append(f"{r.check}[{r.case}]")
    assert set(by_outcome) <= {"PASS", "INCONCLUSIVE", "SKIP"}, by_outcome
    # skipped only where the vLLM dialect declares no such behaviour
    # (and the reasoning count: vLLM without --reasoning-parser reports none; the cross-worker check
    # without --fleet-size; the BOS checks: tiny-chat has no BOS, its tokenizer adds nothing)
    assert all(r.reason.startswith("dialect vllm does not declare") or
               (r.check == "usage.reasoning_tokens" and "reports no" in r.reason) or
               (r.check == "fleet.workers_agree" and r.reason.startswith("not a fleet run")) or
               (r.check == "template.bos" and "no BOS token" in r.reason) or
               (r.check == "template.bos_special_tokens" and "adds no special tokens" in r.reason) or
               (r.check == "stream.id_placement" and "nothing to place" in r.reason) or
               (r.check == "hygiene.unset_keys" and "unset_keys: null" in r.reason) or
               (r.check == "abort.client_cancel" and r.reason.startswith("a cancel needs a live server"))
               for r in results if r.outcome.value == "SKIP")
    # the inconclusives: with tools the model calls the tool, without it answers in text; the
    # placeholder prompt and the case give the same reply (the emoji cases), so it cannot tell
    assert sorted(by_outcome["INCONCLUSIVE"]) == ["tokenin.followed[flower_emoji]", "tokenin.followed[flower_max1]",
                                                  "tools.with_without[weather_tools]"]
    assert len(by_outcome["PASS"]) >= 40


@pytest.mark.parametrize("check,proof", fault_proofs("vllm"))
def test_check_fails_on_its_fault(vllm_recorded, check, proof):
    """Each FaultProof a check declares (@check(..., caught_by=...)) on vLLM's recordings."""
    results = vllm_recorded.run(fault=proof.fault, case=proof.case, variants=proof.variants,
                                select=check_function(check))
    assert outcome(results, check, proof.case) == "FAIL", reason(results, check, proof.case)
    assert proof.words in reason(results, check, proof.case)


def test_every_check_has_a_fault_test():
    """Every check declares what must make it FAIL; each declared fault is registered and is run by
    the generic test of the recordings it names; each hand-built proof names a test that exists."""
    import importlib

    from conformance.checking.api import FaultProof, HandBuilt
    from conformance.checking.catalog import load_catalog
    from conformance.selftest.faults import FAULTS

    def test_function(node_id: str):
        path, name = node_id.split("::")
        assert (ROOT / path).is_file(), node_id
        return getattr(importlib.import_module(Path(path).stem), name, None)

    catalog = load_catalog()
    assert [info.id for info in catalog if not info.caught_by] == []
    proofs = [(info.id, proof) for info in catalog for proof in info.caught_by]
    assert {type(proof) for _, proof in proofs} <= {FaultProof, HandBuilt}
    assert [(c, p.fault) for c, p in proofs if isinstance(p, FaultProof) and p.fault not in FAULTS] == []
    for on in {p.on for _, p in proofs if isinstance(p, FaultProof)}:
        assert on in PROVEN_ON, f"no generic test runs the faults shown on {on!r}: add it to PROVEN_ON"
        runner = test_function(PROVEN_ON[on])
        parametrized = [m.args[1] for m in getattr(runner, "pytestmark", []) if m.name == "parametrize"]
        assert fault_proofs(on) in parametrized, f"{PROVEN_ON[on]} is not parametrized with fault_proofs({on!r})"
    for check, proof in proofs:
        if isinstance(proof, HandBuilt):
            assert callable(test_function(proof.test)), f"{check}: no test {proof.test}"


def test_baseline_diff_names_added_and_missing_paths(vllm_recorded):
    import copy

    original = vllm_recorded.baseline
    edited = copy.deepcopy(original)
    hello = edited["cases"]["hello"]
    hello["plain_nonstream"] = [p for p in hello["plain_nonstream"] if p != "system_fingerprint"] + ["choices[].gone"]
    vllm_recorded.baseline = edited
    try:
        results = vllm_recorded.run(select="baseline")
    finally:
        vllm_recorded.baseline = original
    why = reason(results, "vanilla.baseline", "hello")
    assert outcome(results, "vanilla.baseline", "hello") == "FAIL"
    assert "response add system_fingerprint" in why and "response lack choices[].gone" in why
    assert outcome(results, "vanilla.baseline", "french") == "PASS"
