"""Before a live run (verify, selftest): the options checked and the engine planned (launch or
attach), the inputs loaded, -k parsed, the server preflighted, the client tokenizer loading. Every
mistake here is exit 2 or 3 before any engine starts."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from conformance.pipeline.inputs import load_inputs, load_selection, start_tokenizer
from conformance.session.launch import attach_preflight
from conformance.session.options import SessionOptions
from conformance.session.plan import Plan, make_plan


@dataclass
class Prepared:
    plan: Plan
    dialect: Any
    cases: list
    baseline: dict | None
    expected: list
    selection: Any
    tokenizer: Any


def named_inputs(baseline: str | None, expectations: str | None) -> tuple[Path | None, Path | None]:
    """--baseline and --expectations: a file, or a shipped one's name."""
    from conformance.resources import named_file

    return (named_file(baseline, "baselines", ".json") if baseline else None,
            named_file(expectations, "expectations", ".yaml") if expectations else None)


def prepare_live(opts: SessionOptions, guard, *, baseline: Path | None = None, expectations: Path | None = None,
                 vet: Callable[[Any], None] | None = None) -> Prepared:
    """`guard`: the command's guard(), told the plan's secrets as soon as they are known. `vet`: a
    command's own objection to the dialect (selftest's: ids from a side channel)."""
    plan = make_plan(opts)
    guard.secrets = plan.secrets
    dial, cases, baseline_doc, expected = load_inputs(opts, plan.default_dialect, baseline, expectations)
    if vet is not None:
        vet(dial)
    selection = load_selection(opts.select, cases)
    attach_preflight(plan)  # before the (slow) tokenizer: a server that is down costs a second
    tok = start_tokenizer(opts.tokenizer or plan.model_path, launching=plan.engine is not None)
    return Prepared(plan, dial, cases, baseline_doc, expected, selection, tok)
