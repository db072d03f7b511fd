"""What checks see: the dialect, the tokenizer, and exchanges for (case, variant)."""
from __future__ import annotations

from dataclasses import dataclass, field

from .cases import Case
from .dialects import Dialect
from .exchange import Exchange
from .requests import RequestSpec, build_request
from .tokenizer import Tokenizer


@dataclass
class Target:
    dialect: Dialect
    tokenizer: Tokenizer
    store: object  # LiveStore | RecordedStore
    model: str  # the served model name put in request bodies

    traits: dict = field(default_factory=dict)  # what the run learnt about the engine (determinism)

    def request(self, case: Case, variant: str, attempt: int = 0) -> RequestSpec:
        return build_request(case, variant, self.dialect, self.model, self.tokenizer, attempt)

    def exchange(self, case: Case, variant: str, attempt: int = 0) -> Exchange:
        return self.store.get(self.request(case, variant, attempt))
