"""Every bad input is one line naming the input and exit 2 (usage) or 3 (nothing checked), never a
traceback: non-UTF-8 and compressed files, outputs that are directories, two documents on stdout,
an interpreter that is not there, baseline names that are paths, options a mode would ignore, and
`tokconf trace` sources that hold no trace or are not what they claim."""
import gzip
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from support import ROOT, VLLM_RECORDING, tokconf

REC = str(VLLM_RECORDING)
TOKENIZER = str(ROOT / "fixtures" / "tiny-chat")
TRACE_TOKENIZER = str(ROOT / "tests" / "trace" / "data" / "tokenizer")
STORE = str(ROOT / "tests" / "trace" / "data" / "gateway-vllm.sqlite")
BINARY = b"\xff\xfe\x00\x81garbage\xc3\x28\n"


def one_line(res, code: int, *words: str) -> str:
    assert res.returncode == code, res.stderr[-3000:]
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr[-3000:]  # one line, no traceback
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def files(tmp_path):
    (tmp_path / "binary").write_bytes(BINARY)
    (tmp_path / "binary.yaml").write_bytes(BINARY)  # a dialect profile is a file by its suffix
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile").write_text("x")
    (tmp_path / "empty.jsonl").write_bytes(b"")
    (tmp_path / "rec.jsonl.gz").write_bytes(gzip.compress(VLLM_RECORDING.read_bytes()))
    return tmp_path


@pytest.mark.parametrize("args,what", [
    (["verify", "--replay", "{binary}"], "recording"),
    (["verify", "--replay", REC, "--cases", "{binary}"], "cases file"),
    (["verify", "--replay", REC, "--expectations", "{binary}"], "expectations file"),
    (["verify", "--replay", REC, "--baseline", "{binary}"], "baseline"),
    (["dialects", "--validate", "{binary}.yaml"], "dialect profile"),
    (["report", "{binary}"], "report"),
    (["compare", "--target", "name=a,recording={binary},model=tiny-chat,tokenizer=" + TOKENIZER,
      "--target", f"name=b,recording={REC},model=tiny-chat,tokenizer={TOKENIZER}"], "recording"),
    (["trace", "{binary}", "--tokenizer", TRACE_TOKENIZER, "--mapping", "{binary}"], "trace mapping"),
], ids=["replay", "cases", "expectations", "baseline", "dialect", "report", "compare-recording", "trace-mapping"])
def test_non_utf8_input_files(files, args, what):
    binary = files / "binary"
    res = tokconf(*[a.format(binary=binary) for a in args], *(["--report-dir", str(files / "r")]
                                                              if args[0] in ("verify", "compare") else []))
    one_line(res, 2, f"{what} {binary}", "is not UTF-8 text", "byte 0xff at offset 0")


@pytest.mark.parametrize("args,words", [
    (["verify", "--replay", REC, "--json", "{adir}"], "--json {adir} is a directory"),
    (["verify", "--replay", REC, "--html", "{afile}/r.html"], "--html {afile}/r.html: {afile} is a file"),
    (["verify", "--replay", REC, "--report-dir", "{afile}"], "--report-dir {afile} is a file"),
    (["verify", "--replay", REC, "--json", "-", "--markdown", "-"], "--json and --markdown both write to stdout"),
    (["verify", "--replay", REC, "--json", "-", "--junit-xml", "-", "--html", "-"], "all write to stdout"),
    (["compare", REC, REC, "--json", "-", "--markdown", "-"], "--json and --markdown both write to stdout"),
    (["trace", STORE, "--tokenizer", TRACE_TOKENIZER, "--json", "-", "--markdown", "-"], "both write to stdout"),
    (["trace", STORE, "--tokenizer", TRACE_TOKENIZER, "--junit-xml", "{adir}"], "--junit-xml {adir} is a directory"),
    (["report", "{report}", "--format", "html", "--output", "{adir}"], "--output {adir} is a directory"),
    (["selftest", "--json", "{adir}"], "--json {adir} is a directory"),
    (["baseline", "record", "x", "--out-dir", "{afile}"], "--out-dir {afile} is a file"),
], ids=["json-dir", "html-under-file", "report-dir-file", "two-stdout", "three-stdout", "compare-two-stdout",
        "trace-two-stdout", "trace-junit-dir", "report-output-dir", "selftest-json-dir", "baseline-out-dir-file"])
def test_bad_outputs_before_the_run(files, args, words):
    report = files / "report.json"
    report.write_text(json.dumps({"results": [], "run_info": {}, "summary": {}}))
    fill = dict(adir=files / "adir", afile=files / "afile", report=report)
    res = tokconf(*[a.format(**fill) for a in args])
    one_line(res, 2, words.format(**fill))
    assert not res.stdout  # nothing ran: no report, not half of one


@pytest.mark.parametrize("command", [["verify"], ["selftest"], ["baseline", "record", "x"]])
@pytest.mark.parametrize("python,words", [
    ("/nonexistent/python", "--engine-python /nonexistent/python: no such interpreter"),
    ("/etc/hostname", "/etc/hostname: "),  # no interpreter (as root, access() calls any file executable)
])
def test_engine_python_not_there(tmp_path, command, python, words):
    res = tokconf(*command, "--engine-python", python, "--report-dir", str(tmp_path), *(
        ["--out-dir", str(tmp_path / "b")] if command[0] == "baseline" else []))
    one_line(res, 3, words)
    if python == "/nonexistent/python":
        assert not any(tmp_path.iterdir())  # refused before a run folder was made


def test_engine_cmd_program_not_there(tmp_path):
    res = tokconf("verify", "--engine-cmd", "/no/such/engine --port {port}", "--ready-url",
                  "http://127.0.0.1:{port}/health", "--report-dir", str(tmp_path))
    one_line(res, 3, "cannot start engine process 'engine': /no/such/engine: No such file or directory")


@pytest.mark.parametrize("name", ["sub/name", "../x", "..", "a\\b", ""])
def test_baseline_name_is_a_file_name(tmp_path, name):
    out = tmp_path / "out"
    res = tokconf("baseline", "record", name, "--out-dir", str(out), "--report-dir", str(tmp_path / "r"))
    one_line(res, 2, f"baseline name {name!r} must be a plain file name")
    assert list(tmp_path.rglob("*.json")) == []  # nothing written, inside --out-dir or out of it


@pytest.mark.parametrize("extra,words", [
    (["--concurrency", "0"], "--concurrency must be more than 0, got 0"),
    (["--request-timeout", "-5"], "--request-timeout must be more than 0, got -5"),
    (["--record", "{tmp}/rec.jsonl"], "--record applies to a server or a launched engine, not to --replay"),
    (["--engine-arg=--enforce-eager"], "--engine-arg applies"),
    (["--engine-env", "HF_TOKEN=hf_abcdef123"], "--engine-env applies"),
    (["--concurrency", "8", "--request-timeout", "30"], "--concurrency, --request-timeout apply"),
    (["--engine-python", sys.executable + "x"], "--engine-python applies"),
    (["--worker", "vllm"], "--worker applies"),
    (["--patch", "agentcore-0.1.3"], "--patch applies"),
], ids=["concurrency-0", "timeout-negative", "record", "engine-arg", "engine-env", "two", "engine-python", "worker",
        "patch"])
def test_replay_rejects_what_it_would_ignore(tmp_path, extra, words):
    res = tokconf("verify", "--replay", REC, *[a.format(tmp=tmp_path) for a in extra], "--report-dir", str(tmp_path))
    one_line(res, 2, words)
    assert "hf_abcdef123" not in res.stderr
    assert not (tmp_path / "rec.jsonl").exists()


class _Server:
    """A server that is not a gateway: GET /sessions answers `body` with `content_type`."""

    def __init__(self, status: int, body: str, content_type: str):
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                data = body.encode()
                self.send_response(status)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.parametrize("status,body,ctype,words", [
    (200, '["a", "b"]', "application/json", "is not a list of sessions"),  # once: "string indices must be integers"
    (200, '{"object": "list", "data": []}', "application/json", "is not a list of sessions: dict"),
    (200, "<html><body>" + "x" * 5000 + "</body></html>", "text/html", "GET /sessions is not JSON: text/html"),
    (404, '{"detail": "Not Found"}', "application/json", "GET /sessions: HTTP 404"),
], ids=["json-strings", "openai-server", "html", "404"])
def test_trace_url_that_is_not_a_gateway(status, body, ctype, words):
    server = _Server(status, body, ctype)
    try:
        res = tokconf("trace", server.url, "--tokenizer", TRACE_TOKENIZER)
    finally:
        server.close()
    one_line(res, 2, f"{server.url} is not an rllm-model-gateway", words)


@pytest.mark.parametrize("source,extra,words", [
    ("{tmp}/empty.jsonl", [], "{tmp}/empty.jsonl holds no trace"),
    ("{tmp}/binary", [], "{tmp}/binary is not JSONL: binary:1: not UTF-8"),
    ("{tmp}/rec.jsonl.gz", [], "{tmp}/rec.jsonl.gz is gzip (gunzip it first)"),
    (STORE, ["--session", "nosuch"], f"--session 'nosuch': no such session in {STORE}"),
], ids=["empty", "binary", "gzip", "no-such-session"])
def test_trace_sources_that_hold_no_trace(files, source, extra, words):
    res = tokconf("trace", source.format(tmp=files), "--tokenizer", TRACE_TOKENIZER, *extra)
    one_line(res, 2, words.format(tmp=files))


def test_a_bad_line_further_on_stays_an_error_of_its_own(tmp_path):
    """Only a source whose first record is unreadable is the wrong input: a damaged line later is
    one ERROR in the run, and the rest is checked."""
    from pathlib import Path

    from conformance.trace.sources import sqlite_rows

    records = [row.record for row in sqlite_rows(Path(STORE))]
    path = tmp_path / "traces.jsonl"
    path.write_bytes(json.dumps(records[0]).encode() + b"\n" + BINARY + b"\n")
    res = tokconf("trace", str(path), "--tokenizer", TRACE_TOKENIZER, "--json", str(tmp_path / "r.json"))
    assert res.returncode == 1, res.stderr[-3000:]
    results = json.loads((tmp_path / "r.json").read_text())["results"]
    assert any(r["outcome"] == "ERROR" and "not UTF-8" in r["reason"] for r in results)
    assert any(r["outcome"] == "PASS" for r in results)


@pytest.mark.parametrize("change,words", [
    ({"params": {"temperature": "hot"}}, "params.temperature must be a number from 0 to 2, got 'hot'"),
    ({"params": {"max_tokens": -3}}, "params.max_tokens must be an integer from 1, got -3"),
    ({"params": {"n": 1.5}}, "params.n must be an integer from 1, got 1.5"),
    ({"params": {"top_p": 0}}, "params.top_p must be a number above 0 up to 1, got 0"),
    ({"params": {"stop": 5}}, "params.stop must be a string or a list of strings, got 5"),
    ({"messages": [{"role": "wizard", "content": "hi"}]}, "unknown role 'wizard'"),
    ({"followup": [{"role": "wizard", "content": "hi"}]}, "unknown role 'wizard'"),
], ids=["temperature-hot", "max-tokens-negative", "n-fraction", "top-p-0", "stop-number", "role-wizard",
        "followup-role"])
def test_cases_the_engine_would_reject_are_rejected_at_load(tmp_path, change, words):
    """Once: every check ERRORed with the engine's HTTP 400 and the engine was blamed (exit 1), or
    (`role: wizard`) the run was green."""
    case = {"id": "c1", "messages": [{"role": "user", "content": "hello"}], "params": {"temperature": 0, "max_tokens": 4},
            **change}
    cases = tmp_path / "cases.json"
    cases.write_text(json.dumps({"cases": [case]}))
    for args in (["verify", "--replay", REC, "--report-dir", str(tmp_path / "r")], ["cases"]):
        res = tokconf(*args, "--cases", str(cases))
        one_line(res, 2, f"cases file {cases}: case 'c1'", words)


def test_the_shipped_cases_pass_their_own_schema():
    from conformance.inputs.cases import load_cases

    for path in [*(ROOT / "fixtures" / "cases").glob("*.yaml"), *(ROOT / "fixtures" / "recordings").glob("*cases.yaml")]:
        assert load_cases(path), path


def test_base_url_at_a_web_page_is_one_line_exit_3(tmp_path):
    """A server answering an HTML page with 200 everywhere (a UI, a proxy's login page): once 247
    FAILs blamed on the engine; now the preflight says what it is."""
    page = "<!DOCTYPE html><html><head><title>Sign in</title></head><body>" + "<p>x</p>\n" * 500 + "</body></html>"
    server = _Server(200, page, "text/html; charset=utf-8")
    try:
        res = tokconf("verify", "--base-url", server.url, "--model", "tiny-chat", "--tokenizer", TOKENIZER,
                      "--report-dir", str(tmp_path))
    finally:
        server.close()
    one_line(res, 3, f"server not ready: {server.url} is not an OpenAI-compatible server",
             "answered an HTML page (HTTP 200)")


def test_base_url_at_a_file_server_is_one_line_per_check(tmp_path):
    """A plain HTTP file server (GET /v1/models is its 404 page, every POST its 501 page): each
    ERROR names the page by its title on one line, not the whole page (once 2,401 lines)."""
    import functools
    from http.server import SimpleHTTPRequestHandler

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *a):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(tmp_path)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        res = tokconf("verify", "--base-url", f"http://127.0.0.1:{httpd.server_address[1]}", "--model", "tiny-chat",
                      "--tokenizer", TOKENIZER, "--report-dir", str(tmp_path / "r"), "-k", "exposure",
                      "--json", str(tmp_path / "r.json"))
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert res.returncode == 1, res.stderr[-3000:]
    results = json.loads((tmp_path / "r.json").read_text())["results"]
    errors = [r for r in results if r["outcome"] == "ERROR"]
    assert errors and all("returned HTTP 501: an HTML page ('Error response')" in r["reason"] for r in errors)
    assert all("\n" not in r["reason"] for r in results)
    output = res.stdout + res.stderr
    assert "<html" not in output.lower() and "<!doctype" not in output.lower()
    assert len(output.splitlines()) < len(results) + 20, output[-3000:]
