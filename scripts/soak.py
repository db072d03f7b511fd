"""Soak: the full check catalogue N times (default 20) against one CPU vLLM start.

Every pass sends every request afresh; a result that differs between passes is intermittent.
Prints the intermittent count and the per-pass wall time (median, min, max) and writes them,
with every intermittent result, to --out (JSON). Hold the engine lock while it runs:

    flock /tmp/tokconf-engine.lock python scripts/soak.py --passes 20 --out reports/soak.json
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from conformance.inputs.baseline import load_baseline  # noqa: E402
from conformance.inputs.cases import load_cases  # noqa: E402
from conformance.dialects import load_dialect  # noqa: E402
from conformance.engines.base import EngineOptions  # noqa: E402
from conformance.engines.vllm import VllmEngine  # noqa: E402
from conformance.engines.launch import RunningEngine  # noqa: E402
from conformance.running.repeat import fold  # noqa: E402
from conformance.resources import default_cases, fixture_model  # noqa: E402
from conformance.running.runner import run_checks  # noqa: E402
from conformance.wire.store import LiveStore  # noqa: E402
from conformance.running.target import Target  # noqa: E402
from conformance.checking.client_tokenizer import Tokenizer  # noqa: E402
from conformance.wire.transport import Sender  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--passes", type=int, default=20)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--out", type=Path, default=ROOT / "reports" / "soak.json")
    ap.add_argument("--baseline", type=Path, default=ROOT / "fixtures" / "baselines" / "vllm-0.32.0-cpu.json",
                    help="key-path baseline, so vanilla.baseline runs rather than SKIPs")
    args = ap.parse_args()

    model = fixture_model()
    tok, dialect, cases = Tokenizer.load(model), load_dialect("vllm"), load_cases(default_cases())
    baseline = load_baseline(args.baseline) if args.baseline else None
    specs = VllmEngine().launch_specs(EngineOptions(model=str(model), served_model="tiny-chat", python=sys.executable))
    passes, times, sent = [], [], 0
    with tempfile.TemporaryDirectory() as logs:
        started = time.monotonic()
        with RunningEngine(specs, Path(logs), startup_timeout=600) as engine:
            ready = time.monotonic() - started
            for n in range(args.passes):
                sender = Sender(engine.base_url, concurrency=args.concurrency)
                store = LiveStore(sender, liveness=engine.dead)
                t0 = time.monotonic()
                try:
                    passes.append(run_checks(Target(dialect, tok, store, "tiny-chat", baseline=baseline), cases))
                finally:
                    sender.close()
                times.append(time.monotonic() - t0)
                sent += store.requests_sent
                print(f"pass {n + 1}/{args.passes}: {times[-1]:.2f}s, {len(passes[-1])} results", flush=True)
                if engine.dead():
                    print("the engine died", file=sys.stderr)
                    return 3
    results = fold(passes)
    flaky = [r for r in results if r.intermittent]
    outcomes = sorted({r.outcome.value for r in results})
    summary = {
        "passes": args.passes, "results_per_pass": len(passes[0]), "requests_sent": sent,
        "intermittent": len(flaky), "outcomes": outcomes, "engine_ready_s": round(ready, 1),
        "pass_seconds": {"median": round(statistics.median(times), 2), "min": round(min(times), 2),
                         "max": round(max(times), 2)},
        "intermittent_results": [{"check": r.check, "case": r.case, "attempts": r.attempts} for r in flaky],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps({k: v for k, v in summary.items() if k != "intermittent_results"}))
    for r in flaky:
        print(f"intermittent: {r.check}[{r.case}]: {' '.join(r.attempts)}")
    return 1 if flaky else 0


if __name__ == "__main__":
    sys.exit(main())
