"""Every input file tokconf reads, fuzzed (Hypothesis): mutants of each shipped file and raw
bytes. Whatever the content, loading returns or raises UsageError (one line, exit 2): never a
traceback, never a hang."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from hypothesis import given

from support import ROOT
from conformance.dialects import load_dialect
from conformance.errors import UsageError
from conformance.inputs.baseline import load_baseline
from conformance.inputs.cases import load_cases
from conformance.inputs.expectations import load_expectations
from conformance.trace.mapping import load_mapping
from conformance.wire.store import RecordedStore
from fuzzing import FUZZ, mutants, raw_bytes

FIXTURES = ROOT / "fixtures"
DIALECTS = ROOT / "conformance" / "dialects" / "profiles"


def _yaml(path: Path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


# (loader, the shipped file its mutants start from, how a mutant is written)
LOADERS = {
    "cases": (load_cases, FIXTURES / "cases" / "default.yaml", yaml.safe_dump),
    "expectations": (load_expectations, FIXTURES / "expectations" / "vllm-0.32.0-cpu.yaml", yaml.safe_dump),
    "dialect": (lambda p: load_dialect(str(p)), DIALECTS / "vllm.yaml", yaml.safe_dump),
    "dialect-sglang": (lambda p: load_dialect(str(p)), DIALECTS / "sglang.yaml", yaml.safe_dump),
    "baseline": (load_baseline, FIXTURES / "baselines" / "vllm-0.32.0-cpu.json", json.dumps),
    "trace-mapping": (load_mapping, ROOT / "conformance" / "trace" / "mappings" / "generic.yaml", yaml.safe_dump),
}


def _base(name: str):
    _, path, _ = LOADERS[name]
    return json.loads(path.read_text()) if path.suffix == ".json" else _yaml(path)


def _loads_or_refuses(name: str, path: Path) -> None:
    load = LOADERS[name][0]
    try:
        load(path)
    except UsageError as exc:
        assert str(exc).strip(), "an empty message"


@pytest.mark.parametrize("name", LOADERS)
def test_each_shipped_file_loads(name):
    LOADERS[name][0](LOADERS[name][1])  # the mutants' starting point is valid


@pytest.mark.parametrize("name", LOADERS)
def test_mutants_of_a_shipped_file_load_or_are_refused_in_one_line(name, tmp_path_factory):
    directory = tmp_path_factory.mktemp(name)
    suffix = LOADERS[name][1].suffix

    @FUZZ
    @given(mutants(_base(name)))
    def run(value):
        path = directory / f"input{suffix}"
        try:
            text = LOADERS[name][2](value)
        except (ValueError, TypeError):  # NaN in JSON, keys yaml cannot write: not a file anyone has
            return
        path.write_text(text, encoding="utf-8")
        _loads_or_refuses(name, path)

    run()


@pytest.mark.parametrize("name", LOADERS)
def test_raw_bytes_load_or_are_refused_in_one_line(name, tmp_path_factory):
    directory = tmp_path_factory.mktemp(name)
    suffix = LOADERS[name][1].suffix

    @FUZZ
    @given(raw_bytes)
    def run(data):
        path = directory / f"input{suffix}"
        path.write_bytes(data)
        _loads_or_refuses(name, path)

    run()


RECORDING = FIXTURES / "recordings" / "vllm-0.32.0-cpu.jsonl"


def test_mutated_recordings_replay_or_are_refused(tmp_path_factory):
    """A recording's records mutated: loading refuses it in one line, or each exchange answers
    with its body or an ExchangeError (the checks' ERROR/FAIL), never another exception."""
    from conformance.wire.exchange import ExchangeError

    records = [json.loads(line) for line in RECORDING.read_text().splitlines()[:6]]
    directory = tmp_path_factory.mktemp("recording")

    @FUZZ
    @given(mutants(records))
    def run(value):
        path = directory / "rec.jsonl"
        lines = value if isinstance(value, list) else [value]
        try:
            path.write_text("\n".join(json.dumps(r, allow_nan=False) for r in lines) + "\n")
        except ValueError:
            return
        try:
            store = RecordedStore.from_jsonl(path)
        except UsageError:
            return
        for ex in store._by_key.values():
            try:
                ex.ok()
                _ = ex.stream.chunks if ex.is_stream_request else ex.json
            except ExchangeError:
                pass

    run()
