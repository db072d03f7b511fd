"""Shared fixtures: the fixture model's tokenizer, the cases, and recorded real-engine exchanges."""
from __future__ import annotations

import os

import pytest

# Tests never reach the hub: tokconf and the engines it launches stay offline because the test
# environment says so (tokconf itself no longer forces offline mode: hub ids work for users).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# The `tokconf` commands tests run keep their client-tokenizer cache (conformance.checking.
# client_cache) in one directory per test session, never the user's ~/.cache: later commands
# hit what earlier ones stored, as a user's repeated runs do.
if "TOKCONF_CACHE_DIR" not in os.environ:
    import tempfile

    os.environ["TOKCONF_CACHE_DIR"] = tempfile.mkdtemp(prefix="tokconf-test-cache-")

from conformance.checking.client_tokenizer import Tokenizer  # noqa: E402 (after the environment above)
from conformance.inputs.cases import load_cases  # noqa: E402
from support import ROOT, VLLM_RECORDINGS, Recorded  # noqa: E402


@pytest.fixture(scope="session")
def tokenizer() -> Tokenizer:
    return Tokenizer.load(ROOT / "fixtures" / "tiny-chat")


@pytest.fixture(scope="session")
def cases():
    return load_cases(ROOT / "fixtures" / "cases" / "default.yaml")


@pytest.fixture(scope="session")
def vllm_recorded(tokenizer, cases) -> Recorded:
    from conformance.inputs.baseline import load_baseline

    # the baseline was recorded from the same engine by `tokconf baseline record vllm-0.32.0-cpu`
    return Recorded(VLLM_RECORDINGS, "vllm", tokenizer, cases,
                    baseline=load_baseline(ROOT / "fixtures" / "baselines" / "vllm-0.32.0-cpu.json"))


@pytest.fixture(autouse=True)
def _no_secret_outlives_its_test():
    """conformance.redact's registry is per process: a secret one test registers must not redact
    the next test's output."""
    yield
    from conformance.redact import forget

    forget()
