"""Keep secrets out of anything tokconf prints or writes."""
from __future__ import annotations

SECRET_FLAGS = {"--api-key", "--hf-token", "--token"}


def redact_argv(argv: list[str], secrets: list[str | None] = ()) -> list[str]:
    secrets = [*secrets, *secrets_in_argv(argv)]
    out, hide_next = [], False
    for arg in argv:
        if hide_next:
            out.append("***")
            hide_next = False
            continue
        flag, eq, value = arg.partition("=")
        if flag in SECRET_FLAGS:
            if eq:
                out.append(f"{flag}=***")
            else:
                out.append(arg)
                hide_next = True
            continue
        out.append(redact_text(arg, secrets))
    return out


def secrets_in_argv(argv: list[str]) -> list[str]:
    """Values of secret flags, also when wrapped (`--engine-arg=--hf-token=X`): engines log their
    arguments, so these are redacted from engine logs as well as from argv."""
    found, take_next = [], False
    for arg in argv:
        if take_next:
            # the value, or a wrapper carrying it (`--engine-arg=--api-key --engine-arg=KEY`)
            found.append(arg.partition("=")[2] if arg.startswith("--") and "=" in arg else arg)
            take_next = False
            continue
        while True:
            flag, eq, value = arg.partition("=")
            if flag in SECRET_FLAGS:
                if eq:
                    found.append(value)
                else:
                    take_next = True
                break
            if not (eq and value.startswith("--")):
                break
            arg = value  # a wrapper option carrying a flag of its own
    return [s for s in found if s]


def redact_text(text: str, secrets: list[str | None] = ()) -> str:
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
