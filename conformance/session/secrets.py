"""What a session must never print or write: the API key, values of secret engine flags
(`--engine-arg=--hf-token=…`), values of secret-looking engine environment variables
(`--engine-env HF_TOKEN=…`) and a password in a URL. Redacted from the terminal, reports, recorded
argv and env, and the engine's log (its output passes through a redacting pipe). Every secret a
Secrets learns is also registered with conformance.redact, which every output passes through."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from conformance.redact import redact_argv, redact_text, register, secrets_in_argv, secrets_in_url

# a variable whose name says it holds a credential
SECRET_ENV = re.compile(r"(TOKEN|KEY|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH)", re.IGNORECASE)


def is_secret_env(name: str) -> bool:
    return bool(SECRET_ENV.search(name))


@dataclass
class Secrets:
    values: list[str] = field(default_factory=list)

    @classmethod
    def collect(cls, api_key: str | None = None, argv: list[str] = (), env: dict[str, str] | None = None,
                extra: list[str | None] = (), urls: list[str | None] = ()) -> "Secrets":
        found = [api_key, *extra, *secrets_in_argv(list(argv))]
        found += [v for k, v in (env or {}).items() if is_secret_env(k)]
        found += [p for url in urls for p in secrets_in_url(url)]
        secrets = cls()
        secrets.add(*found)
        return secrets

    def __post_init__(self):
        register(*self.values)

    def add(self, *values: str | None) -> None:
        register(*values)
        self.values.extend(v for v in values if v and v not in self.values)

    def text(self, text: str) -> str:
        return redact_text(text, self.values)

    def argv(self, argv: list[str]) -> list[str]:
        return redact_argv(argv, self.values)

    def env(self, env: dict[str, str]) -> dict[str, str]:
        """Recorded form of the user's engine environment: secret-looking names keep only `***`."""
        return {k: "***" if is_secret_env(k) else self.text(v) for k, v in env.items()}


def register_env_items(items: list[str] | None) -> None:
    """`--engine-env KEY=VALUE` as parsed: a secret-looking name's value is a secret from here on."""
    for item in items or ():
        key, eq, value = item.partition("=")
        if eq and is_secret_env(key):
            register(value)
