"""`tokconf trace` throughput and memory on a generated gateway store of N traces.

    python benchmarks/bench_trace.py [--traces 10000] [--rounds 3] [--json out.json]

The store is built from tests/trace/data/gateway-vllm.sqlite (captured from the real
rllm-model-gateway in front of vLLM): its sessions are copied under new session and trace ids
until N traces, in the gateway's own schema. Each round runs `tokconf trace STORE --json` in a
fresh subprocess (tokenizer load included) and reads its peak RSS from the kernel
(getrusage of the child); printed: median wall time, traces verified per second (median),
median peak RSS, and the same for a store a quarter that size (memory must not grow with it:
the store is streamed).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLEAN = ROOT / "tests" / "trace" / "data" / "gateway-vllm.sqlite"
TOKENIZER = ROOT / "tests" / "trace" / "data" / "tokenizer"


def build_store(out: Path, traces: int) -> int:
    shutil.copyfile(CLEAN, out)
    conn = sqlite3.connect(out)
    sessions: dict[str, list[tuple[str, float]]] = {}
    for sid, data, created in conn.execute(
            "SELECT ts.session_id, t.data, ts.created_at FROM trace_sessions ts JOIN traces t ON t.trace_id = ts.trace_id"):
        sessions.setdefault(sid, []).append((data, created))
    conn.execute("DELETE FROM trace_sessions")
    conn.execute("DELETE FROM traces")
    written, copy = 0, 0
    while written < traces:
        for sid, rows in sessions.items():
            new_sid = f"{sid}-{copy}"
            for data, created in rows:
                rec = json.loads(data)
                rec["trace_id"], rec["session_id"] = str(uuid.uuid4()), new_sid
                conn.execute("INSERT INTO traces (trace_id, data, created_at) VALUES (?, ?, ?)",
                             (rec["trace_id"], json.dumps(rec), created + copy))
                conn.execute("INSERT INTO trace_sessions (trace_id, session_id, created_at) VALUES (?, ?, ?)",
                             (rec["trace_id"], new_sid, created + copy))
                written += 1
        copy += 1
    conn.commit()
    conn.close()
    return written


def one_run(store: Path, report: Path) -> tuple[float, int, int]:
    """(wall seconds, peak RSS in KiB, traces read) of one `tokconf trace` subprocess."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "conformance", "trace", str(store), "--tokenizer", str(TOKENIZER),
                           "--json", str(report)], cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise SystemExit(f"tokconf trace failed ({proc.returncode}): {proc.stderr[-2000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    traces = json.loads(report.read_text())["run_info"]["traces"]
    return wall, max(peak, before), traces


def measure(store: Path, rounds: int, work: Path) -> dict:
    runs = []
    for n in range(rounds):
        # a fresh interpreter per round: ru_maxrss of children is the max over all of them, so
        # measure each round in its own process tree
        code = ("import sys, json; sys.path.insert(0, %r); import bench_trace as b; "
                "print(json.dumps(b.one_run(__import__('pathlib').Path(%r), __import__('pathlib').Path(%r))))"
                % (str(Path(__file__).parent), str(store), str(work / f"r{n}.json")))
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        wall, peak_kib, traces = json.loads(out.stdout.strip().splitlines()[-1])
        runs.append({"wall_s": round(wall, 3), "peak_rss_mib": round(peak_kib / 1024, 1), "traces": traces,
                     "traces_per_s": round(traces / wall, 1)})
    return {"traces": runs[0]["traces"], "rounds": runs,
            "median_wall_s": statistics.median(r["wall_s"] for r in runs),
            "median_traces_per_s": statistics.median(r["traces_per_s"] for r in runs),
            "median_peak_rss_mib": statistics.median(r["peak_rss_mib"] for r in runs)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--traces", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tokconf-bench-trace-"))
    try:
        big, small = work / "big.sqlite", work / "small.sqlite"
        n_big = build_store(big, args.traces)
        n_small = build_store(small, args.traces // 4)
        result = {"store_traces": n_big, "store_mib": round(os.path.getsize(big) / 2 ** 20, 1),
                  "full": measure(big, args.rounds, work), "quarter": measure(small, args.rounds, work),
                  "cpu_count": os.cpu_count()}
        result["rss_ratio_full_to_quarter"] = round(result["full"]["median_peak_rss_mib"]
                                                    / result["quarter"]["median_peak_rss_mib"], 2)
        print(json.dumps(result, indent=2))
        if args.json:
            args.json.write_text(json.dumps(result, indent=2) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
