"""The API that suites/ use to declare checks, and the signals a check raises.

    @check("decode.roundtrip.nonstream", needs=["nonstream"], requires=["ids.nonstream"],
           caught_by=[FaultProof("nonstream.out_of_vocab", "french", "outside the vocabulary")])
    def check_roundtrip_nonstream(target, case): ...

A check reads exchanges through `target` and either returns (PASS), raises Fail (FAIL),
Inconclusive (INCONCLUSIVE) or calls skip() (SKIP). Any other exception is an ERROR.
Fail and Inconclusive live in conformance.checking.verdicts (no pytest); skip() is pytest's.
`caught_by` declares the faults that must make the check FAIL: the tests run each declaration.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import pytest

from conformance.checking.verdicts import Fail, Inconclusive
from conformance.inputs.cases import Case

__all__ = ["Fail", "Inconclusive", "skip", "CheckInfo", "FaultProof", "HandBuilt", "REGISTRY", "check", "check_info",
           "recorded_exchange"]


def skip(reason: str) -> None:
    pytest.skip(reason)


def recorded_exchange(target, case: Case, variant: str):
    """target.exchange(case, variant), but in a replay whose recording predates the variant (a
    request a newer check asks for), a SKIP naming it rather than an ERROR: nothing was sent, so
    nothing can be said. A live run sends the request as usual."""
    from conformance.wire.store import MissingExchange, RecordedStore

    try:
        return target.exchange(case, variant)
    except MissingExchange:
        if isinstance(target.store, RecordedStore):
            skip(f"the recording holds no exchange for {case.id}/{variant} (recorded before a check asked for it)")
        raise


@dataclass(frozen=True)
class FaultProof:
    """A registered fault (conformance/selftest/faults.py) that must make the check FAIL: injected
    into `case`'s recorded exchanges (only into `variants`, when given), the FAIL reason holding
    `words`. `on` names the recordings it is shown on, each run by one generic test
    (tests/support.py: PROVEN_ON): real vLLM's by default, another dialect's where vLLM lacks the
    behaviour (a refusal, reasoning, a fleet)."""
    fault: str
    case: str
    words: str
    variants: tuple[str, ...] | None = None
    on: str = "vllm"

    def __post_init__(self):
        if self.variants is not None:  # written as a list in the decorator
            object.__setattr__(self, "variants", tuple(self.variants))

    def to_json(self) -> dict:
        return {"fault": self.fault, "case": self.case, "variants": list(self.variants) if self.variants else None,
                "words": self.words, "on": self.on}


@dataclass(frozen=True)
class HandBuilt:
    """A failure no registered fault can inject (a tokenizer with a BOS, a swapped token-in reply),
    shown by the named test ("tests/path.py::test_name") on exchanges it builds by hand."""
    test: str
    what: str

    def to_json(self) -> dict:
        return {"hand_built": self.what, "test": self.test}


@dataclass(frozen=True)
class CheckInfo:
    id: str
    description: str
    needs: tuple[str, ...]  # request variants read (see conformance.wire.requests.VARIANTS)
    requires: tuple[str, ...]  # dialect features; the check is SKIPPED without them
    case_tags: tuple[str, ...]  # only cases carrying all these tags
    case_filter: Callable[[Case], bool] | None = field(default=None, compare=False)
    # The verdict compares ids with what the model generates (its text, another request's ids):
    # INCONCLUSIVE when the determinism pre-check finds the engine does not reproduce greedy output.
    model_output: bool = False
    function: str = ""  # the suite function that implements it
    # what must make it FAIL: the proof that the check catches the bug it exists for
    caught_by: tuple[FaultProof | HandBuilt, ...] = ()

    def applies_to(self, case: Case) -> bool:
        if not all(case.has(t) for t in self.case_tags):
            return False
        return self.case_filter(case) if self.case_filter else True


REGISTRY: dict[str, CheckInfo] = {}


def check(
    check_id: str,
    *,
    needs: list[str] | tuple[str, ...] = (),
    requires: list[str] | tuple[str, ...] = (),
    case_tags: list[str] | tuple[str, ...] = (),
    case_filter: Callable[[Case], bool] | None = None,
    model_output: bool = False,
    caught_by: list[FaultProof | HandBuilt] | tuple[FaultProof | HandBuilt, ...] = (),
):
    def decorate(fn):
        doc = (fn.__doc__ or "").strip()
        info = CheckInfo(check_id, doc, tuple(needs), tuple(requires), tuple(case_tags), case_filter, model_output,
                         fn.__name__, tuple(caught_by))
        fn.__tokconf_check__ = info
        REGISTRY[check_id] = info
        return fn

    return decorate


def check_info(fn) -> CheckInfo | None:
    return getattr(fn, "__tokconf_check__", None)
