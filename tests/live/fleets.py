"""What the fleet tests (SGLang behind sglang-router, Dynamo behind its frontend) share: running
`tokconf` and reading fleet.workers_agree's results out of its JSON report."""
from __future__ import annotations

import json
from pathlib import Path
from support import tokconf as run_tokconf

ROOT = Path(__file__).resolve().parents[2]
CHECK = "fleet.workers_agree"


def tokconf(*args, timeout=900):
    return run_tokconf(*args, timeout=timeout)

def report_of(res, out: Path) -> dict:
    assert out.exists(), res.stdout[-3000:] + res.stderr[-3000:]
    return json.loads(out.read_text())


def fleet_results(report: dict) -> dict[str, dict]:
    """case -> its fleet.workers_agree result."""
    return {r["case"]: r for r in report["results"] if r["check"] == CHECK}


def verify_caught(base_url: str, model: str, tokenizer: Path, dialect: str, tmp_path: Path) -> dict:
    """`tokconf verify` attached to a fleet with one different worker, on two cases: exit 1 and
    fleet.workers_agree FAIL on each, naming the request and where the completion ids part, while
    each worker reproduces itself (the determinism pre-check). Returns the report."""
    out = tmp_path / "out.json"
    res = tokconf("verify", "--base-url", base_url, "--model", model, "--tokenizer", str(tokenizer),
                  "--fleet-size", "2", "--dialect", dialect, "-k", f"{CHECK}[hello] or {CHECK}[french]",
                  "--json", str(out), "--report-dir", str(tmp_path / "reports"))
    report = report_of(res, out)
    assert res.returncode == 1, res.stderr[-2000:]
    results = fleet_results(report)
    assert set(results) == {"hello", "french"}
    for case in ("hello", "french"):
        why = results[case]["reason"]
        assert results[case]["outcome"] == "FAIL", why
        assert why.startswith(f"workers disagree on {case}/nonstream (repeats 1 and 2 of 2"), why
        assert "completion ids" in why and "first differ at index" in why, why
    assert report["run_info"]["determinism"]["deterministic"] is True  # each worker reproduces itself
    return report
