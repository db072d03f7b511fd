"""The verdicts a check raises, without pytest: FAIL and INCONCLUSIVE.

PASS is a check that returns; SKIP is conformance.checking.api.skip() (pytest's skip, which the
runner turns into SKIP); any other exception is an ERROR. Code below the checking layer never
raises these: it raises its own errors and the checking layer decides what they mean.
"""
from __future__ import annotations

from typing import Any


class Fail(AssertionError):
    """The engine broke the contract. `evidence` goes into the report."""

    def __init__(self, message: str, **evidence: Any):
        super().__init__(message)
        self.evidence = evidence


class Inconclusive(Exception):
    """The check ran but cannot decide; never a PASS, never a FAIL."""

    def __init__(self, message: str, **evidence: Any):
        super().__init__(message)
        self.evidence = evidence
