"""What a session must never print or write: the API key, values of secret engine flags
(`--engine-arg=--hf-token=…`) and values of secret-looking engine environment variables
(`--engine-env HF_TOKEN=…`). Redacted from the terminal, reports, recorded argv and env, and the
engine's log (its output passes through a redacting pipe)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from conformance.redact import redact_argv, redact_text, secrets_in_argv

# a variable whose name says it holds a credential
SECRET_ENV = re.compile(r"(TOKEN|KEY|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH)", re.IGNORECASE)


def is_secret_env(name: str) -> bool:
    return bool(SECRET_ENV.search(name))


@dataclass
class Secrets:
    values: list[str] = field(default_factory=list)

    @classmethod
    def collect(cls, api_key: str | None = None, argv: list[str] = (), env: dict[str, str] | None = None,
                extra: list[str | None] = ()) -> "Secrets":
        found = [api_key, *extra, *secrets_in_argv(list(argv))]
        found += [v for k, v in (env or {}).items() if is_secret_env(k)]
        return cls(list(dict.fromkeys(s for s in found if s)))

    def add(self, *values: str | None) -> None:
        self.values.extend(v for v in values if v and v not in self.values)

    def text(self, text: str) -> str:
        return redact_text(text, self.values)

    def argv(self, argv: list[str]) -> list[str]:
        return redact_argv(argv, self.values)

    def env(self, env: dict[str, str]) -> dict[str, str]:
        """Recorded form of the user's engine environment: secret-looking names keep only `***`."""
        return {k: "***" if is_secret_env(k) else self.text(v) for k, v in env.items()}
