"""`tokconf compare --target ...`: the same cases against several targets (recordings, servers),
a checks x targets matrix, and per case whether greedy prompt and completion ids agree."""
import json

import pytest
from typer.testing import CliRunner

from conformance.cli import app
from conformance.errors import UsageError
from conformance.comparing.target_specs import load_targets, parse_target
from support import ROOT, merged_vllm_recording
from replay_server import ReplayServer

runner = CliRunner()
TOK = str(ROOT / "fixtures" / "tiny-chat")
# both vLLM recording files (the full catalogue's exchanges) as the one file a recording target takes
VLLM_ALL = merged_vllm_recording(__import__("pathlib").Path(__import__("tempfile").mkdtemp(prefix="tokconf-vllm-")))
VLLM = f"name=vllm,recording={VLLM_ALL},dialect=vllm,model=tiny-chat,tokenizer={TOK}"


@pytest.fixture(scope="module")
def faulted_recording(vllm_recorded, tmp_path_factory):
    """A copy of the vLLM recording whose French non-stream reply was re-tokenized from its text
    (the EOS lost): the bug class of engines that re-encode instead of returning what they sampled."""
    path = tmp_path_factory.mktemp("rec") / "vllm-faulted.jsonl"
    exchanges = vllm_recorded.exchanges(fault="nonstream.retokenized_completion", case="french")
    with open(path, "w") as fh:
        for rec, ex in zip(vllm_recorded.records, exchanges):
            fh.write(json.dumps(ex.to_record(case=rec["case"], variant=rec["variant"])) + "\n")
    return path


@pytest.fixture(scope="module")
def compared(faulted_recording, tmp_path_factory):
    out = tmp_path_factory.mktemp("cmp")
    res = runner.invoke(app, ["compare", "--target", VLLM,
                              "--target", f"name=patched,recording={faulted_recording},model=tiny-chat,tokenizer={TOK}",
                              "--report-dir", str(out / "runs"), "--json", str(out / "cmp.json"),
                              "--markdown", str(out / "cmp.md"), "--html", str(out / "cmp.html")],
                        env={"COLUMNS": "200"})
    return res, json.loads((out / "cmp.json").read_text()), out


def test_matrix_and_exit_code(compared):
    res, doc, out = compared
    assert res.exit_code == 1, res.output
    assert [t["name"] for t in doc["targets"]] == ["vllm", "patched"]
    vllm, patched = ({(r["check"], r["case"]): r["outcome"] for r in t["results"]} for t in doc["targets"])
    assert vllm[("parity.stream_nonstream", "french")] == "PASS" and patched[("parity.stream_nonstream", "french")] == "FAIL"
    header = next(line for line in res.output.splitlines() if "vllm" in line and "patched" in line)
    row = next(line for line in res.output.splitlines() if "parity.stream_nonstream" in line and "✗" in line)
    assert header.index("vllm") < header.index("patched") and row.index("✓ 11/11") < row.index("✗ 10/11")
    assert "patched: parity.stream_nonstream[french] FAIL" in res.output
    for name in ("vllm", "patched"):  # each target's own report, re-renderable with tokconf report
        assert len(list((out / "runs").glob(f"*-compare/{name}/results.json"))) == 1


def test_per_case_agreement(compared, tokenizer):
    res, doc, _ = compared
    by_case = {row["case"]: row for row in doc["agreement"]}
    assert set(by_case) == {"hello", "french", "haiku", "weather_tools", "capital_tools", "weather_followup",
                            "story_max_tokens", "count_stop", "flower_emoji", "hello_max1", "flower_max1"}
    assert all(row["prompt"]["agree"] for row in doc["agreement"])
    assert [c for c, row in by_case.items() if not row["completion"]["agree"]] == ["french"]
    (d,) = by_case["french"]["completion"]["divergences"]
    assert d["target"] == "patched" and by_case["french"]["completion"]["reference"] == "vllm"
    at = d["first_divergence"]
    assert d["left"][:at] == d["right"][:at] and d["left"][at:at + 1] != d["right"][at:at + 1]
    assert d["left_tokens"] == [tokenizer.token_text(i) for i in d["left"]]
    assert f"patched differs from vllm at index {at}" in " ".join(res.output.split())
    assert f"french completion ids: patched differs from vllm at index {at}" in res.output


def test_attached_server_agrees_with_its_recording(vllm_recorded, tmp_path):
    with ReplayServer(vllm_recorded.exchanges(), version="0.32.0") as server:
        targets = tmp_path / "targets.yaml"
        targets.write_text(f"targets:\n  - {{name: live, base_url: '{server.base_url}', model: tiny-chat, tokenizer: '{TOK}'}}\n")
        res = runner.invoke(app, ["compare", "--targets", str(targets), "--target", VLLM, "-k", "parity_stream",
                                  "--report-dir", str(tmp_path), "--json", str(tmp_path / "c.json")])
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "c.json").read_text())
    assert [t["name"] for t in doc["targets"]] == ["vllm", "live"]  # --target ones first, then the file
    assert doc["targets"][1]["run_info"]["engine_version"] == {"version": "0.32.0", "source": "GET /version"}
    assert {r["check"] for t in doc["targets"] for r in t["results"]} == {"parity.stream_nonstream"}
    assert all(row[k]["agree"] for row in doc["agreement"] for k in ("prompt", "completion"))


@pytest.mark.parametrize("spec,words", [
    ("name=a,model=m", "exactly one of base_url, engine, engine_cmd, recording"),
    ("name=a,base_url=http://h", "needs model"),
    ("base_url=http://h,model=m", "missing key 'name'"),
    ("name=a,base_url=http://h,model=m,api_key=sk-x", "unknown key 'api_key'"),
    ("name=a,base_url", "not key=value"),
])
def test_bad_specs(spec, words):
    with pytest.raises(UsageError, match=words):
        parse_target(spec)


def test_cli_rejects_one_target_and_duplicate_names():
    res = runner.invoke(app, ["compare", "--target", VLLM])
    assert res.exit_code == 2 and "at least two targets" in res.output
    res = runner.invoke(app, ["compare", "--target", VLLM, "--target", VLLM])
    assert res.exit_code == 2 and "unique" in res.output


def test_targets_file_with_engine_args(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("- {name: a, engine: vllm, engine_args: [--enforce-eager]}\n- {name: b, base_url: 'http://h', model: m}\n")
    a, b = load_targets(path)
    assert (a.kind, a.engine_args, b.kind) == ("launch", ("--enforce-eager",), "attach")


def test_markdown_and_html(compared):
    _, doc, out = compared
    md = (out / "cmp.md").read_text()
    assert md.startswith("## tokconf compare: vllm vs patched")
    assert "| `parity.stream_nonstream` | ✅ 11/11 | ❌ 10/11 |" in md
    (d,) = next(r for r in doc["agreement"] if r["case"] == "french")["completion"]["divergences"]
    assert f"| french | ✅ agree | ❌ patched ≠ vllm at {d['first_divergence']}: " in md
    html = (out / "cmp.html").read_text()
    assert html.count('class="tokdiff"') == 1 and "patched differs from vllm at index" in html
    assert "http://" not in html and "https://" not in html  # self-contained
