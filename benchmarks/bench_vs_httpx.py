"""tokconf's overhead against a bare replay of the same HTTP requests, on one live engine.

    flock /tmp/tokconf-engine.lock python benchmarks/bench_vs_httpx.py [--rounds 5] [--json out.json]
    python benchmarks/bench_vs_httpx.py --base-url http://127.0.0.1:8000 --model tiny-chat   # attach

One engine is started (vLLM on CPU serving fixtures/tiny-chat, as `tokconf verify` starts it) or
attached to; then, in each round, in an order that rotates so no side always meets a warmer engine:

- tokconf: the full catalogue in-process (build requests, send each distinct one once, run every
  check over every case), a fresh store each round so nothing is cached between rounds;
- bare httpx: the very request bodies tokconf sent in round 1, replayed with one httpx.Client
  and the same concurrency, in two phases (a follow-up body only exists once the reply it builds
  on is in; here each phase waits for the whole one before it), reading each body whole and
  doing nothing else;
- CLI: one whole `tokconf verify --base-url` subprocess (interpreter, imports, tokenizer, every
  check, the report files) against the same engine, with its client-tokenizer cache
  (conformance/checking/client_cache.py) warm: a first run before the rounds fills it (its time
  is printed alone, as cli_first_run_s); and one with the cache off (TOKCONF_CACHE_DIR=off).

Then one `selftest` (a clean round and one round per shipped fault, in-process) and, with the
engine stopped, `tokconf trace` over a generated gateway store (benchmarks/bench_trace.py).

Printed (and written with --json): the load average before and after; medians per side and the
ratios tokconf / bare (target <= 1.1) and CLI / bare (target <= 1.5; cache on and off); requests sent, verdicts
(results that are not SKIP) and requests per verdict; the selftest's clean round and its median
fault round; trace's traces per second.
"""
from __future__ import annotations

import argparse
import json
import os
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
    """The requests tokconf sent, as (method, path, body), split into two phases: those built from
    the cases, then those sent after a reply (follow-ups, and the determinism probe's repeat)."""
    first, later = [], []
    for key, ex in store._cache.items():  # the benchmark reads the store's record of what it sent
        label = store._labels.get(key, "")
        variant = label.split("/", 1)[1].split("#")[0] if "/" in label else ""
        after = (variant in VARIANTS and VARIANTS[variant].after) or "#" in label
        (later if after else first).append((ex.method, ex.path, ex.request))
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


def cli_wall_time(base_url: str, served: str, cache: str) -> tuple[float, int, str, float]:
    """One `tokconf verify --base-url` subprocess: (wall seconds, exit code, run_info.client_cache,
    CPU seconds the subprocess used). `cache`: its TOKCONF_CACHE_DIR (a directory, or `off`)."""
    import resource
    import tempfile

    with tempfile.TemporaryDirectory(prefix="tokconf-bench-cli-") as work:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        res = subprocess.run([sys.executable, "-m", "conformance", "verify", "--base-url", base_url, "--model", served,
                              "--tokenizer", str(ROOT / "fixtures" / "tiny-chat"), "--report-dir", work,
                              "--json", f"{work}/out.json",
                              "--baseline", str(ROOT / "fixtures" / "baselines" / "vllm-0.32.0-cpu.json")],
                             cwd=ROOT, capture_output=True, text=True,
                             env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "TOKCONF_CACHE_DIR": cache})
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        try:
            state = json.loads(Path(f"{work}/out.json").read_text())["run_info"]["client_cache"]
        except (OSError, ValueError, KeyError):
            state = "no report"
    return wall, res.returncode, state, cpu


def selftest_times(base_url: str, dialect, tok, served: str, cases) -> dict:
    """One selftest in-process: the clean round (every request fetched through the proxy) and
    each fault round (answered from the proxy's copies; only follow-ups of mutated replies sent)."""
    from conformance.inputs.baseline import load_baseline
    from conformance.selftest import run_selftest

    upstream = Sender(base_url, concurrency=CONCURRENCY)
    baseline = load_baseline(ROOT / "fixtures" / "baselines" / "vllm-0.32.0-cpu.json")  # as the CLI run's
    try:
        rep = run_selftest(upstream, Target(dialect, tok, None, served, baseline=baseline), cases,
                           concurrency=CONCURRENCY)
    finally:
        upstream.close()
    rounds = [v.elapsed for v in rep.verdicts]
    return {"faults": len(rounds), "selftest_total_s": round(rep.elapsed, 3),
            "selftest_clean_round_s": round(rep.elapsed - sum(rounds), 3),
            "selftest_median_fault_round_s": round(statistics.median(rounds), 3),
            "selftest_max_fault_round_s": round(max(rounds), 3),
            "selftest_upstream_requests": rep.upstream_requests, "selftest_ok": rep.ok}


def trace_throughput(traces: int, rounds: int) -> dict:
    """`tokconf trace` (subprocesses) over a generated gateway store: benchmarks/bench_trace.py."""
    import tempfile
    import shutil

    sys.path.insert(0, str(Path(__file__).parent))
    import bench_trace

    work = Path(tempfile.mkdtemp(prefix="tokconf-bench-trace-"))
    try:
        store = work / "store.sqlite"
        n = bench_trace.build_store(store, traces)
        figures = bench_trace.measure(store, rounds, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"trace_store_traces": n, "trace_median_wall_s": figures["median_wall_s"],
            "trace_median_traces_per_s": figures["median_traces_per_s"]}


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def measure(base_url: str, served: str, rounds: int) -> dict:
    dialect, cases = load_dialect("vllm"), load_cases(ROOT / "fixtures" / "cases" / "default.yaml")
    load_before = load_average()
    tok = Tokenizer.load(ROOT / "fixtures" / "tiny-chat")
    run_tokconf(base_url, dialect, tok, served, cases)  # warm-up: compiled graphs, prefix cache, imports
    _, _, store, results = run_tokconf(base_url, dialect, tok, served, cases)
    batches = phases(store)
    run_bare(base_url, batches)  # warm-up of the bare side
    import tempfile

    cache = tempfile.mkdtemp(prefix="tokconf-bench-cache-")  # the CLI's client cache, empty at first
    cold = cli_wall_time(base_url, served, cache)  # fills it (a miss), as a user's first run does
    runs: dict[str, list] = {"tokconf": [], "bare": [], "cli": [], "cli_no_cache": []}
    sides = [("tokconf", lambda: run_tokconf(base_url, dialect, tok, served, cases)[:2]),
             ("bare", lambda: run_bare(base_url, batches)),
             ("cli", lambda: cli_wall_time(base_url, served, cache)),
             ("cli_no_cache", lambda: cli_wall_time(base_url, served, "off"))]
    for n in range(rounds):  # rotate which side goes first, so none always meets a warmer engine
        for name, run in sides[n % len(sides):] + sides[:n % len(sides)]:
            runs[name].append(run())
    tokconf_times, bare_times = [w for w, _ in runs["tokconf"]], [w for w, _ in runs["bare"]]
    cli_times = [w for w, _, _, _ in runs["cli"]]
    uncached = [w for w, _, _, _ in runs["cli_no_cache"]]
    verdicts = [r for r in results if r.outcome.value != "SKIP"]
    med_t, med_b, med_c = statistics.median(tokconf_times), statistics.median(bare_times), statistics.median(cli_times)
    return {
        "load_average_before": load_before,
        "rounds": {side: len(r) for side, r in runs.items()},
        "tokconf_seconds": [round(t, 3) for t in tokconf_times],
        "bare_seconds": [round(t, 3) for t in bare_times],
        "cli_verify_seconds": [round(t, 3) for t in cli_times],
        "median_tokconf_s": round(med_t, 3),
        "median_bare_s": round(med_b, 3),
        "median_cli_verify_s": round(med_c, 3),
        "cli_no_cache_seconds": [round(t, 3) for t in uncached],
        "median_cli_no_cache_s": round(statistics.median(uncached), 3),
        "ratio_cli_no_cache_over_bare": round(statistics.median(uncached) / med_b, 3),
        "cli_first_run_s": round(cold[0], 3),
        "cli_client_cache": {"first": cold[2], "rounds": sorted({st for _, _, st, _ in runs["cli"]}),
                             "no_cache": sorted({st for _, _, st, _ in runs["cli_no_cache"]})},
        # what the CLI process itself burns, whatever the engine does meanwhile (2 shared cores here)
        "median_cli_cpu_s": round(statistics.median(c for _, _, _, c in runs["cli"]), 3),
        "median_cli_no_cache_cpu_s": round(statistics.median(c for _, _, _, c in runs["cli_no_cache"]), 3),
        "median_tokconf_cpu_s": round(statistics.median(c for _, c in runs["tokconf"]), 3),  # this process only
        "median_bare_cpu_s": round(statistics.median(c for _, c in runs["bare"]), 3),
        "ratio_tokconf_over_bare": round(med_t / med_b, 3),
        "ratio_cli_over_bare": round(med_c / med_b, 3),
        "cli_verify_exits": sorted({code for _, code, _, _ in runs["cli"] + runs["cli_no_cache"]}),
        "requests_sent": store.requests_sent,
        "requests_per_phase": [len(b) for b in batches],
        "results": len(results),
        "verdicts": len(verdicts),
        "requests_per_verdict": round(store.requests_sent / max(1, len(verdicts)), 3),
        "outcomes": {o: sum(r.outcome.value == o for r in results) for o in sorted({r.outcome.value for r in results})},
        **selftest_times(base_url, dialect, tok, served, cases),
        "load_average_after": load_average(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base-url", help="attach to a running server instead of starting vLLM")
    ap.add_argument("--model", default="tiny-chat", help="served model name")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--trace-traces", type=int, default=2000, help="traces in the generated store for `trace` (0: skip)")
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
    if args.trace_traces:  # the engine is stopped: trace reads a store, nothing is served
        figures.update(trace_throughput(args.trace_traces, args.rounds))
        figures["load_average_end"] = load_average()
    print(json.dumps(figures, indent=1))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    main()
