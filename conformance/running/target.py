"""What checks see: the dialect, the tokenizer, and exchanges for (case, variant)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from conformance.inputs.cases import Case
from conformance.dialects import Dialect
from conformance.wire.exchange import Exchange
from conformance.wire.followups import NoFollowup, build_followup
from conformance.wire.requests import VARIANTS, RequestSpec, build_request
from conformance.checking.client_tokenizer import Tokenizer
from conformance.checking.verdicts import Inconclusive


@dataclass
class Target:
    dialect: Dialect
    tokenizer: Tokenizer
    store: object  # LiveStore | RecordedStore
    model: str  # the served model name put in request bodies
    baseline: dict[str, Any] | None = field(default=None)  # key paths of an unpatched engine (tokconf baseline)

    fleet_size: int = 1  # >1: a router in front of this many workers (--fleet-size; suites/check_fleet.py)
    traits: dict = field(default_factory=dict)  # what the run learnt about the engine (determinism)
    # (case id, variant, attempt) -> the request built from the case alone; a dict shared between
    # runs over the same cases (selftest rounds) builds (renders) each once
    built: dict = field(default_factory=dict)

    def request(self, case: Case, variant: str, attempt: int = 0) -> RequestSpec:
        """The request for (case, variant). A follow-up variant reads its base exchange (the same
        attempt's) first, from the store: sent once, then cached."""
        after = VARIANTS[variant].after
        if after:
            base = self.exchange(case, after, attempt)
            try:
                return build_followup(case, variant, self.dialect, self.model, base, self.tokenizer, attempt)
            except NoFollowup as exc:  # nothing to build on: the check cannot decide
                raise Inconclusive(str(exc)) from exc
        key = (case.id, variant, attempt)
        spec = self.built.get(key)
        if spec is None:
            spec = self.built[key] = build_request(case, variant, self.dialect, self.model, self.tokenizer, attempt)
        return spec

    def exchange(self, case: Case, variant: str, attempt: int = 0) -> Exchange:
        return self.store.get(self.request(case, variant, attempt))

    def cancel(self, case: Case, variant: str, until: Callable[[str], bool]) -> Exchange | None:
        """(case, variant) sent again now and closed by the client once `until` holds of the SSE
        events received (conformance.wire.store.LiveStore.cancel). None where a cancel cannot reach the
        engine (can_cancel): a replay (RecordedStore), a selftest round."""
        return self.store.cancel(self.request(case, variant), until) if self.can_cancel else None

    @property
    def can_cancel(self) -> bool:
        """Whether a cancel reaches the engine: a live store's, not a replay's nor a selftest round's."""
        return bool(getattr(self.store, "cancels", False))
