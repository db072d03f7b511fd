"""Outcomes and results. PASS is only ever reported for something that was checked."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Outcome(str, enum.Enum):
    PASS = "PASS"
    FAIL = "FAIL"
    SKIP = "SKIP"  # the check does not apply (dialect lacks the feature, no case applies)
    INCONCLUSIVE = "INCONCLUSIVE"  # ran, but the evidence cannot decide (e.g. the model answered differently)
    ERROR = "ERROR"  # could not run: transport failure, engine died, tokconf bug

    @property
    def failed(self) -> bool:
        return self in (Outcome.FAIL, Outcome.ERROR)


@dataclass
class Result:
    check: str
    case: str | None
    outcome: Outcome
    reason: str = ""
    duration: float = 0.0
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "case": self.case,
            "outcome": self.outcome.value,
            "reason": self.reason,
            "duration": round(self.duration, 4),
            "evidence": self.evidence,
        }
