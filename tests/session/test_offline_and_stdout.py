"""verify --replay (the catalogue on a recording, nothing sent), shipped expectations and
baselines by name, and `-` as stdout for a report."""
import json
import subprocess
import sys

from support import ROOT, merged_vllm_recording, tokconf


def test_replay_a_shipped_recording_with_shipped_expectations_and_baseline_by_name(tmp_path):
    # both vLLM recordings as one file, as `verify --record` writes it: dialect and served model read from it
    rec = merged_vllm_recording(tmp_path)
    res = tokconf("verify", "--replay", str(rec), "--expectations", "vllm-0.32.0-cpu", "--baseline", "vllm-0.32.0-cpu",
                  "--json", "-", "--report-dir", str(tmp_path / "reports"))
    assert res.returncode == 0, res.stderr[-3000:]
    report = json.loads(res.stdout)  # stdout holds the JSON report alone; the matrix went to stderr
    assert report["run_info"]["dialect"] == "vllm" and report["run_info"]["requests_sent"] == 0
    assert report["run_info"]["recording"] == str(rec)
    assert report["run_info"]["expectations"].endswith("fixtures/expectations/vllm-0.32.0-cpu.yaml")
    by = {(r["check"], r["case"]): r["outcome"] for r in report["results"]}
    assert by[("vanilla.baseline", "hello")] == "PASS" and report["summary"]["PASS"] > 150
    assert "tokconf verify" in res.stderr


def test_a_recording_made_with_record_replays_to_the_same_outcomes(tmp_path):
    from replay_server import ReplayServer
    from support import REPLAYABLE, vllm_records
    from conformance.wire.exchange import Exchange

    with ReplayServer([Exchange.from_record(r) for r in vllm_records()]) as server:
        live = tokconf("verify", "--base-url", server.base_url, "--model", "tiny-chat", "--tokenizer",
                       str(ROOT / "fixtures" / "tiny-chat"), "--record", str(tmp_path / "rec.jsonl"),
                       "--json", str(tmp_path / "live.json"), "--report-dir", str(tmp_path / "reports"))
    replayed = tokconf("verify", "--replay", str(tmp_path / "rec.jsonl"), "--json", str(tmp_path / "replay.json"),
                       "--report-dir", str(tmp_path / "reports"))
    assert live.returncode == replayed.returncode, replayed.stderr[-3000:]
    outcomes = [{(r["check"], r["case"]): r["outcome"] for r in json.loads((tmp_path / f).read_text())["results"]}
                for f in ("live.json", "replay.json")]
    # but the cancel: live only (a recording cannot close a stream mid-way), so SKIP in the replay
    cancel = [{case: o for (check, case), o in run.items() if check == "abort.client_cancel"} for run in outcomes]
    assert cancel[0]["hello"] == "PASS" and set(cancel[1].values()) == {"SKIP"}
    outcomes = [{key: o for key, o in run.items() if key[0] != "abort.client_cancel"} for run in outcomes]
    assert outcomes[0] == outcomes[1] and len(outcomes[0]) > 150


def test_bad_replay_and_unknown_names_are_one_line_exit_2(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    for args, words in ((["--replay", str(tmp_path / "missing.jsonl")], "cannot read recording"),
                        (["--replay", str(bad)], "is not JSONL"),
                        (["--replay", str(bad), "--base-url", "http://x"], "give no --engine"),
                        (["--expectations", "no-such-engine"], "no expectations file 'no-such-engine'"),
                        (["--baseline", "no-such"], "no such path, no shipped name); shipped: ")):
        res = tokconf("verify", *args, "--report-dir", str(tmp_path / "reports"))
        assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1 and words in res.stderr, res.stderr


def test_a_second_run_on_the_same_tokenizer_files_hits_the_client_cache_with_the_same_verdicts(tmp_path):
    """conformance.checking.client_cache: the first run loads transformers and stores its answers;
    the second needs no transformers (run_info.client_cache) and gives the very same results."""
    import os

    rec = merged_vllm_recording(tmp_path)
    runs = []
    for n, cache in enumerate([str(tmp_path / "cache"), str(tmp_path / "cache"), "off"]):
        res = subprocess.run([sys.executable, "-m", "conformance", "verify", "--replay", str(rec), "--json", "-",
                              "--report-dir", str(tmp_path / "reports")], capture_output=True, text=True, cwd=ROOT,
                             timeout=300, env={**os.environ, "TOKCONF_CACHE_DIR": cache})
        assert res.returncode == 0, res.stderr[-3000:]
        runs.append(json.loads(res.stdout))
    assert [r["run_info"]["client_cache"] for r in runs] == ["miss", "hit", "off"]
    verdicts = [[(r["check"], r["case"], r["outcome"], r["reason"], r.get("evidence")) for r in run["results"]]
                for run in runs]
    assert verdicts[0] == verdicts[1] == verdicts[2]
    assert sum(v[2] == "PASS" for v in verdicts[1]) > 150


def test_a_recording_served_under_a_path_replays_without_tokenizer(tmp_path):
    """Attached with `--model fixtures/tiny-chat` (vLLM serves the model under its path), recorded,
    replayed as the docs show it: the served name is the tokenizer (it used to be exit 2, "give --tokenizer")."""
    import copy

    from replay_server import ReplayServer
    from support import REPLAYABLE, vllm_records
    from conformance.wire.exchange import Exchange

    served = "fixtures/tiny-chat"
    records = [copy.deepcopy(r) for r in vllm_records()]
    for r in records:
        r["request"]["model"] = served
    with ReplayServer([Exchange.from_record(r) for r in records]) as server:
        live = tokconf("verify", "--base-url", server.base_url, "--dialect", "vllm", "--model", served,
                       "-k", REPLAYABLE, "--record", str(tmp_path / "captured.jsonl"), "--report-dir", str(tmp_path / "reports"))
    assert live.returncode == 0, live.stderr[-3000:]
    replayed = tokconf("verify", "--replay", str(tmp_path / "captured.jsonl"), "--expectations", "vllm-0.32.0-cpu",
                       "--json", "-", "--report-dir", str(tmp_path / "reports"))
    assert replayed.returncode == 0, replayed.stderr[-3000:]
    assert json.loads(replayed.stdout)["run_info"]["tokenizer"].endswith("tiny-chat")
