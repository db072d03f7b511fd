"""A run's inputs, loaded and checked before anything starts (a mistake costs no engine start):
dialect, cases, baseline, expectations, the -k selection, the client tokenizer, a recording's plan."""
from __future__ import annotations

import json
from pathlib import Path

from conformance.errors import UsageError
from conformance.resources import default_cases
from conformance.session.options import SessionOptions
from conformance.session.plan import check_replay_options


def load_inputs(opts: SessionOptions, dialect_default: str, baseline: Path | None = None,
            expectations: Path | None = None):
    """Dialect, cases, baseline, expectations: loaded (and validated) before anything starts."""
    from conformance.dialects import load_dialect
    from conformance.inputs.baseline import load_baseline
    from conformance.inputs.cases import load_cases
    from conformance.inputs.expectations import load_expectations

    known = None
    if expectations:
        from conformance.checking.catalog import load_catalog

        known = {i.id for i in load_catalog()}  # an expectation naming no check is a mistake, not a warning
    return (load_dialect(opts.dialect or dialect_default), load_cases(opts.cases or default_cases()),
            load_baseline(baseline) if baseline else None,
            load_expectations(expectations, known) if expectations else [])


def load_selection(select: str | None, case_list):
    """-k parsed and checked against the catalogue before anything starts (a mistake is exit 2)."""
    if select is None:
        return None
    from conformance.checking.catalog import load_catalog
    from conformance.running.selection import check_selects_something, parse

    infos = load_catalog()
    selection = parse(select, [i.id for i in infos])
    check_selects_something(selection, infos, case_list)
    return selection


def start_tokenizer(path: str, launching: bool = False):
    """The client tokenizer, loading on a thread (transformers takes seconds to import) while the
    engine starts or the first requests are in flight; the run waits for it before its first check.
    A hub id is waited for before an engine is launched: it can fail in ways a path cannot, and a
    bad tokenizer must not cost an engine start."""
    from conformance.checking.client_tokenizer import Tokenizer, looks_local

    tok = Tokenizer.load_in_background(path)
    return tok.ready() if launching and not looks_local(path) else tok




def replay_plan(opts: SessionOptions, recording: Path, record: Path | None = None) -> dict:
    """What a recording implies: its dialect and served model (from the recorded bodies), and a
    tokenizer (--tokenizer, else --model, else the bundled fixture model for its recordings)."""
    from conformance.resources import fixture_model

    if opts.base_url or opts.engine or opts.engine_cmd:
        raise UsageError("--replay runs on a recording: give no --engine, --engine-cmd or --base-url with it")
    check_replay_options(opts, record=record)
    from conformance.inputs.schema import read_input_text

    lines = read_input_text(recording, "recording").splitlines()
    try:
        records = [json.loads(line) for line in lines if line.strip()]
    except json.JSONDecodeError as exc:
        raise UsageError(f"recording {recording} is not JSONL: line {exc.lineno}: {exc.msg}") from None
    if not records or not all(isinstance(r, dict) and "request" in r for r in records):
        raise UsageError(f"recording {recording} holds no exchanges (one JSON object with a request per line)")
    dialects = {r.get("dialect") for r in records} - {None}
    models = {(r.get("request") or {}).get("model") for r in records} - {None}
    served = opts.served_model_name or opts.model or (models.pop() if len(models) == 1 else None)
    if not served:
        raise UsageError(f"recording {recording}: give --model (the served model name in its requests)")
    # a served name that is a path (an engine launched on `--model fixtures/tiny-chat`) is the tokenizer too
    tok = opts.tokenizer or next((m for m in (opts.model, served) if m and Path(m).exists()), None)
    if tok is None:
        if served != "tiny-chat":
            raise UsageError(f"--replay: give --tokenizer (the tokenizer of model {served!r})")
        tok = str(fixture_model())
    return {"dialect": dialects.pop() if len(dialects) == 1 else "vllm", "served": served, "tokenizer": tok}


