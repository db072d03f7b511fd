"""--repeat folds N passes into one result per check and case; disagreement is intermittent."""
from conformance.outcomes import Outcome, Result
from conformance.running.repeat import fold


def r(outcome, reason="", case="hello"):
    return Result("parity.stream_nonstream", case, Outcome(outcome), reason)


def test_agreeing_passes_give_one_steady_result():
    (res,) = fold([[r("PASS")], [r("PASS")], [r("PASS")]])
    assert res.outcome is Outcome.PASS and res.attempts == ["PASS"] * 3 and not res.intermittent
    assert res.to_json()["intermittent"] is False and res.to_json()["attempts"] == ["PASS"] * 3


def test_disagreeing_passes_are_intermittent_and_the_worst_outcome_leads():
    (res,) = fold([[r("PASS")], [r("FAIL", "ids first differ at index 3")], [r("PASS")]])
    assert res.intermittent and res.outcome is Outcome.FAIL
    assert res.attempts == ["PASS", "FAIL", "PASS"]
    assert res.reason == "intermittent over 3 passes (PASS 2x, FAIL 1x): ids first differ at index 3"
    assert res.to_json()["intermittent"] is True


def test_a_check_missing_from_a_pass_counts_as_error():
    (res, other) = fold([[r("PASS"), r("PASS", case="french")], [r("PASS")]])
    assert other.case == "french" and other.outcome is Outcome.ERROR and other.intermittent
    assert "did not run in 1 pass(es)" in other.reason
    assert res.outcome is Outcome.PASS and not res.intermittent


def test_results_from_one_pass_carry_no_attempts():
    assert "attempts" not in r("PASS").to_json() and not r("PASS").intermittent
