"""Reports built from real recorded exchanges (optionally with a fault), for the report-format tests."""
from __future__ import annotations

from conformance import __version__
from conformance.reporting.document import build_report
from support import ROOT


def run_info(**over) -> dict:
    info = {
        "engine": None, "engine_version": {"version": "0.32.0", "source": "GET /version"},
        "base_url": "http://127.0.0.1:8000", "model": "tiny-chat", "served_model": "tiny-chat",
        "tokenizer": str(ROOT / "fixtures" / "tiny-chat"), "dialect": "vllm",
        "cases": str(ROOT / "fixtures" / "cases" / "default.yaml"), "host": "ci-runner", "python": "3.11.9",
        "platform": "Linux", "tokconf_argv": ["tokconf", "verify", "--api-key", "***"],
        "launch_argv": [["python", "-m", "vllm.entrypoints.openai.api_server", "--api-key", "***"]],
        "tokconf_version": __version__, "started_at": "2026-11-21T02:00:00+00:00",
        "finished_at": "2026-11-21T02:01:00+00:00", "requests_sent": 21, "elapsed": 60.0,
    }
    info.update(over)
    return info


def recorded_report(recorded, fault: str | None = None, case: str | None = None, **info) -> dict:
    return build_report(recorded.run(fault=fault, case=case), run_info(**info))


def every_outcome_report(recorded) -> dict:
    """PASS, FAIL (with a token divergence), INCONCLUSIVE from the recording with a fault; SKIP from
    a dialect without stream ids; ERROR from an exchange missing from the recording."""
    import dataclasses

    from conformance.running.runner import run_checks
    from conformance.wire.store import RecordedStore
    from conformance.running.target import Target

    faulted = recorded.run(fault="stream.drop_eos", case="hello")
    no_stream = dataclasses.replace(recorded.dialect, features=recorded.dialect.features - {"ids.stream"})
    kept = [e for e, rec in zip(recorded.exchanges(), recorded.records)
            if not (rec["case"] == "french" and rec["variant"] == "nonstream")]
    degraded = run_checks(Target(no_stream, recorded.tokenizer, RecordedStore(kept), "tiny-chat"), recorded.cases)
    picked = [r for r in degraded if r.outcome.value == "ERROR" or (r.outcome.value == "SKIP" and r.check == "decode.roundtrip.stream")]
    taken = {(r.check, r.case) for r in picked}
    return build_report([r for r in faulted if (r.check, r.case) not in taken] + picked, run_info())
