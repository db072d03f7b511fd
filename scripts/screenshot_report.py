#!/usr/bin/env python
"""Render the HTML report of a real failing run and screenshot it in headless Chromium.

The run: the checks over exchanges recorded from vLLM 0.32.0 on CPU, with a fault from
conformance/selftest/faults.py injected into one case (default: ids dropped on the empty-delta chunks a
detokenizer holds back while an emoji's bytes are incomplete, the haiku case). Needs chromium
(Debian: apt-get install -y chromium).

    python scripts/screenshot_report.py [--fault F --case C] [--out DIR] [--window 1400,1700]
"""
from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from conformance import __version__  # noqa: E402
from conformance.inputs.cases import load_cases  # noqa: E402
from conformance.dialects import load_dialect  # noqa: E402
from conformance.wire.exchange import Exchange  # noqa: E402
from conformance.selftest.faults import FAULTS, FaultContext, apply_fault  # noqa: E402
from conformance.reporting.document import build_report, write_json  # noqa: E402
from conformance.reporting.html import write_html  # noqa: E402
from conformance.running.runner import run_checks  # noqa: E402
from conformance.wire.store import RecordedStore  # noqa: E402
from conformance.running.target import Target  # noqa: E402
from conformance.checking.client_tokenizer import Tokenizer  # noqa: E402

RECORDING = ROOT / "fixtures" / "recordings" / "vllm-0.32.0-cpu.jsonl"


def faulted_report(fault: str, case: str) -> dict:
    dialect = load_dialect("vllm")
    tok = Tokenizer.load(ROOT / "fixtures" / "tiny-chat")
    cases_path = ROOT / "fixtures" / "cases" / "default.yaml"
    ctx, exchanges, applied = FaultContext(dialect, tok), [], False
    for line in RECORDING.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        ex = Exchange.from_record(rec)
        if rec["case"] == case:
            mutated = apply_fault(ex, FAULTS[fault], ctx)
            if mutated is not None:
                ex, applied = mutated, True
        exchanges.append(ex)
    if not applied:
        sys.exit(f"fault {fault} found nothing to break in case {case}")
    results = run_checks(Target(dialect, tok, RecordedStore(exchanges), "tiny-chat"), load_cases(cases_path))
    info = {"engine": "vllm", "engine_version": {"version": "0.32.0", "source": "recording"},
            "base_url": None, "model": "fixtures/tiny-chat", "served_model": "tiny-chat",
            "tokenizer": "fixtures/tiny-chat", "dialect": dialect.name, "cases": "fixtures/cases/default.yaml",
            "host": platform.node(), "tokconf_version": __version__, "started_at": "2026-11-21T02:00:00+00:00",
            "finished_at": "2026-11-21T02:00:41+00:00", "recording": RECORDING.name, "fault": fault}
    return build_report(results, info)


def screenshot(html: Path, png: Path, window: str) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if not browser:
        sys.exit("no chromium on PATH (Debian: apt-get install -y chromium)")
    # --no-sandbox: CI containers run as root; the page is our own local file
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--screenshot={png}", f"--window-size={window}", html.resolve().as_uri()],
                   check=True, capture_output=True, timeout=120)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fault", default="stream.drop_ids_on_empty_delta", choices=sorted(FAULTS))
    ap.add_argument("--case", default="haiku")
    ap.add_argument("--out", type=Path, default=ROOT / "reports" / "screenshot")
    ap.add_argument("--window", default="1400,1700")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    report = faulted_report(args.fault, args.case)
    write_json(report, args.out / "results.json")
    write_html(report, args.out / "report.html")
    screenshot(args.out / "report.html", args.out / "report.png", args.window)
    print(f"{args.out / 'report.html'}\n{args.out / 'report.png'}")


if __name__ == "__main__":
    main()
