"""-k selects by check id and case, as `tokconf list` prints them; a bad expression is exit 2."""
import json
import subprocess
import sys

import pytest

from conformance.errors import UsageError
from conformance.running.selection import Selection
from support import ROOT, merged_vllm_recording

IDS = ["exposure.stream", "exposure.nonstream", "multiturn.prefix", "decode.roundtrip.stream"]


def picks(expr, check, case=None, function=""):
    return Selection(expr, IDS).matches(check, case, function)


def test_an_id_selects_that_check_alone():
    assert picks("exposure.stream", "exposure.stream", "hello")
    assert not picks("exposure.stream", "decode.roundtrip.stream", "hello")
    assert not picks("exposure.stream", "exposure.nonstream", "hello")


def test_id_with_case_and_boolean_words():
    assert picks("exposure.nonstream[haiku]", "exposure.nonstream", "haiku")
    assert not picks("exposure.nonstream[haiku]", "exposure.nonstream", "hello")
    assert picks("exposure and not nonstream", "exposure.stream", "x")
    assert not picks("exposure and not nonstream", "exposure.nonstream", "x")
    assert picks("(multiturn or decode) and not stream", "multiturn.prefix", "x")
    assert picks("check_multiturn", "multiturn.prefix", "x", function="check_multiturn_prefix")  # function names too


@pytest.mark.parametrize("expr", ["exposure and (", "(exposure", "a or or b", "not", "", "a[b", ")"])
def test_bad_expressions_name_the_problem(expr):
    with pytest.raises(UsageError, match="^-k "):
        Selection(expr, IDS)


def test_cli_runs_only_the_selected_check_and_case(tmp_path):
    rec = merged_vllm_recording(tmp_path)

    def run(expr):
        return subprocess.run([sys.executable, "-m", "conformance", "verify", "--replay", str(rec), "-k", expr,
                               "--json", "-", "--report-dir", str(tmp_path / "r")], capture_output=True, text=True,
                              cwd=ROOT, timeout=300)

    res = run("exposure.nonstream")
    assert res.returncode == 0, res.stderr[-2000:]
    assert {r["check"] for r in json.loads(res.stdout)["results"]} == {"exposure.nonstream"}
    res = run("exposure.nonstream[haiku]")
    assert [(r["check"], r["case"], r["outcome"]) for r in json.loads(res.stdout)["results"]] == [
        ("exposure.nonstream", "haiku", "PASS")]
    for expr, words in (("exposure and (", "it ends where"), ("nosuchcheck", "selects no check")):
        res = run(expr)
        assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1 and words in res.stderr, res.stderr
