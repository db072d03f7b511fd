"""Capture a real rllm-model-gateway store: vLLM serving the fixture model, the gateway in front,
agent-style conversations through session URLs (conformance/trace/capture.py). The SQLite file
it writes is the fixture tests/trace/data/gateway-vllm.sqlite (the clean store the stored-data
faults start from).

    flock /tmp/tokconf-engine.lock .venv/bin/python scripts/capture_gateway_store.py OUT.sqlite
    flock /tmp/tokconf-engine.lock .venv/bin/python scripts/capture_gateway_store.py OUT.sqlite --n2-only
      (adds the sampled n=2 session to an existing store)
"""
from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from conformance.engines.base import EngineOptions  # noqa: E402
from conformance.engines.gateway import gateway_spec  # noqa: E402
from conformance.engines.launch import RunningEngine  # noqa: E402
from conformance.engines.vllm import VllmEngine  # noqa: E402
from conformance.inputs.cases import load_cases  # noqa: E402
from conformance.resources import default_cases, fixture_model  # noqa: E402
from conformance.trace.capture import AgentLog, run_catalogue, sampled_n2  # noqa: E402

SERVED = "tiny-chat"


def main(out: Path, n2_only: bool = False) -> None:
    work = Path(tempfile.mkdtemp(prefix="tokconf-gateway-"))
    db = work / "traces.sqlite"
    if n2_only:
        shutil.copyfile(out, db)
    py = str(ROOT / ".venv" / "bin" / "python")
    specs = VllmEngine().launch_specs(EngineOptions(model=str(fixture_model()), served_model=SERVED, python=py))
    specs.append(gateway_spec(specs[0].base_url, db, py, SERVED))
    with RunningEngine(specs, work, startup_timeout=600, progress=lambda m: print(m, file=sys.stderr)) as eng:
        with httpx.Client(base_url=eng.base_url, timeout=120) as client:
            if n2_only:
                sampled_n2(client, SERVED, AgentLog())
                client.post("/admin/flush")
            else:
                run_catalogue(client, load_cases(default_cases()), SERVED)
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(db, out)
    print(f"wrote {out} (engine logs in {work})")


if __name__ == "__main__":
    main(Path(sys.argv[1]), "--n2-only" in sys.argv[2:])
