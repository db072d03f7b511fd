"""Expectation files: known failures are visible (XFAIL), stale ones are loud (XPASS), declared
intermittent ones are shown as such, and a bad file is a usage error."""
import pytest

from conformance.errors import UsageError
from conformance.inputs.expectations import apply_expectations, load_expectations, run_failed
from conformance.outcomes import Outcome, Result
from support import ROOT


def write(tmp_path, text):
    path = tmp_path / "exp.yaml"
    path.write_text(text)
    return path


def test_outcomes_under_expectations(tmp_path):
    exps = load_expectations(write(tmp_path, """
expectations:
  - {check: a, expected: fail, reason: known bug, link: "https://example.org/1"}
  - {check: b, case: c1, expected: intermittent, reason: flaky parser}
  - {check: a, case: ok, expected: pass}
  - {check: nothing.matches, expected: fail, reason: stale}
"""))
    results = [Result("a", "c1", Outcome.FAIL, "boom"), Result("a", "c2", Outcome.PASS),
               Result("a", "ok", Outcome.PASS), Result("a", "c3", Outcome.ERROR, "gone"),
               Result("b", "c1", Outcome.FAIL, "flaked"), Result("b", "c2", Outcome.FAIL, "real"),
               Result("b", "c1x", Outcome.PASS)]
    out, unmatched = apply_expectations(results, exps)
    got = {(r.check, r.case): r.outcome for r in out}
    assert got[("a", "c1")] is Outcome.XFAIL
    assert got[("a", "c2")] is Outcome.XPASS
    assert got[("a", "ok")] is Outcome.PASS  # a case-level `pass` overrides the check-level `fail`
    assert got[("a", "c3")] is Outcome.ERROR  # an error is never expected away
    assert got[("b", "c1")] is Outcome.INTERMITTENT
    assert got[("b", "c2")] is Outcome.FAIL  # the intermittent expectation names another case
    assert "known bug" in out[0].reason and "https://example.org/1" in out[0].reason and "boom" in out[0].reason
    assert [e.label for e in unmatched] == ["nothing.matches"]
    assert run_failed(out, strict=True)  # the FAIL of b[c2], and the XPASS
    without_real_fail = [r for r in out if (r.check, r.case) != ("b", "c2") and r.outcome is not Outcome.ERROR]
    assert run_failed(without_real_fail, strict=True)  # the XPASS alone fails a strict run
    assert not run_failed(without_real_fail, strict=False)


@pytest.mark.parametrize("text,words", [
    ("expectations: [{check: a, expected: maybe, reason: r}]", "expected 'maybe' is not one of fail, intermittent, pass"),
    ("expectations: [{check: a, expected: fail, reason: r, lnk: x}]", "unknown key 'lnk' \\(did you mean 'link'\\?\\)"),
    ("expectations: [{check: a, expected: fail}]", "needs a 'reason'"),
    ("expectations: [{expected: fail, reason: r}]", "missing key 'check'"),
    ("nope: 1", "unknown key 'nope'; known: expectations"),
    ("expectations: [{check: a, expected: fail, reason: r}, {check: a, expected: pass}]", "declared twice"),
])
def test_bad_expectation_files(tmp_path, text, words):
    with pytest.raises(UsageError, match=words):
        load_expectations(write(tmp_path, text))


def test_shipped_examples_load():
    files = sorted((ROOT / "fixtures" / "expectations").glob("*.yaml"))
    assert files
    for path in files:
        load_expectations(path)


def test_reserializing_template_expectation_turns_the_fail_into_xfail(tokenizer, cases):
    from support import RECORDINGS, Recorded

    results = Recorded(RECORDINGS / "vllm-0.32.0-cpu-reserialize-tool-json.jsonl", "vllm", tokenizer,
                       cases).run(select="multiturn")
    exps = load_expectations(ROOT / "fixtures" / "expectations" / "vllm-0.32.0-reserialize-tool-json.yaml")
    out, unmatched = apply_expectations(results, exps)
    assert not unmatched
    assert {(r.case, r.outcome) for r in out} == {("hello", Outcome.PASS), ("weather_tools", Outcome.XFAIL)}
    assert not run_failed(out)


def test_verify_with_expectations_turns_a_known_failure_into_xfail(tmp_path, tokenizer):
    """The CLI end to end: a server replaying real vLLM served with the re-serializing template;
    multiturn.prefix fails (exit 1) until the expectation file declares it (XFAIL, exit 0)."""
    import json
    import subprocess
    import sys

    from support import RECORDINGS, load_records
    from conformance.wire.exchange import Exchange
    from replay_server import ReplayServer

    exchanges = [Exchange.from_record(r) for r in load_records(RECORDINGS / "vllm-0.32.0-cpu-reserialize-tool-json.jsonl")]
    expectations = ROOT / "fixtures" / "expectations" / "vllm-0.32.0-reserialize-tool-json.yaml"
    with ReplayServer(exchanges) as server:
        def verify(*extra):
            out = tmp_path / f"r{len(extra)}.json"
            res = subprocess.run([sys.executable, "-m", "conformance", "verify", "--base-url", server.base_url,
                                  "--model", "tiny-chat", "--tokenizer", str(ROOT / "fixtures" / "tiny-chat"),
                                  "-k", "multiturn", "--json", str(out), "--report-dir", str(tmp_path), *extra],
                                 capture_output=True, text=True, cwd=ROOT, timeout=300)
            return res, json.loads(out.read_text())

        plain, report = verify()
        assert plain.returncode == 1 and report["summary"]["FAIL"] == 1, plain.stderr[-2000:]
        known, report = verify("--expectations", str(expectations))
    assert known.returncode == 0, known.stderr[-2000:]
    got = {r["case"]: (r["outcome"], r["reason"]) for r in report["results"]}
    assert got["hello"][0] == "PASS" and got["weather_tools"][0] == "XFAIL"
    assert "JSON re-serialization" in got["weather_tools"][1] and "expected fail" in got["weather_tools"][1]
    assert report["summary"]["XFAIL"] == 1 and report["run_info"]["expectations"] == str(expectations)


def test_an_expectation_naming_no_check_is_an_error_naming_the_nearest_id(tmp_path):
    path = write(tmp_path, "expectations: [{check: multiturn.prefx, expected: fail, reason: r}]")
    with pytest.raises(UsageError, match=r"expectation #1: no check 'multiturn.prefx' \(did you mean 'multiturn.prefix'\?\)"):
        load_expectations(path, {"multiturn.prefix", "exposure.stream"})
