"""A secret given to the engine (`--engine-arg=--hf-token=…`, `--engine-env HF_TOKEN=…`), sent to
the server (`--api-key`) or held in a URL (`http://user:PASSWORD@host`, in --ready-url or
--base-url) appears in no output and no file of any command: terminal, JSON, JUnit, Markdown (and
the GitHub step summary), HTML, the engine log, recordings, re-rendered reports, error lines.

The launched process is tests/replay_server.py serving real vLLM 0.32.0 recordings, started through
`--engine-cmd` like any fork; like real engines it logs its argv and the secret-looking variables of
its environment, so the engine log would hold the secrets if tokconf did not redact them. It
only starts if `--engine-env PYTHONPATH=…` reached its environment."""
import json
from pathlib import Path

import pytest

from support import ROOT, VLLM_RECORDINGS, tokconf as run_tokconf

SECRETS = {"arg": "hf-arg-s3cr3t-0451", "env": "hf-env-s3cr3t-7734", "key": "sk-api-s3cr3t-9120",
           "url": "url-s3cr3t-3318"}
ENGINE_CMD = "{python} tests/replay_server.py {port} " + " ".join(str(p.relative_to(ROOT)) for p in VLLM_RECORDINGS)
# the launched engine's URL (taken from --ready-url) carries a password: every request goes to it
READY = f"http://tok:{SECRETS['url']}@127.0.0.1:{{port}}/health"
LAUNCH = ["--engine-cmd", ENGINE_CMD, "--ready-url", READY, f"--engine-arg=--hf-token={SECRETS['arg']}",
          "--engine-env", f"HF_TOKEN={SECRETS['env']}", "--engine-env", f"PYTHONPATH={ROOT}",
          "--engine-env", "MY_SETTING=visible", "--startup-timeout", "60"]


def tokconf(*args, env_key=True, env=None):
    return run_tokconf(*args, *(["--api-key", SECRETS["key"]] if env_key else []), env=env, without_key=True)

def assert_no_secret(res, folder: Path):
    for name, text in (("stdout", res.stdout), ("stderr", res.stderr)):
        for kind, secret in SECRETS.items():
            assert secret not in text, f"{kind} secret in {name}"
    files = [p for p in folder.rglob("*") if p.is_file() and "inputs" not in p.relative_to(folder).parts]
    assert files
    for path in files:
        data = path.read_bytes()
        for kind, secret in SECRETS.items():
            assert secret.encode() not in data, f"{kind} secret in {path}"
    return files


def engine_log(folder: Path) -> str:
    logs = list(folder.rglob("engine.log"))
    assert len(logs) == 1, logs
    text = logs[0].read_text()
    # the engine did log them, redacted; the environment reached it (it started, and logs the setting)
    assert "--hf-token=***" in text and "'HF_TOKEN': '***'" in text and "'MY_SETTING': 'visible'" in text, text[:2000]
    return text


def test_verify(tmp_path):
    res = tokconf("verify", *LAUNCH, "--report-dir", str(tmp_path / "reports"), "--json", str(tmp_path / "r.json"),
                  "--junit-xml", str(tmp_path / "r.xml"), "--markdown", str(tmp_path / "r.md"),
                  "--html", str(tmp_path / "r.html"), "--record", str(tmp_path / "rec.jsonl"))
    assert res.returncode in (0, 1), res.stderr[-3000:]
    assert_no_secret(res, tmp_path)
    engine_log(tmp_path)
    info = json.loads((tmp_path / "r.json").read_text())["run_info"]
    assert info["engine_env"] == {"HF_TOKEN": "***", "PYTHONPATH": str(ROOT), "MY_SETTING": "visible"}
    assert "--hf-token=***" in info["launch_argv"][0] and f"--engine-arg=--hf-token=***" in info["tokconf_argv"]
    assert json.loads((tmp_path / "r.json").read_text())["summary"]["PASS"] > 100


def test_selftest(tmp_path):
    res = tokconf("selftest", *LAUNCH, "--faults", "stream.drop_eos", "--report-dir", str(tmp_path / "reports"),
                  "--json", str(tmp_path / "s.json"), "-k", "not tokenin.followed")  # tokenin.followed: its requests are in no recording (the replay answers 404)
    assert res.returncode == 0, res.stderr[-3000:]
    assert_no_secret(res, tmp_path)
    engine_log(tmp_path)


def test_baseline_record(tmp_path):
    res = tokconf("baseline", "record", "replayed", *LAUNCH, "--report-dir", str(tmp_path / "reports"),
                  "--out-dir", str(tmp_path / "baselines"))
    assert res.returncode == 0, res.stderr[-3000:]
    files = assert_no_secret(res, tmp_path)
    assert tmp_path / "baselines" / "replayed.json" in files
    doc = json.loads((tmp_path / "baselines" / "replayed.json").read_text())
    assert "--hf-token=***" in doc["launch_argv"][0] and doc["engine_env"]["HF_TOKEN"] == "***"
    engine_log(tmp_path)


def test_compare(tmp_path):
    targets = tmp_path / "inputs" / "targets.yaml"  # the user's own file: holds the URL's password
    targets.parent.mkdir()
    targets.write_text(json.dumps([
        {"name": "launched", "engine_cmd": ENGINE_CMD, "ready_url": READY},
        {"name": "recorded", "recording": str(VLLM_RECORDINGS[0]), "dialect": "vllm", "model": "tiny-chat",
         "tokenizer": str(ROOT / "fixtures" / "tiny-chat")}]))
    res = tokconf("compare", "--targets", str(targets), *LAUNCH[4:], "--report-dir", str(tmp_path / "reports"),
                  "--json", str(tmp_path / "c.json"), "--markdown", str(tmp_path / "c.md"), "--html", str(tmp_path / "c.html"))
    assert res.returncode in (0, 1), res.stderr[-3000:]
    assert_no_secret(res, tmp_path)
    engine_log(tmp_path)
    launched = json.loads((tmp_path / "c.json").read_text())["targets"][0]
    assert launched["run_info"]["engine_env"]["HF_TOKEN"] == "***" and launched["summary"]["PASS"] > 50


def test_probe_and_attach(tmp_path):
    from replay_server import ReplayServer
    from support import vllm_records
    from conformance.wire.exchange import Exchange

    with ReplayServer([Exchange.from_record(r) for r in vllm_records()]) as server:
        res = tokconf("probe", "--base-url", server.base_url, "--model", "tiny-chat", "--tokenizer",
                      str(ROOT / "fixtures" / "tiny-chat"), "--json", str(tmp_path / "p.json"))
        assert res.returncode == 0, res.stderr[-3000:]
        assert server.received and all(r["authorization"] == f"Bearer {SECRETS['key']}" for r in server.received)
    assert_no_secret(res, tmp_path)


def test_engine_env_bad_form_is_one_line_exit_2(tmp_path):
    for bad in ("NOVALUE", "=x", "1X=y", "A B=c"):
        res = tokconf("verify", "--engine-env", bad, "--report-dir", str(tmp_path), env_key=False)
        assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr
        assert "--engine-env wants KEY=VALUE" in res.stderr
    res = tokconf("verify", "--base-url", "http://127.0.0.1:1", "--model", "m", "--engine-env", "A=b", env_key=False)
    assert res.returncode == 2 and "applies to a launched engine" in res.stderr


@pytest.fixture
def server():
    from replay_server import ReplayServer
    from support import vllm_records
    from conformance.wire.exchange import Exchange

    with ReplayServer([Exchange.from_record(r) for r in vllm_records()]) as srv:
        yield srv


def with_password(base_url: str) -> str:
    return base_url.replace("http://", f"http://tok:{SECRETS['url']}@")


def test_attach_every_output_then_replay_and_report(tmp_path, server):
    """Attach with a password in --base-url and a key, every report format, a recording and the
    GitHub step summary; then replay the recording and re-render the report in every format."""
    summary = tmp_path / "step-summary.md"
    res = tokconf("verify", "--base-url", with_password(server.base_url), "--model", "tiny-chat", "--tokenizer",
                  str(ROOT / "fixtures" / "tiny-chat"), "--report-dir", str(tmp_path / "reports"),
                  "--json", str(tmp_path / "r.json"), "--junit-xml", str(tmp_path / "r.xml"),
                  "--markdown", str(tmp_path / "r.md"), "--html", str(tmp_path / "r.html"),
                  "--record", str(tmp_path / "rec.jsonl"), env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert res.returncode in (0, 1), res.stderr[-3000:]
    assert "tok:***@127.0.0.1" in res.stdout  # the run names its target, without the password
    files = assert_no_secret(res, tmp_path)
    assert {tmp_path / n for n in ("r.json", "r.xml", "r.md", "r.html", "rec.jsonl", "step-summary.md")} <= set(files)
    info = json.loads((tmp_path / "r.json").read_text())["run_info"]
    assert info["base_url"] == with_password(server.base_url).replace(SECRETS["url"], "***")
    assert "--api-key" in info["tokconf_argv"] and SECRETS["key"] not in info["tokconf_argv"]

    res = tokconf("verify", "--replay", str(tmp_path / "rec.jsonl"), "--report-dir", str(tmp_path / "replayed"),
                  "--json", "-")
    assert res.returncode in (0, 1), res.stderr[-3000:]
    assert json.loads(res.stdout)["summary"]["PASS"] > 100
    assert_no_secret(res, tmp_path)
    for fmt in ("terminal", "markdown", "html", "junit", "json"):
        res = tokconf("report", str(tmp_path / "r.json"), "--format", fmt, env_key=False)
        assert res.returncode == 0 and res.stdout, res.stderr[-3000:]
        assert_no_secret(res, tmp_path)


@pytest.mark.parametrize("args", [
    # bad input: one line (exit 2) that names the input, never its secret
    ["verify", "--base-url", "http://tok:{url}@127.0.0.1:1", "--model", "m", "--engine-env", "HF_TOKEN={env}"],
    ["verify", "--base-url", "http://tok:{url}@127.0.0.1:1", "--model", "m", "--engine-arg=--hf-token={arg}"],
    ["verify", "--replay", "fixtures/recordings/vllm-0.32.0-cpu.jsonl", "--engine-env", "HF_TOKEN={env}"],
    ["verify", "--replay", "fixtures/recordings/vllm-0.32.0-cpu.jsonl", "--engine-arg=--hf-token={arg}"],
    ["verify", "--engine-cmd", "x --hf-token {arg}", "--ready-url", "http://tok:{url}@10.0.0.1:{{port}}/health"],
    ["selftest", "--engine-env", "HF_TOKEN={env}", "--engine-arg=--hf-token={arg}", "--faults", "nope"],
    # a server that is not there: one line (exit 3) naming its URL, without the password
    ["verify", "--base-url", "http://tok:{url}@127.0.0.1:1", "--model", "m", "--tokenizer", "fixtures/tiny-chat"],
    ["probe", "--base-url", "http://tok:{url}@127.0.0.1:1", "--model", "m"],
    ["compare", "--target", "name=a,base_url=http://tok:{url}@127.0.0.1:1,model=m,tokenizer=fixtures/tiny-chat",
     "--target", "name=b,base_url=http://127.0.0.1:1,model=m,tokenizer=fixtures/tiny-chat",
     "--engine-arg=--hf-token={arg}", "--engine-env", "HF_TOKEN={env}"],
], ids=["attach-env", "attach-arg", "replay-env", "replay-arg", "engine-cmd-remote", "selftest-fault",
        "attach-down", "probe-down", "compare-down"])
def test_error_lines_hold_no_secret(tmp_path, args):
    res = tokconf(*[a.format(**SECRETS) for a in args],
                  *(["--report-dir", str(tmp_path / "reports")] if args[0] != "probe" else []))
    assert res.returncode in (2, 3), res.stderr[-3000:]
    lines = res.stderr.strip().splitlines()
    # one line, no traceback (compare names the target it was starting first)
    assert len(lines) == 1 or (args[0] == "compare" and len(lines) == 2), res.stderr
    assert lines[-1].startswith(("error: ", "server not ready: ")), res.stderr
    for kind, secret in SECRETS.items():
        assert secret not in res.stdout + res.stderr, f"{kind} secret in: {res.stderr}"
