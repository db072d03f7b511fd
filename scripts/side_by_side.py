"""agentcore's own verifier and tokconf, side by side, on the same engines (issue 20 item 2).

For each target (upstream SGLang 0.5.9, agentcore's real patch in both stream modes, and tokconf's
five broken variants of the real patch), this launches the engine ONCE with tokconf's launcher,
then, ROUNDS times each:
  - the seed verifier: `run_checks(base_url, model_path)` of agentcore-rl-toolkit 0.1.3's own
    `verify_sglang_token_ids.py`, loaded by file path and run in the ENGINE's interpreter (where the
    package is installed; the verifier itself has no base-URL mode, only this function);
  - tokconf: `tokconf verify --base-url URL` (attach) with the patch's dialect and the expectations
    file that declares SGLang 0.5.9's own tool-key finding (fixtures/expectations/
    sglang-0.5.9-agentcore-0.1.3.yaml), so a FAIL is something the patch contract lacks.
It writes the table into docs/agentcore.md (between the side-by-side markers) and the raw rounds
to reports/side-by-side.json.

    flock /tmp/tokconf-engine.lock .venv/bin/python scripts/side_by_side.py [--rounds 2] [--only NAME]
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from conformance.engines.base import EngineOptions  # noqa: E402
from conformance.engines.launch import RunningEngine  # noqa: E402
from conformance.engines.patches import load_patch  # noqa: E402
from conformance.engines.sglang import SglangEngine  # noqa: E402

PYTHON = ROOT / ".venv-sglang059" / "bin" / "python"
MODEL = ROOT / "fixtures" / "tiny-chat-tf4"
EXPECTATIONS = ROOT / "fixtures" / "expectations" / "sglang-0.5.9-agentcore-0.1.3.yaml"
DOC = ROOT / "docs" / "agentcore.md"
START, END = "<!-- side-by-side:start -->", "<!-- side-by-side:end -->"

# name -> (--patch value or None, extra engine flags, what it is)
TARGETS = {
    "upstream-0.5.9": (None, [], "SGLang 0.5.9, no patch"),
    "patch": ("agentcore-0.1.3", [], "the real patch, default stream mode"),
    "patch-stream-output": ("agentcore-0.1.3", ["--stream-output"], "the real patch, --stream-output"),
    **{v: (f"agentcore-0.1.3:{v}", [], f"the real patch + tokconf's fault {v}") for v in
       ["broken-no-flush", "broken-tool-drop", "broken-cumulative", "broken-shared-watermark",
        "broken-shared-buffer"]},
}

SEED = """
import importlib.util, json, sys, time
spec = importlib.util.find_spec("agentcore_rl_toolkit")
path = list(spec.submodule_search_locations)[0] + "/backends/slime/patches/verify_sglang_token_ids.py"
mod_spec = importlib.util.spec_from_file_location("seed_verifier", path)
mod = importlib.util.module_from_spec(mod_spec)
sys.modules["seed_verifier"] = mod  # its dataclasses look their module up there
mod_spec.loader.exec_module(mod)
start = time.monotonic()
results = mod.run_checks(sys.argv[1], sys.argv[2])
print(json.dumps({"seconds": time.monotonic() - start,
                  "results": [{"name": r.name, "passed": r.passed, "skipped": r.skipped, "detail": r.detail}
                              for r in results]}))
"""


def seed_round(base_url: str) -> dict:
    res = subprocess.run([str(PYTHON), "-c", SEED, base_url, str(MODEL)], capture_output=True, text=True,
                         timeout=900)
    try:
        out = json.loads(res.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return {"error": (res.stderr.strip().splitlines() or ["no output"])[-1], "failed": ["(crashed)"]}
    out["failed"] = [r["name"] for r in out["results"] if not r["passed"] and not r["skipped"]]
    return out


def tokconf_round(base_url: str, served: str, dialect: str, work: Path) -> dict:
    out = work / f"tokconf-{time.monotonic_ns()}.json"
    start = time.monotonic()
    res = subprocess.run([sys.executable, "-m", "conformance", "verify", "--base-url", base_url, "--model", served,
                          "--tokenizer", str(MODEL), "--dialect", dialect, "--expectations", str(EXPECTATIONS),
                          "--report-dir", str(work), "--json", str(out)], capture_output=True, text=True,
                         cwd=ROOT, timeout=900)
    seconds = time.monotonic() - start
    if not out.exists():
        return {"seconds": seconds, "exit": res.returncode, "failed": ["(no report)"],
                "error": (res.stderr.strip().splitlines() or [""])[-1]}
    report = json.loads(out.read_text())
    failed = sorted({r["check"] for r in report["results"] if r["outcome"] in ("FAIL", "ERROR")})
    return {"seconds": seconds, "exit": res.returncode, "failed": failed,
            "summary": report.get("summary")}


def run_target(name: str, rounds: int, work: Path) -> dict:
    patch_value, flags, what = TARGETS[name]
    patch = load_patch(patch_value) if patch_value else None
    served = f"side-by-side-{name}"
    run_dir = work / name
    run_dir.mkdir(parents=True)
    specs = SglangEngine().launch_specs(EngineOptions(model=str(MODEL), served_model=served, python=str(PYTHON),
                                                      extra_args=flags, work_dir=run_dir, patch=patch))
    print(f"[{name}] starting SGLang ({what})", flush=True)
    with RunningEngine(specs, run_dir, 600) as engine:
        seed, ours = [], []
        for i in range(rounds):
            seed.append(seed_round(engine.base_url))
            ours.append(tokconf_round(engine.base_url, served, "sglang-tokenids-patch", run_dir))
            print(f"[{name}] round {i + 1}: seed failed {seed[-1]['failed'] or 'nothing'}; "
                  f"tokconf failed {ours[-1]['failed'] or 'nothing'}", flush=True)
    return {"what": what, "seed": seed, "tokconf": ours}


def caught(rounds: list[dict]) -> int:
    return sum(1 for r in rounds if r["failed"])


def table(results: dict, rounds: int) -> str:
    lines = ["| target | seed verifier: rounds failed, checks | tokconf: rounds failed, checks | "
             "median s (seed / tokconf) | tokconf catches what the seed catches |",
             "|---|---|---|---|---|"]
    for name, r in results.items():
        seed_checks = sorted({c for x in r["seed"] for c in x["failed"]})
        ours_checks = sorted({c for x in r["tokconf"] for c in x["failed"]})
        s_med = statistics.median(x.get("seconds", 0) for x in r["seed"])
        t_med = statistics.median(x["seconds"] for x in r["tokconf"])
        superset = "yes" if (caught(r["tokconf"]) > 0 or caught(r["seed"]) == 0) else "**no**"
        lines.append(f"| `{name}` ({r['what']}) | {caught(r['seed'])}/{rounds}: {', '.join(seed_checks) or '-'} | "
                     f"{caught(r['tokconf'])}/{rounds}: {', '.join(ours_checks) or '-'} | "
                     f"{s_med:.1f} / {t_med:.1f} | {superset} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--only", action="append", choices=sorted(TARGETS))
    ap.add_argument("--json", type=Path, default=ROOT / "reports" / "side-by-side.json")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tokconf-side-by-side-"))
    results = {name: run_target(name, args.rounds, work) for name in (args.only or TARGETS)}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1))
    text = table(results, args.rounds)
    print(text)
    if not args.only and DOC.exists():
        doc = DOC.read_text()
        stamp = f"Measured {time.strftime('%Y-%m-%d')} with `{' '.join(['scripts/side_by_side.py', '--rounds', str(args.rounds)])}`."
        block = f"{START}\n{stamp}\n\n{text}\n{END}"
        DOC.write_text(re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, doc, flags=re.S))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
