"""What the tests share that is not a fixture: paths, the recorded real-engine exchanges, running
the suites over them, and running `tokconf` as a user does (one helper, not a copy per file).
Fixtures live in conftest.py; tests import these from here."""
from __future__ import annotations

import json
import os
import re
import textwrap
import subprocess
import sys
from pathlib import Path

from conformance.checking.client_tokenizer import Tokenizer
from conformance.dialects import load_dialect
from conformance.running.runner import run_checks
from conformance.running.target import Target
from conformance.selftest.faults import FAULTS, FaultContext, apply_fault
from conformance.wire.exchange import Exchange
from conformance.wire.store import RecordedStore

ROOT = Path(__file__).resolve().parent.parent
RECORDINGS = ROOT / "fixtures" / "recordings"
VLLM_RECORDING = RECORDINGS / "vllm-0.32.0-cpu.jsonl"
# the exchanges the full catalogue adds (vanilla, logprobs, token-in, next-turn requests, more cases)
VLLM_CATALOG_RECORDING = RECORDINGS / "vllm-0.32.0-cpu-catalog.jsonl"
# n=2 exchanges and the determinism pre-check's repeated request
VLLM_CHOICES_RECORDING = RECORDINGS / "vllm-0.32.0-cpu-choices.jsonl"
# the requests of checks added after those (logprobs: true alone; token-in swapped with the placeholder's
# ids), recorded from the same vLLM on 2026-12-03 with
# `tokconf verify -k "check_logprobs_bare or check_tokenin_followed" --record ...`, their variants only
VLLM_LATER_RECORDING = RECORDINGS / "vllm-0.32.0-cpu-later-checks.jsonl"
VLLM_RECORDINGS = [VLLM_RECORDING, VLLM_CATALOG_RECORDING, VLLM_CHOICES_RECORDING,
                   VLLM_LATER_RECORDING]  # later files win for the same request
# the checks of the walking skeleton, for tests whose fixtures were recorded for them alone
CORE_CHECKS = ("exposure.nonstream", "exposure.stream", "decode.roundtrip.nonstream", "decode.roundtrip.stream",
               "parity.stream_nonstream", "stream.chunk_consistency", "tools.with_without", "tools.call_parity")
SERVED = "tiny-chat"
# a -k for a live run against a replay server of the recordings: tokenin.followed's requests are in
# no recording yet (the replay server answers them 404)
REPLAYABLE = "not tokenin.followed"


def load_records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def vllm_records() -> list[dict]:
    """Every exchange recorded from vLLM 0.32.0 for the full catalogue (both recording files)."""
    return [r for p in VLLM_RECORDINGS for r in load_records(p)]


def merged_vllm_recording(directory: Path) -> Path:
    """Both vLLM recording files as one JSONL (for options that take a single recording path)."""
    path = directory / "vllm-0.32.0-cpu-all.jsonl"
    path.write_text("".join(p.read_text(encoding="utf-8") for p in VLLM_RECORDINGS), encoding="utf-8")
    return path


class Recorded:
    """Run the real suites over recorded exchanges, optionally with a fault injected."""

    def __init__(self, path: Path | list[Path], dialect: str, tokenizer: Tokenizer, cases, baseline=None):
        self.records = [r for p in (path if isinstance(path, list) else [path]) for r in load_records(p)]
        self.baseline = baseline
        self.dialect = load_dialect(dialect)
        self.tokenizer = tokenizer
        self.cases = cases

    def exchanges(self, fault: str | None = None, case: str | None = None, variants=None) -> list[Exchange]:
        return [ex for ex, _ in self.pairs(fault, case, variants)]

    def pairs(self, fault: str | None = None, case: str | None = None, variants=None,
              attempt: int | None = None) -> list[tuple[Exchange, int]]:
        """(exchange, attempt) pairs; attempt > 0 marks a deliberate repeat (determinism pre-check, a
        fleet's repeats). `attempt`: the fault goes into that repeat only (one worker of a fleet)."""
        out = []
        ctx = FaultContext(self.dialect, self.tokenizer)
        for rec in self.records:
            ex = Exchange.from_record(rec)
            if fault and rec["case"] == case and (variants is None or rec["variant"] in variants) \
                    and (attempt is None or int(rec.get("attempt") or 0) == attempt):
                mutated = apply_fault(ex, FAULTS[fault], ctx)
                if mutated is not None:
                    ex = mutated
                    self.applied = True
            out.append((ex, int(rec.get("attempt") or 0)))
        return out

    def run(self, fault: str | None = None, case: str | None = None, variants=None, select: str | None = None,
            served: str = SERVED, attempt: int | None = None, fleet_size: int = 1):
        self.applied = False
        store = RecordedStore(self.pairs(fault, case, variants, attempt))
        target = Target(self.dialect, self.tokenizer, store, served, baseline=self.baseline, fleet_size=fleet_size)
        results = run_checks(target, self.cases, select=select)
        if fault:
            assert self.applied, f"fault {fault} found nothing to break in case {case}"
        return results


def outcome(results, check: str, case: str) -> str:
    matches = [r for r in results if r.check == check and r.case == case]
    assert len(matches) == 1, f"expected one result for {check}[{case}], got {matches}"
    return matches[0].outcome.value


def reason(results, check: str, case: str) -> str:
    return next(r.reason for r in results if r.check == check and r.case == case)


def check_function(check_id: str) -> str:
    """The suite function that implements a check: a -k expression that runs only that check."""
    import importlib.util

    from conformance.checking.api import check_info
    from conformance.resources import suites_dir

    for path in sorted(suites_dir().glob("check_*.py")):
        spec = importlib.util.spec_from_file_location(f"tokconf_lookup_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for name, obj in vars(module).items():
            info = check_info(obj)
            if info and info.id == check_id:
                return name
    raise KeyError(check_id)


# Where each check's declared FaultProof(on=...) is run: one generic test per set of recordings,
# parametrized with fault_proofs(on) (test_every_check_has_a_fault_test holds it to that).
PROVEN_ON = {
    "vllm": "tests/suites/test_checks_vllm_recorded.py::test_check_fails_on_its_fault",
    "dynamo": "tests/suites/test_checks_dynamo_recorded.py::test_check_fails_on_its_fault_in_dynamo_dialect",
    "miles": "tests/suites/test_checks_documented_shapes.py::test_stream_rejection_fails_when_the_refusal_breaks",
    "reasoning": "tests/suites/test_checks_reasoning.py::test_reasoning_faults_fail",
    "fleet": "tests/suites/test_check_fleet.py::test_one_worker_unlike_the_other_fails_naming_the_request",
    "fleet:vllm-copies": "tests/suites/test_check_fleet.py::test_a_worker_with_another_chat_template_fails_on_the_prompt_ids",
}


def fault_proofs(on: str) -> list:
    """pytest params (check id, FaultProof): the faults the catalogue's checks declare they are
    caught by on the recordings `on`, each with the id check-fault-case."""
    import pytest

    from conformance.checking.api import FaultProof
    from conformance.checking.catalog import load_catalog

    return [pytest.param(info.id, proof, id=f"{info.id}-{proof.fault}-{proof.case}")
            for info in load_catalog() for proof in info.caught_by
            if isinstance(proof, FaultProof) and proof.on == on]


def only(*check_ids: str) -> str:
    """A -k expression selecting exactly these checks."""
    return " or ".join(check_function(c) for c in check_ids)


def unexpected(results, allowed=("PASS",)) -> list[tuple[str, str, str, str]]:
    """Results outside `allowed`, SKIPs aside (a skip always carries its reason)."""
    return [(r.check, r.case, r.outcome.value, r.reason) for r in results
            if r.outcome.value not in allowed and r.outcome.value != "SKIP"]


def tokconf(*args, timeout: float = 300, env: dict | None = None, without_key: bool = False,
            cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`tokconf ARGS` as a user runs it (python -m conformance, in the checkout), its output
    captured. `env`: added to this environment; `without_key`: no OPENAI_API_KEY inherited (only
    the key a test gives)."""
    base = {k: v for k, v in os.environ.items() if not (without_key and k == "OPENAI_API_KEY")}
    return subprocess.run([sys.executable, "-m", "conformance", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=timeout, env={**base, **(env or {})})


def scripted_replies(cases_file: Path):
    """pytest params (case, tools, reply) for every reply a fixture model was trained to give: each
    case's scripted reply, and its reply without tools where it has one."""
    import pytest

    from conformance.inputs.cases import load_cases

    for case in load_cases(cases_file):
        if case.reply is None:  # a variation on a scripted prompt; nothing scripted to reproduce
            continue
        yield pytest.param(case, case.tools, case.reply, id=case.id)
        if case.tools and case.reply_without_tools:
            yield pytest.param(case, None, case.reply_without_tools, id=f"{case.id}-without-tools")


def scripted_call(model_dir: Path, cases_file: Path, case_id: str):
    """(the tool-call family the fixture's chat template names, the text outside the calls, the calls
    as (name, arguments) pairs) of a case's scripted reply, read with that family's grammar."""
    from conformance.checking.tool_call_text import calls_in_text
    from conformance.inputs.cases import load_cases
    from conformance.inputs.tool_markup import family_of_template

    case = next(c for c in load_cases(cases_file) if c.id == case_id)
    family = family_of_template((model_dir / "chat_template.jinja").read_text(encoding="utf-8"))
    outside, calls = calls_in_text(family, case.reply)
    return family.name, outside, [c.pair() for c in calls]


def greedy_completion(model, tok: Tokenizer, prompt: list[int], max_new_tokens: int = 96) -> list[int]:
    """transformers' greedy decoding of `prompt` by a fixture model, up to and including its EOS."""
    import torch

    eos = tok.hf.eos_token_id
    out = model.generate(torch.tensor([prompt]), attention_mask=torch.ones(1, len(prompt), dtype=torch.long),
                         max_new_tokens=max_new_tokens, do_sample=False, eos_token_id=eos, pad_token_id=eos)
    return out[0, len(prompt):].tolist()


def contributing_recipe(heading: str) -> str:
    """The python block under CONTRIBUTING.md's `### {heading}`: an extension's recipe, which a
    test writes to one file and loads as a plugin (so the recipe cannot drift from the code)."""
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    section = text.split(f"\n### {heading}\n", 1)[1].split("\n### ", 1)[0]
    block = re.search(r"^( *)```python\n(.*?)^\1```", section, re.S | re.M)
    return textwrap.dedent(block.group(2))


def plugin_env(directory: Path, module: str, source: str) -> dict[str, str]:
    """`source` written to DIRECTORY/MODULE.py, importable and named in $TOKCONF_PLUGINS: the
    environment a `tokconf` subprocess loads it with."""
    from conformance import plugins

    (directory / f"{module}.py").write_text(source, encoding="utf-8")
    path = os.pathsep.join(filter(None, [str(directory), str(ROOT), os.environ.get("PYTHONPATH")]))
    return {"PYTHONPATH": path, plugins.ENV_VAR: module}
