"""`tokconf compare OLD NEW`: regressions (exit 1, named), fixes, new, vanished, changed, intermittent."""
import copy
import json

import pytest
from typer.testing import CliRunner

from conformance.cli import app
from conformance.reporting.comparison import compare_reports
from report_fixtures import recorded_report

runner = CliRunner()


@pytest.fixture(scope="module")
def last_night(vllm_recorded):
    return recorded_report(vllm_recorded)


@pytest.fixture(scope="module")
def tonight(vllm_recorded):
    """The same engine tonight, with a real token-id bug: ids dropped on held-back emoji chunks."""
    return recorded_report(vllm_recorded, fault="stream.drop_ids_on_empty_delta", case="haiku")


def _write(tmp_path, name, report):
    path = tmp_path / name
    path.write_text(json.dumps(report))
    return path


def test_regressed_copy_exits_1_and_names_the_regressions(last_night, tonight, tmp_path):
    old, new = _write(tmp_path, "old.json", last_night), _write(tmp_path, "new.json", tonight)
    summary = tmp_path / "step_summary.md"
    res = runner.invoke(app, ["compare", str(old), str(new), "--json", str(tmp_path / "diff.json"),
                              "--markdown", str(tmp_path / "diff.md")], env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert res.exit_code == 1, res.output
    regressed = sorted((r["check"], r["case"]) for r in tonight["results"] if r["outcome"] == "FAIL")
    assert regressed == [("decode.roundtrip.stream", "haiku"), ("exposure.stream", "haiku"),
                         ("logprobs.alignment.stream", "haiku"), ("parity.stream_nonstream", "haiku"),
                         ("stream.id_placement", "haiku")]  # the held-back emoji's text arrives without its ids
    for check, case in regressed:
        assert f"regression: {check}[{case}]: PASS → FAIL" in res.output
    md = (tmp_path / "diff.md").read_text()
    assert summary.read_text() == md and "**❌ 5 regression(s)**" in md
    assert "| ❌ regression | `parity.stream_nonstream` | haiku | PASS | FAIL |" in md
    diff = json.loads((tmp_path / "diff.json").read_text())
    assert diff["counts"]["regression"] == 5 and diff["unchanged"] == len(last_night["results"]) - 5


def test_the_other_way_round_is_five_fixes_and_exit_0(last_night, tonight, tmp_path):
    res = runner.invoke(app, ["compare", str(_write(tmp_path, "a.json", tonight)), str(_write(tmp_path, "b.json", last_night))])
    assert res.exit_code == 0, res.output
    assert "5 fixes" in res.output and "regression:" not in res.output


def test_identical_reports(last_night, tmp_path):
    path = _write(tmp_path, "a.json", last_night)
    res = runner.invoke(app, ["compare", str(path), str(path)])
    assert res.exit_code == 0 and "no changes" in res.output


def test_every_kind(last_night):
    new = copy.deepcopy(last_night)
    results = {(r["check"], r["case"]): r for r in new["results"]}
    results[("exposure.nonstream", "hello")].update(outcome="ERROR", reason="ConnectError")  # regression
    results[("tools.with_without", "weather_tools")].update(outcome="PASS", reason="")  # INCONCLUSIVE -> PASS: changed
    results[("exposure.stream", "french")].update(attempts=["PASS", "FAIL", "PASS"])  # flaky under --repeat
    new["results"].remove(results[("tools.call_parity", "weather_tools")])  # vanished
    new["results"].append({**results[("exposure.nonstream", "hello")], "check": "finish.reason", "outcome": "PASS"})  # new
    cmp = compare_reports(last_night, new)
    kinds = {(c.kind, c.check, c.case) for c in cmp.changes}
    assert kinds == {("regression", "exposure.nonstream", "hello"), ("changed", "tools.with_without", "weather_tools"),
                     ("intermittent", "exposure.stream", "french"), ("vanished", "tools.call_parity", "weather_tools"),
                     ("new", "finish.reason", "hello")}
    back = compare_reports(new, last_night)
    assert {(c.kind, c.check) for c in back.of("fix")} == {("fix", "exposure.nonstream")}


@pytest.mark.parametrize("args,words", [(["one.json"], "exactly two reports"),
                                        (["a.json", "b.json", "--target", "name=x,base_url=http://h,model=m"], "not both")])
def test_usage(args, words, tmp_path):
    res = runner.invoke(app, ["compare", *args])
    assert res.exit_code == 2 and words in res.output
