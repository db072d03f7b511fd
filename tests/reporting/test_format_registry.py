"""A report format is one file that registers itself (conformance.reporting.formats): the shipped
ones, and CONTRIBUTING.md's own recipe ("A report format") loaded as a plugin, which then appears in
verify's and trace's options, in `report -f`, and writes its file from a real replayed run."""
import json

import pytest

from conformance.reporting.formats import ReportFormat, formats, get_format, register_format
from conformance.errors import UsageError
from support import RECORDINGS, contributing_recipe, plugin_env, tokconf

SHIPPED = ["json", "junit", "markdown", "html"]


@pytest.fixture
def tsv_env(tmp_path):
    return plugin_env(tmp_path, "recipe_format", contributing_recipe("A report format"))


def test_the_shipped_formats_in_their_order():
    assert list(formats())[:4] == SHIPPED
    assert [f.flag for f in formats().values()][:4] == ["--json", "--junit-xml", "--markdown", "--html"]


def test_an_unknown_format_is_one_usage_error():
    with pytest.raises(UsageError, match="unknown report format 'nope'; one of json, junit"):
        get_format("nope")


def test_a_flag_taken_by_another_format_is_refused():
    with pytest.raises(ValueError, match="--json is json's"):
        register_format(ReportFormat("other-json", "--json", "", render=str))
    assert "other-json" not in formats()


def test_the_recipe_format_is_in_the_help_of_verify_trace_and_report(tsv_env):
    for command in (["verify"], ["trace"], ["report"]):
        res = tokconf(*command, "--help", env={**tsv_env, "COLUMNS": "200"})
        assert res.returncode == 0, res.stderr
        assert ("--tsv" if command != ["report"] else "tsv") in res.stdout, (command, res.stdout)
    assert "--tsv" not in tokconf("verify", "--help", env={"COLUMNS": "200"}).stdout  # only as a plugin


def test_the_recipe_format_writes_a_replayed_runs_results(tsv_env, tmp_path):
    tsv, stored = tmp_path / "out.tsv", tmp_path / "r.json"
    res = tokconf("verify", "--replay", RECORDINGS / "vllm-0.32.0-cpu.jsonl", "-k", "exposure",
                  "--report-dir", tmp_path / "reports", "--tsv", tsv, "--json", stored, env=tsv_env)
    assert res.returncode in (0, 1), res.stderr
    lines = tsv.read_text().splitlines()
    results = json.loads(stored.read_text())["results"]
    assert lines[0] == "check\tcase\toutcome" and len(lines) == len(results) + 1
    assert {tuple(line.split("\t")) for line in lines[1:]} == {(r["check"], r["case"] or "", r["outcome"]) for r in results}
    again = tokconf("report", stored, "-f", "tsv", env=tsv_env)  # a stored report, re-rendered
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines() == lines


def test_a_plugin_that_does_not_load_is_one_line_and_exit_2(tmp_path):
    env = plugin_env(tmp_path, "broken_format", "raise RuntimeError('no such renderer')\n")
    res = tokconf("list", env=env)
    assert res.returncode == 2, res.stderr
    assert res.stderr.strip() == ("error: plugin broken_format (TOKCONF_PLUGINS or entry point tokconf.plugins) "
                                  "failed to load: RuntimeError: no such renderer")
