"""Run the same cases against several targets, one after the other, and say per case whether the
greedy prompt ids and completion ids agree across targets (and where they first part, decoded)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from conformance import __version__
from conformance.inputs.cases import Case
from conformance.dialects import load_dialect
from conformance.outcomes import Result
from conformance.errors import UsageError
from conformance.session.options import SessionOptions
from conformance.session.plan import Plan, make_plan
from conformance.running.target import Target
from conformance.comparing.target_specs import TargetSpec
from conformance.checking.id_sequences import decoded_tokens, first_divergence

CONTEXT = 4  # decoded tokens shown either side of a divergence
DEFAULT_RUN_TIMEOUT = 900.0  # verify's: past it nothing more is sent to a target, what is in flight is cut


@dataclass
class TargetRun:
    spec: TargetSpec
    results: list[Result]
    run_info: dict[str, Any]
    ids: dict[str, dict[str, Any]] = field(default_factory=dict)  # case -> sequences (see collect_ids)


def _int_list(value: Any) -> list[int] | None:
    if isinstance(value, list) and all(isinstance(i, int) and not isinstance(i, bool) for i in value):
        return value
    return None


def collect_ids(target: Target, cases: list[Case]) -> dict[str, dict[str, Any]]:
    """Per greedy case: prompt and completion ids as the engine reported them (non-stream if the
    dialect offers it, else the stream), each id decoded with this target's tokenizer."""
    d, tok = target.dialect, target.tokenizer
    out: dict[str, dict[str, Any]] = {}
    for case in cases:
        if not case.is_greedy:
            continue
        try:
            if d.has("ids.nonstream"):
                body = target.exchange(case, "nonstream").ok().json
                prompt, completion, source = d.prompt_ids(body), d.completion_ids(body), "nonstream"
            elif d.has("ids.stream"):
                found = d.stream_ids(target.exchange(case, "stream").ok().stream.chunks)
                prompt = found.prompt[0][1] if found.prompt else None
                completion, source = found.concatenated(), "stream"
            else:
                out[case.id] = {"error": f"dialect {d.name} exposes no ids"}
                continue
        except Exception as exc:  # a target that cannot answer a case is reported, not fatal
            out[case.id] = {"error": f"{type(exc).__name__}: {exc}"}
            continue
        entry: dict[str, Any] = {"source": source}
        for name, value in (("prompt", prompt), ("completion", completion)):
            ids = _int_list(value)
            entry[name] = ids
            entry[f"{name}_tokens"] = decoded_tokens(tok, ids) if ids is not None else None
        out[case.id] = entry
    return out


def _context(ids: list[int], tokens: list, at: int) -> list[list]:
    lo = max(0, at - CONTEXT)
    return [[i, ids[i], tokens[i]] for i in range(lo, min(len(ids), at + CONTEXT + 1))]


def agreement(runs: list[TargetRun], cases: list[Case]) -> list[dict[str, Any]]:
    """Per greedy case and per sequence kind: do all targets agree? Each target is compared with
    the first target that has the ids (the reference)."""
    out = []
    for case in (c for c in cases if c.is_greedy):
        row: dict[str, Any] = {"case": case.id}
        for kind in ("prompt", "completion"):
            have = [(r.spec.name, r.ids.get(case.id) or {}) for r in runs]
            usable = [(n, e) for n, e in have if e.get(kind) is not None]
            missing = {n: (e.get("error") or f"no {kind} ids") for n, e in have if e.get(kind) is None}
            entry: dict[str, Any] = {"agree": None, "reference": None, "divergences": [], "missing": missing}
            if len(usable) >= 2:
                ref_name, ref = usable[0]
                entry["reference"] = ref_name
                for name, other in usable[1:]:
                    at = first_divergence(ref[kind], other[kind])
                    if at is not None:
                        entry["divergences"].append({
                            "target": name, "first_divergence": at,
                            "reference_len": len(ref[kind]), "target_len": len(other[kind]),
                            "reference_context": _context(ref[kind], ref[f"{kind}_tokens"], at),
                            "target_context": _context(other[kind], other[f"{kind}_tokens"], at),
                            # whole sequences, for the HTML side-by-side view
                            "left_name": f"{ref_name} {kind} ids", "right_name": f"{name} {kind} ids",
                            "left": ref[kind], "right": other[kind],
                            "left_tokens": ref[f"{kind}_tokens"], "right_tokens": other[f"{kind}_tokens"]})
                entry["agree"] = not entry["divergences"] and not missing
            row[kind] = entry
        out.append(row)
    return out


def plan_target(spec: TargetSpec, shared: SessionOptions) -> Plan | None:
    """The engine session of a launched or attached target (None for a recording): the target's
    own keys, over the command's shared options (--engine-arg/--engine-env go to every launched
    target, before its own engine_args; --api-key is the key unless the spec names api_key_env)."""
    if spec.recording:
        if not Path(spec.recording).is_file():
            raise UsageError(f"target {spec.name!r}: no recording file {spec.recording!r}")
        from conformance.inputs.schema import read_input_text

        read_input_text(spec.recording, "recording")  # not text (binary, compressed): said before any target runs
        return None
    api_key = os.environ.get(spec.api_key_env) if spec.api_key_env else shared.api_key
    launched = bool(spec.engine or spec.engine_cmd)
    opts = replace(shared, engine=spec.engine, engine_cmd=spec.engine_cmd, ready_url=spec.ready_url, base_url=spec.base_url, model=spec.model,
                   served_model_name=spec.served_model, dialect=spec.dialect, tokenizer=spec.tokenizer,
                   worker=spec.worker, api_key=api_key,
                   engine_python=spec.engine_python or shared.engine_python,  # a target's own virtualenv wins
                   engine_arg=[*shared.engine_arg, *spec.engine_args] if launched else list(spec.engine_args),
                   engine_env=list(shared.engine_env) if launched else [],
                   overlay=shared.overlay if launched else None, patch=shared.patch if launched else None)
    return make_plan(opts)


def run_target(spec: TargetSpec, plan: Plan | None, cases: list[Case], select: str | None, *, run_dir: Path,
               progress: Callable[[str], None] | None = None, run_progress=None,
               run_timeout: float = DEFAULT_RUN_TIMEOUT) -> TargetRun:
    """One target, start to finish, through verify's run (running.passes): launch it (or attach, or
    replay), run the checks, collect its ids, and stop it again before the next target starts."""
    from conformance.checking.client_tokenizer import Tokenizer
    from conformance.pipeline.verify import run_info_of
    from conformance.running.provenance import now
    from conformance.running.passes import run_live, run_replay
    from conformance.session.console import err
    from conformance.session.launch import engine_session

    say = progress or (lambda msg: None)
    dial = load_dialect(spec.dialect or (plan.default_dialect if plan else "vllm"))
    model = plan.model_path if plan else spec.model
    served = plan.served if plan else (spec.served_model or spec.model)
    tok = Tokenizer.load(spec.tokenizer or model)
    opts = plan.opts if plan else SessionOptions()
    info = {"target": spec.name,
            **run_info_of(opts, engine=spec.engine, recording=spec.recording, model=model, served=served,
                          tokenizer=tok.source, dialect=dial.name, argv=None)}  # the argv is compare's

    def make_target(store) -> Target:
        return Target(dial, tok, store, served)

    def ids_of(target: Target):
        return collect_ids(target, cases)

    def finished(run, endpoint=None) -> TargetRun:
        death = endpoint.death("during the run") if endpoint is not None else None
        if death:
            raise death
        info["finished_at"] = now()
        info["requests_sent"] = run.requests_sent
        return TargetRun(spec, run.results, info, run.inspected)

    if plan is None:
        info["engine_version"] = None
        say(f"{spec.name}: running checks")
        return finished(run_replay(err, Path(spec.recording), make_target, cases, select, progress=run_progress,
                                   inspect=ids_of))

    log_dir = run_dir / spec.name
    log_dir.mkdir(parents=True, exist_ok=True)
    if plan.engine:
        say(f"{spec.name}: starting {plan.engine.name}")
    with engine_session(plan, log_dir, info, say=say) as endpoint:
        say(f"{spec.name}: running checks")
        run = run_live(err, endpoint.base_url, make_target, cases, api_key=plan.api_key,
                       request_timeout=plan.opts.request_timeout, run_timeout=run_timeout,
                       concurrency=plan.opts.concurrency, select=select,
                       liveness=endpoint.dead if endpoint.running else None, dialect_name=dial.name,
                       progress=run_progress, inspect=ids_of)
        return finished(run, endpoint)


def compare_document(runs: list[TargetRun], agreement_rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON of a multi-target compare: each target's report, and the per-case agreement."""
    from conformance.reporting.document import build_report

    return {"format": "tokconf-compare", "format_version": 1, "tokconf_version": __version__,
            "targets": [{"name": r.spec.name, **build_report(r.results, r.run_info)} for r in runs],
            "agreement": agreement_rows}


def disagreements(agreement_rows: list[dict[str, Any]]) -> list[str]:
    return [f"{row['case']} {kind} ids: {d['target']} differs from {row[kind]['reference']} at index {d['first_divergence']}"
            for row in agreement_rows for kind in ("prompt", "completion") for d in row[kind]["divergences"]]
