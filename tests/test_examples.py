"""examples/nightly-gpu.yml: a workflow that parses, gates on regressions, uploads every report,
and only uses tokconf options that exist."""
import shlex

import typer
import yaml

from conformance.cli import app
from support import ROOT

WORKFLOW = ROOT / "examples" / "nightly-gpu.yml"
PENDING = {"--expectations"}  # added by the expectation-files work (issue #4); passed through as documented


def _workflow():
    return yaml.safe_load(WORKFLOW.read_text())


def _tokconf_calls(steps):
    for step in steps:
        script = step.get("run", "").replace("\\\n", " ")
        for line in script.splitlines():
            words = shlex.split(line, comments=True)
            if words[:1] == ["tokconf"]:
                yield step, words[1:]


def test_shape():
    wf = _workflow()
    assert wf[True]["schedule"][0]["cron"]  # YAML reads the `on:` key as True
    job = wf["jobs"]["tito"]
    assert "gpu" in job["runs-on"]
    steps = job["steps"]
    verify = next(s for s in steps if s.get("id") == "verify")
    assert verify["continue-on-error"] is True
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact"))
    for name in ("results.json", "results.xml", "report.html"):
        assert name in upload["with"]["path"]
    assert upload["if"] == "always()"
    download = next(s for s in steps if s.get("uses", "").startswith("actions/download-artifact"))
    assert download["with"]["name"] == upload["with"]["name"]
    verdict = steps[-1]["run"]
    assert "steps.verify.outcome" in verdict and "steps.compare.outcome" in verdict


def test_every_tokconf_option_exists():
    commands = {c.name: c for c in typer.main.get_command(app).commands.values()}
    calls = list(_tokconf_calls(_workflow()["jobs"]["tito"]["steps"]))
    assert {args[0] for _, args in calls} == {"verify", "compare"}
    for _, args in calls:
        known = {opt for p in commands[args[0]].params for opt in p.opts}
        used = {a.split("=", 1)[0] for a in args[1:] if a.startswith("--")}
        assert used - known <= PENDING, used - known
    verify_args = next(args for _, args in calls if args[0] == "verify")
    for flag in ("--json", "--junit-xml", "--html", "--markdown", "--expectations"):
        assert flag in verify_args
    compare_args = next(args for _, args in calls if args[0] == "compare")
    assert compare_args[1] == "previous/results.json"
