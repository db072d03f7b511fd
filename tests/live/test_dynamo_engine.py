"""Real-engine tier: Dynamo 1.6.1's frontend over its mocker and over its vLLM worker on CPU,
launched by `tokconf verify --engine dynamo` (frontend + worker as one target).

Dynamo lives in its own virtualenv (`make test` builds .venv-dynamo; TOKCONF_DYNAMO_PYTHON
points elsewhere). One engine at a time: the machine has 2 cores.
"""
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from conformance.checking.catalog import load_catalog

ROOT = Path(__file__).resolve().parents[2]
DYNAMO_PYTHON = Path(os.environ.get("TOKCONF_DYNAMO_PYTHON") or ROOT / ".venv-dynamo" / "bin" / "python")
EXPECTATIONS = ROOT / "fixtures" / "expectations" / "dynamo-1.6.1.yaml"

pytestmark = [pytest.mark.engine,
              pytest.mark.skipif(not DYNAMO_PYTHON.exists(), reason=f"no Dynamo virtualenv at {DYNAMO_PYTHON} "
                                 "(make test builds .venv-dynamo)")]

sys.path.insert(0, str(Path(__file__).parent))
from test_vllm_engine import processes_with, tokconf  # noqa: E402


def verify_dynamo(tmp_path, worker, *extra):
    name = f"tokconf-test-{uuid.uuid4().hex[:8]}"
    out = tmp_path / "out"
    res = tokconf("verify", "--engine", "dynamo", "--worker", worker, "--engine-python", str(DYNAMO_PYTHON),
                  "--served-model-name", name, "--report-dir", str(tmp_path / "reports"), "--json", f"{out}.json",
                  "--junit-xml", f"{out}.xml", "--markdown", f"{out}.md", "--html", f"{out}.html", *extra,
                  timeout=900)
    report = json.loads(Path(f"{out}.json").read_text()) if Path(f"{out}.json").exists() else None
    return name, res, report


MODEL_OUTPUT = {info.id for info in load_catalog() if info.model_output}


def by_check(report):
    out = {}
    for r in report["results"]:
        out.setdefault(r["check"], set()).add(r["outcome"])
    return out


def test_dynamo_mocker(tmp_path):
    name, res, report = verify_dynamo(tmp_path, "mocker", "--expectations", str(EXPECTATIONS))
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    outcomes = by_check(report)
    # XFAIL: the frontend's own tokenization of a tool result (declared in the expectations file)
    assert {o for s in outcomes.values() for o in s} <= {"PASS", "SKIP", "INCONCLUSIVE", "XFAIL"}
    # random ids, no model: everything that compares ids with model output cannot decide ...
    assert report["run_info"]["determinism"]["deterministic"] is False
    for check, seen in outcomes.items():
        if check in MODEL_OUTPUT:
            assert seen <= {"INCONCLUSIVE", "SKIP"}, (check, seen)
    # ... while exposure, the n>1 refusal and the vanilla wire pass
    for check in ("exposure.nonstream", "exposure.stream", "n.rejected", "vanilla.no_extension_keys"):
        assert outcomes[check] == {"PASS"}, (check, outcomes[check])
    (run_dir,) = (tmp_path / "reports").iterdir()
    assert (run_dir / "dynamo-mocker.log").exists() and (run_dir / "dynamo-frontend.log").exists()
    for fmt in ("xml", "md", "html"):
        assert (tmp_path / f"out.{fmt}").stat().st_size > 0
    assert processes_with(name) == []  # frontend and worker both gone


def test_dynamo_over_vllm_worker(tmp_path):
    name, res, report = verify_dynamo(tmp_path, "vllm", "--expectations", str(EXPECTATIONS))
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    outcomes = by_check(report)
    assert {o for s in outcomes.values() for o in s} <= {"PASS", "SKIP", "INCONCLUSIVE", "XFAIL"}
    assert report["run_info"]["determinism"]["deterministic"] is True
    for check in ("exposure.nonstream", "exposure.stream", "parity.stream_nonstream", "decode.roundtrip.stream",
                  "n.rejected", "tools.call_parity"):
        assert outcomes[check] == {"PASS"}, (check, outcomes[check])
    assert processes_with(name) == []


def test_compare_vllm_with_dynamo_mocker(tmp_path):
    """Both engines launched one after the other: the checks x targets matrix and, per greedy case,
    whether the ids agree. The mocker's random ids cannot agree with vLLM's: exit 1, named."""
    res = tokconf("compare", "--target", "name=vllm,engine=vllm",
                  "--target", f"name=dyn-mocker,engine=dynamo,worker=mocker,engine_python={DYNAMO_PYTHON}",
                  "--report-dir", str(tmp_path), "--json", str(tmp_path / "compare.json"), timeout=900)
    assert res.returncode == 1, res.stdout[-3000:] + res.stderr[-3000:]
    out = " ".join(res.stdout.split())
    assert "vllm" in out and "dyn-mocker" in out and "exposure.nonstream" in out
    data = json.loads((tmp_path / "compare.json").read_text())
    cases = {row["case"]: row for row in data["agreement"]}
    assert cases["hello"]["prompt"]["agree"] is True  # the same template and tokenizer render the prompt
    assert cases["hello"]["completion"]["agree"] is False  # random ids vs the model's reply
