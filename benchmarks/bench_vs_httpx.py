"""tokconf's overhead against a bare replay of the same HTTP requests, on one live engine.

    flock /tmp/tokconf-engine.lock python benchmarks/bench_vs_httpx.py [--rounds 5] [--json out.json]
    python benchmarks/bench_vs_httpx.py --base-url http://127.0.0.1:8000 --model tiny-chat   # attach

One engine is started (vLLM on CPU serving fixtures/tiny-chat, as `tokconf verify` starts it) or
attached to; then, alternating in each round so neither side profits from a warmer engine:

- tokconf: the full catalogue in-process (build requests, send each distinct one once, run every
  check over every case), a fresh store each round so nothing is cached between rounds;
- bare httpx: the very request bodies tokconf sent in round 1, replayed with one httpx.Client
  and the same concurrency, in the same two phases (a follow-up body only exists once the reply
  it builds on is in), reading each body whole and doing nothing else.

Printed (and written with --json): medians per side, the ratio tokconf / bare (target <= 1.1),
requests sent, verdicts (results that are not SKIP) and requests per verdict, and the wall time
of one `tokconf verify --base-url` subprocess against the ready engine (target < 30 s).
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from conformance.inputs.cases import load_cases  # noqa: E402
from conformance.dialects import load_dialect  # noqa: E402
from conformance.wire.requests import VARIANTS  # noqa: E402
from conformance.running.runner import run_checks  # noqa: E402
from conformance.wire.store import LiveStore  # noqa: E402
from conformance.running.target import Target  # noqa: E402
from conformance.checking.client_tokenizer import Tokenizer  # noqa: E402
from conformance.wire.transport import Sender  # noqa: E402

CONCURRENCY = 4  # tokconf verify's default


def run_tokconf(base_url: str, dialect, tok, served: str, cases) -> tuple[float, float, LiveStore, list]:
    sender = Sender(base_url, concurrency=CONCURRENCY)
    store = LiveStore(sender)
    start, cpu = time.perf_counter(), time.process_time()
    try:
        results = run_checks(Target(dialect, tok, store, served), cases)
    finally:
        sender.close()
    return time.perf_counter() - start, time.process_time() - cpu, store, results


def phases(store: LiveStore) -> list[list[tuple[str, str, dict]]]:
    """The requests tokconf sent, as (method, path, body), split into its two sending phases."""
    first, later = [], []
    for key, ex in store._cache.items():  # the benchmark reads the store's record of what it sent
        label = store._labels.get(key, "")
        variant = label.split("/", 1)[1].split("#")[0] if "/" in label else ""
        (later if variant in VARIANTS and VARIANTS[variant].after else first).append((ex.method, ex.path, ex.request))
    return [first, later]


def run_bare(base_url: str, batches: list[list[tuple[str, str, dict]]]) -> tuple[float, float]:
    with httpx.Client(base_url=base_url, timeout=120.0, limits=httpx.Limits(max_connections=CONCURRENCY)) as client:
        def send(req):
            method, path, body = req
            with client.stream(method, path, json=body) as resp:
                resp.read()
                return resp.status_code

        start, cpu = time.perf_counter(), time.process_time()
        with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
            for batch in batches:
                statuses = list(pool.map(send, batch))
                if any(s != 200 for s in statuses):
                    raise SystemExit(f"bare replay got non-200 statuses: {sorted(set(statuses))}")
        return time.perf_counter() - start, time.process_time() - cpu


def cli_wall_time(base_url: str, served: str) -> tuple[float, int]:
    start = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "conformance", "verify", "--base-url", base_url, "--model", served,
                          "--tokenizer", str(ROOT / "fixtures" / "tiny-chat"), "--report-dir", "/tmp/tokconf-bench-reports",
                          "--baseline", str(ROOT / "fixtures" / "baselines" / "vllm-0.32.0-cpu.json")],
                         cwd=ROOT, capture_output=True, text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    return time.perf_counter() - start, res.returncode


def measure(base_url: str, served: str, rounds: int) -> dict:
    dialect, cases = load_dialect("vllm"), load_cases(ROOT / "fixtures" / "cases" / "default.yaml")
    tok = Tokenizer.load(ROOT / "fixtures" / "tiny-chat")
    run_tokconf(base_url, dialect, tok, served, cases)  # warm-up: compiled graphs, prefix cache, imports
    _, _, store, results = run_tokconf(base_url, dialect, tok, served, cases)
    batches = phases(store)
    run_bare(base_url, batches)  # warm-up of the bare side
    tokconf_runs, bare_runs = [], []
    for n in range(rounds):  # alternate which side goes first, so neither always meets a warmer engine
        sides = [("tokconf", lambda: run_tokconf(base_url, dialect, tok, served, cases)[:2]),
                 ("bare", lambda: run_bare(base_url, batches))]
        for name, run in (sides if n % 2 == 0 else sides[::-1]):
            (tokconf_runs if name == "tokconf" else bare_runs).append(run())
    tokconf_times, bare_times = [w for w, _ in tokconf_runs], [w for w, _ in bare_runs]
    verdicts = [r for r in results if r.outcome.value != "SKIP"]
    cli_time, cli_code = cli_wall_time(base_url, served)
    med_t, med_b = statistics.median(tokconf_times), statistics.median(bare_times)
    return {
        "rounds": {"tokconf": len(tokconf_times), "bare": len(bare_times)},
        "tokconf_seconds": [round(t, 3) for t in tokconf_times],
        "bare_seconds": [round(t, 3) for t in bare_times],
        "median_tokconf_s": round(med_t, 3),
        "median_bare_s": round(med_b, 3),
        "median_tokconf_cpu_s": round(statistics.median(c for _, c in tokconf_runs), 3),  # this process only
        "median_bare_cpu_s": round(statistics.median(c for _, c in bare_runs), 3),
        "load_average_1m": round(__import__("os").getloadavg()[0], 2),
        "ratio_tokconf_over_bare": round(med_t / med_b, 3),
        "requests_sent": store.requests_sent,
        "requests_per_phase": [len(b) for b in batches],
        "results": len(results),
        "verdicts": len(verdicts),
        "requests_per_verdict": round(store.requests_sent / max(1, len(verdicts)), 3),
        "outcomes": {o: sum(r.outcome.value == o for r in results) for o in sorted({r.outcome.value for r in results})},
        "cli_verify_wall_s": round(cli_time, 3),
        "cli_verify_exit": cli_code,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base-url", help="attach to a running server instead of starting vLLM")
    ap.add_argument("--model", default="tiny-chat", help="served model name")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    if args.base_url:
        figures = measure(args.base_url, args.model, args.rounds)
    else:
        from conformance.engines.base import EngineOptions
        from conformance.engines.vllm import VllmEngine
        from conformance.engines.launch import RunningEngine

        spec = VllmEngine().launch_specs(EngineOptions(model=str(ROOT / "fixtures" / "tiny-chat"),
                                                       served_model=args.model, python=sys.executable))
        log_dir = Path("/tmp/tokconf-bench-engine")
        log_dir.mkdir(exist_ok=True)
        with RunningEngine(spec, log_dir, startup_timeout=300) as engine:
            figures = measure(engine.base_url, args.model, args.rounds)
    print(json.dumps(figures, indent=1))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    main()
