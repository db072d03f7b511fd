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
    # Set only by an expectation file (conformance.inputs.expectations), never by a check:
    XFAIL = "XFAIL"  # failed, as the expectation file declares (a known bug): shown, does not fail the run
    XPASS = "XPASS"  # passed although declared to fail: the expectation is stale; fails a strict run
    INTERMITTENT = "INTERMITTENT"  # failed, and the expectation file declares it intermittent: shown, does not fail the run

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
    exchanges: list[dict[str, Any]] = field(default_factory=list)  # the requests the check read (running/evidence.py)
    attempts: list[str] | None = None  # --repeat: the outcome of every pass (conformance/running/repeat.py)

    @property
    def intermittent(self) -> bool:
        return bool(self.attempts) and len(set(self.attempts)) > 1

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "case": self.case,
            "outcome": self.outcome.value,
            "reason": self.reason,
            "duration": round(self.duration, 4),
            "evidence": self.evidence,
            "exchanges": self.exchanges,
            **({"attempts": self.attempts, "intermittent": self.intermittent} if self.attempts else {}),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Result":
        """A result read back from a stored JSON report (tokconf report / compare)."""
        return cls(data["check"], data.get("case"), Outcome(data["outcome"]), data.get("reason") or "",
                   data.get("duration") or 0.0, data.get("evidence") or {}, data.get("exchanges") or [], data.get("attempts"))
