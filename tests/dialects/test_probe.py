"""`tokconf probe` against local replay servers that serve exchanges recorded from real engines
byte for byte, matched by request body (404 for anything not recorded). The probe against a
live vLLM is in tests/live/test_probe_and_engine_cmd.py."""
import json


from conformance.wire.exchange import Exchange
from support import CORE_CHECKS, RECORDINGS, ROOT, VLLM_RECORDING, load_records, only, tokconf
from replay_server import ReplayServer

SGLANG_TOK = str(RECORDINGS / "sglang-model")


def exchanges(*paths):
    # the replay server matches by body alone: leave out exchanges whose opt-in was sent as headers
    return [Exchange.from_record(rec) for path in paths for rec in load_records(path) if not rec.get("request_headers")]


def probe(url, model, tokenizer, tmp_path):
    res = tokconf("probe", "--base-url", url, "--model", model, "--tokenizer", tokenizer,
                  "--json", str(tmp_path / "probe.json"))
    return res, json.loads((tmp_path / "probe.json").read_text())


def test_probe_finds_upstream_sglang_chat_and_generate(tmp_path):
    with ReplayServer(exchanges(RECORDINGS / "sglang-0.5.23" / "chat_completions.jsonl",
                                RECORDINGS / "sglang-0.5.23" / "generate.jsonl")) as server:
        res, found = probe(server.base_url, "tiny", SGLANG_TOK, tmp_path)
        paths = {r["path"] for r in server.received}
    assert res.returncode == 0, res.stderr
    assert found["spoken"] == ["sglang", "sglang-generate"]  # chat with streamed ids first
    by = {f["dialect"]: f for f in found["findings"]}
    assert "16 completion ids at choices[i].response_token_ids" in by["sglang"]["detail"]
    assert "prompt ids (sent by the client)" in by["sglang-generate"]["detail"]
    assert "choices[i].token_ids) are absent" in by["vllm"]["detail"]  # return_token_ids answered, not vLLM's shape
    # and the gateway's session URL (reset first): SGLang has none, so rllm-gateway is not spoken
    gateway = {p for p in paths if p.startswith("/sessions/tokconf-ids-")}
    assert len(gateway) == 2 and "rllm-gateway" not in found["spoken"]
    assert paths - gateway == {"/v1/chat/completions", "/generate"}
    assert f"tokconf verify --base-url {server.base_url} --model tiny --tokenizer {SGLANG_TOK} --dialect sglang\n" \
        in res.stdout


def test_probe_names_the_patched_sglang_by_its_always_on_ids(tmp_path):
    with ReplayServer(exchanges(RECORDINGS / "sglang-0.5.x-agentcore-patch" / "chat_completions.jsonl")) as server:
        res, found = probe(server.base_url, "tiny", SGLANG_TOK, tmp_path)
    assert res.returncode == 0, res.stderr
    assert found["spoken"][0] == "sglang-tokenids-patch"
    # the patch is vLLM-shaped, so vLLM's opt-in request gets ids too; but unasked they are always on,
    # which vLLM's profile does not declare: listed, last, with the reason
    assert found["spoken"][-1] == "vllm"
    assert "declares 'null'" in next(f["detail"] for f in found["findings"] if f["dialect"] == "vllm")
    assert any("without any opt-in" in note for note in found["vanilla"])


def test_probe_finds_vllm_in_its_recording(tmp_path):
    with ReplayServer(exchanges(VLLM_RECORDING)) as server:
        res, found = probe(server.base_url, "tiny-chat", str(ROOT / "fixtures" / "tiny-chat"), tmp_path)
    assert res.returncode == 0, res.stderr
    assert found["spoken"] == ["vllm"]


def test_probe_exits_1_when_no_dialect_answers(tmp_path):
    with ReplayServer([], models=["tiny"]) as server:  # serves the model, but no dialect's ids
        res, found = probe(server.base_url, "tiny", SGLANG_TOK, tmp_path)
    assert res.returncode == 1 and found["spoken"] == []
    assert "no shipped dialect's ids came back" in res.stdout
    assert all(not f["speaks"] and "HTTP 404" in f["detail"] for f in found["findings"])


def test_the_printed_verify_command_runs_on_the_replayed_sglang(tmp_path):
    # the command the probe prints, with the cases and checks the recordings hold requests for, passes end
    # to end (the rest of the catalogue needs requests these recordings do not hold)
    with ReplayServer(exchanges(RECORDINGS / "sglang-0.5.23" / "chat_completions.jsonl")) as server:
        res = tokconf("verify", "--base-url", server.base_url, "--model", "tiny", "--tokenizer", SGLANG_TOK,
                      "--dialect", "sglang", "--cases", str(RECORDINGS / "sglang-0.5.23-cases.yaml"),
                      "-k", only(*CORE_CHECKS),
                      "--json", str(tmp_path / "r.json"), "--report-dir", str(tmp_path / "runs"))
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    report = json.loads((tmp_path / "r.json").read_text())
    assert {r["outcome"] for r in report["results"]} <= {"PASS", "INCONCLUSIVE"}
    assert report["summary"]["PASS"] >= 30


def test_probe_finds_dynamo_in_its_recording(tmp_path):
    # real Dynamo 1.6.1 frontend over a vLLM 0.31 worker, recorded by the Dynamo workstream
    with ReplayServer(exchanges(RECORDINGS / "dynamo-1.6.1-vllm-0.31.0-cpu.jsonl")) as server:
        res, found = probe(server.base_url, "tiny-chat", str(ROOT / "fixtures" / "tiny-chat"), tmp_path)
    assert res.returncode == 0, res.stderr
    assert found["spoken"] == ["dynamo"]
    assert "completion ids at nvext.completion_token_ids" in next(
        f["detail"] for f in found["findings"] if f["dialect"] == "dynamo")
