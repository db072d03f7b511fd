"""`tokconf baseline record NAME`: options checked and the engine planned (launch or attach), the
engine's own dialect and the cases loaded, every case sent as a vanilla client would, the key
paths written. The CLI declares the options and calls `run_baseline_record`."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from rich.markup import escape

from conformance import __version__
from conformance.pipeline.inputs import load_inputs
from conformance.reporting.sink import check_outputs, write_text
from conformance.session.console import err
from conformance.session.exits import EXIT_FAILED, EXIT_OK, guard
from conformance.session.launch import engine_session, run_dir as new_run_dir
from conformance.session.options import SessionOptions
from conformance.session.plan import make_plan


def run_baseline_record(opts: SessionOptions, name: str, out_dir: Path) -> int:
    """Writes OUT_DIR/NAME.json; 0, or 1 when an exchange failed (no partial baseline is written)."""
    from conformance.inputs.baseline import baseline_file
    from conformance.running.baseline import build_baseline
    from conformance.wire.store import LiveStore
    from conformance.wire.transport import Sender

    with guard() as g:
        path = baseline_file(out_dir, name)  # before the run: a bad name or --out-dir costs no engine start
        check_outputs(opts.report_dir, **{"--out-dir": out_dir})
        plan = make_plan(opts)
        g.secrets = plan.secrets
        # only vanilla bodies are built: no opt-in, so the engine's own dialect is all it needs
        dial, case_list, _, _ = load_inputs(opts, plan.default_dialect)
        info = {"engine": plan.engine.name if plan.engine else None, "base_url": opts.base_url,
                "model": plan.model_path, "recorded_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "tokconf_version": __version__}
        with engine_session(plan, new_run_dir(opts.report_dir, f"baseline-{plan.label}"), info) as endpoint, \
                Sender(endpoint.base_url, api_key=opts.api_key, timeout=opts.request_timeout,
                       concurrency=opts.concurrency) as sender:
            try:
                doc = build_baseline(LiveStore(sender), case_list, dial, plan.served, name, info)
            except Exception as exc:  # an exchange that failed: no baseline rather than a partial one
                err.print(f"[red]could not record the baseline:[/red] {escape(plan.secrets.text(str(exc)))}")
                return EXIT_FAILED
    write_text(path, json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    paths = sum(len(v) for c in doc["cases"].values() for v in c.values())
    err.print(f"baseline {name}: {len(doc['cases'])} cases, {paths} key paths -> {path}", highlight=False)
    return EXIT_OK
