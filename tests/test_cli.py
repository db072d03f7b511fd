"""CLI behaviour that needs no engine: usage errors exit 2 with a clear message."""
import json

import pytest

from support import ROOT, tokconf


@pytest.mark.parametrize("args,words", [
    (["verify", "--base-url", "http://127.0.0.1:9"], "--base-url needs --model"),
    (["verify", "--engine", "nope"], "unknown engine"),
    (["verify", "--engine", "dynamo", "--worker", "nope"], "its workers: vllm, mocker, sglang"),
    (["verify", "--engine", "vllm", "--worker", "mocker"], "does not apply to engine vllm"),
    (["verify", "--engine", "vllm", "--base-url", "http://127.0.0.1:9", "--model", "m"], "not both"),
    (["verify", "--base-url", "http://127.0.0.1:9", "--model", "m", "--dialect", "nope"], "unknown dialect"),
    (["verify", "--engine", "vllm", "--model", "/no/such/model"], "no such model directory"),
    (["verify", "--base-url", "http://127.0.0.1:9", "--model", "m", "--cases", "/no/such.yaml"], "cannot read cases"),
    (["verify", "--base-url", "http://127.0.0.1:9", "--model", "m", "--baseline", "/no/such.json"], "cannot read baseline"),
    (["verify", "--base-url", "http://127.0.0.1:9", "--model", "m", "--expectations", "/no/such.yaml"],
     "cannot read expectations"),
    (["baseline", "record", "x", "--base-url", "http://127.0.0.1:9"], "--base-url needs --model"),
    (["verify", "--concurrency", "0"], "--concurrency must be more than 0, got 0"),
    (["verify", "--request-timeout", "-1"], "--request-timeout must be more than 0, got -1"),
    (["selftest", "--startup-timeout", "0"], "--startup-timeout must be more than 0"),
    (["verify", "--run-timeout", "-5"], "--run-timeout must be more than 0"),
    (["compare", "--target", "name=a,recording=/no/such.jsonl,model=m", "--target", "name=b,base_url=http://127.0.0.1:9,model=m"],
     "target 'a': no recording file '/no/such.jsonl'"),
    (["verify", "--cases", "fixtures/cases/default.yaml", "--expectations", "tests/no-such.yaml"], "cannot read expectations"),
    (["verify", "-k", "exposure and ("], "-k 'exposure and (': it ends where"),
])
def test_usage_errors_exit_2(tmp_path, args, words):
    res = tokconf(*args, "--report-dir", str(tmp_path))
    assert res.returncode == 2, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr  # one line, no traceback
    assert words in " ".join(res.stderr.split())


def test_nothing_listening_exits_3_in_seconds_with_one_line(tmp_path):
    import time

    start = time.monotonic()
    res = tokconf("verify", "--base-url", "http://127.0.0.1:1", "--model", "tiny-chat", "--tokenizer",
                  str(ROOT / "fixtures" / "tiny-chat"), "--json", str(tmp_path / "r.json"), "--report-dir", str(tmp_path))
    took = time.monotonic() - start
    assert res.returncode == 3, res.stderr
    assert res.stderr.strip().splitlines() == ["server not ready: nothing is listening at http://127.0.0.1:1 (connection refused)"]
    assert not (tmp_path / "r.json").exists()  # nothing was checked: no report that could pass for one
    assert took < 5 + 10, took  # the interpreter and the tokenizer load are most of it; see test_preflight


def test_list_prints_every_check():
    res = tokconf("list")
    assert res.returncode == 0
    from conformance.checking.catalog import load_catalog

    for info in load_catalog():
        assert info.id in res.stdout
    assert "requires: ids.nonstream, token_in" in res.stdout  # the features a check needs
    assert "reads: nonstream, next_turn" in res.stdout  # and the requests it reads


def test_list_prints_the_trace_checks_too():
    from conformance.trace.checks import TRACE_CHECKS

    res = tokconf("list")
    assert res.returncode == 0
    listed = res.stdout[res.stdout.index("tokconf trace"):]
    for check_id in TRACE_CHECKS:
        assert check_id in listed
    assert "session.prefix  reads: two turns of a session" in listed
    res = tokconf("list", "--json")
    entries = json.loads(res.stdout)
    trace = [e for e in entries if e["command"] == "trace"]
    assert [e["id"] for e in trace] == list(TRACE_CHECKS)
    assert all(e["description"] for e in trace)
    assert {e["command"] for e in entries} == {"verify", "trace"}


def test_dialects_lists_the_shipped_profiles():
    from conformance.dialects import builtin_names

    res = tokconf("dialects")
    assert res.returncode == 0
    listed = {line.split()[0] for line in res.stdout.splitlines()[1:] if line and not line.startswith(" ")}
    mine = {"vllm", "sglang-tokenids-patch", "sglang-completion-ids", "sglang", "sglang-generate", "miles"}
    assert mine <= listed and set(builtin_names()) <= listed  # dynamo (the lead's profile) too, once it lands
    for words in ["return_token_ids", "return_input_ids_in_sglext", "return_completion_token_ids", "POST /generate", "sglang-generate:incremental",
                  "return_meta_info", "trailing", "cumulative", "rejected", "input_ids", "ids.stream"]:
        assert words in res.stdout


def test_run_timeout_bounds_a_silent_server(tmp_path):
    import json
    import time

    from support import vllm_records
    from hostile import HostileServer

    with HostileServer(vllm_records(), "silent") as url:
        start = time.monotonic()
        res = tokconf("verify", "--base-url", url, "--model", "tiny-chat", "--tokenizer",
                      str(ROOT / "fixtures" / "tiny-chat"), "--run-timeout", "1.5", "--request-timeout", "110",
                      "--json", str(tmp_path / "r.json"), "--report-dir", str(tmp_path))
        elapsed = time.monotonic() - start
    assert res.returncode == 1, res.stderr[-2000:]
    report = json.loads((tmp_path / "r.json").read_text())
    ran = [r for r in report["results"] if r["outcome"] != "SKIP"]  # vanilla.baseline: no --baseline given
    assert report["summary"]["ERROR"] == len(ran) > 0
    assert all("run timeout was reached" in r["reason"] for r in ran)
    # the request timeout (110 s) never came into play; the bound leaves room for a loaded machine
    # (imports, the tokenizer and the report take seconds there: 60 s was once too tight)
    assert elapsed < 100, elapsed


def test_baseline_record_from_an_unreachable_server_fails_without_writing(tmp_path):
    res = tokconf("baseline", "record", "nothing", "--base-url", "http://127.0.0.1:9", "--model", "tiny-chat",
                  "--out-dir", str(tmp_path), "--report-dir", str(tmp_path / "reports"))
    assert res.returncode == 3 and "nothing is listening at http://127.0.0.1:9" in res.stderr
    assert not list(tmp_path.glob("*.json"))


def test_selftest_command_against_a_replayed_target(tmp_path):
    import json

    from support import vllm_records
    from hostile import HostileServer

    with HostileServer(vllm_records(), "clean") as url:
        res = tokconf("selftest", "--base-url", url, "--model", "tiny-chat", "--tokenizer",
                      str(ROOT / "fixtures" / "tiny-chat"), "--faults", "stream.drop_eos,nonstream.string_ids",
                      "-k", "not tokenin.followed",  # its requests are in no recording: the replay answers 404
                      "--json", str(tmp_path / "s.json"), "--report-dir", str(tmp_path))
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    doc = json.loads((tmp_path / "s.json").read_text())
    assert doc["mutation_score"] == 1.0 and doc["faults_applicable"] == 2 and doc["clean"]["false_alarms"] == []
    assert "mutation score 100%" in res.stdout and "no false alarm" in res.stdout
    bad = tokconf("selftest", "--base-url", url, "--model", "tiny-chat", "--faults", "no.such", "--report-dir", str(tmp_path))
    assert bad.returncode == 2 and "unknown fault" in bad.stderr


def test_repeat_sends_fresh_requests_and_reports_intermittent_results(tmp_path):
    import json

    from support import vllm_records
    from hostile import HostileServer

    server = HostileServer(vllm_records(), "flaky")
    with server as url:
        res = tokconf("verify", "--base-url", url, "--model", "tiny-chat", "--tokenizer",
                      str(ROOT / "fixtures" / "tiny-chat"), "--repeat", "3", "--json", str(tmp_path / "r.json"),
                      "--report-dir", str(tmp_path))
    assert res.returncode == 1, res.stderr[-2000:]
    report = json.loads((tmp_path / "r.json").read_text())
    # every pass sends its requests again (nothing cached across passes): bodies reach the server
    # 3 times (the pre-check's 6; a stream abort.client_cancel cancels and sends again, 9; a follow-up
    # turn built on a reply that got a 500 in one pass, 2)
    assert report["run_info"]["repeat"] == 3 and report["run_info"]["requests_sent"] == sum(server.asked.values())
    assert min(server.asked.values()) >= 2 and max(server.asked.values()) == 9 and 3 in server.asked.values()
    assert 6 in server.asked.values()
    by = {(r["check"], r["case"]): r for r in report["results"]}
    flaky = by[("exposure.nonstream", "french")]  # not hello: its second ask is the pre-check's, in pass 1
    assert flaky["attempts"] == ["PASS", "ERROR", "PASS"] and flaky["intermittent"] is True
    assert flaky["outcome"] == "ERROR" and flaky["reason"].startswith("intermittent over 3 passes (PASS 2x, ERROR 1x)")
    steady = by[("exposure.stream", "hello")]
    assert steady["attempts"] == ["PASS"] * 3 and steady["intermittent"] is False and steady["outcome"] == "PASS"
    assert report["run_info"]["intermittent"] == sum(r["intermittent"] for r in report["results"]) > 0
    assert f"{report['run_info']['intermittent']} intermittent result(s) over 3 passes" in res.stdout
    assert "exposure.nonstream[french]: PASS ERROR PASS" in res.stdout
