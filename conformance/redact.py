"""Keep secrets out of anything tokconf prints or writes."""
from __future__ import annotations

SECRET_FLAGS = {"--api-key", "--hf-token", "--token"}


def redact_argv(argv: list[str], secrets: list[str | None] = ()) -> list[str]:
    out, hide_next = [], False
    for arg in argv:
        if hide_next:
            out.append("***")
            hide_next = False
            continue
        flag, eq, _ = arg.partition("=")
        if flag in SECRET_FLAGS:
            if eq:
                out.append(f"{flag}=***")
            else:
                out.append(arg)
                hide_next = True
            continue
        out.append(redact_text(arg, secrets))
    return out


def redact_text(text: str, secrets: list[str | None] = ()) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
