"""Keep secrets out of anything tokconf prints or writes: one redactor for every output.

The secrets a command was given (API keys, secret-looking engine env values, secret engine flags,
a password in a URL) are registered where their options are parsed (session/options.py) or their
values read (a target's api_key_env); `redact_text` always removes every registered secret, and
the outputs pass through it by construction: stdout and stderr are wrapped for the length of a
command (session/exits.CommandGroup), and every report file, recording and summary is written
through `reporting.sink` or a `RedactingStream`. Two shapes are redacted without being registered:
a URL's password (`http://user:***@host`) and an Authorization header's credential.
"""
from __future__ import annotations

import html
import json
import re
from urllib.parse import unquote, urlsplit

SECRET_FLAGS = {"--api-key", "--hf-token", "--token"}

_registered: list[str] = []  # every secret this process was given; never printed, never written

# scheme://user:password@ : the password goes, the user stays (it says which account was used)
_URL_PASSWORD = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@'\"<>]*:)[^/\s@'\"<>]+@")
# an Authorization header's credential, or a bare "Bearer <token>"; a token has 8+ characters and
# one that is not a letter, so prose ("Bearer token for the gateway") stays as it is
_CREDENTIAL = re.compile(r"((?:authorization['\"]?\s*[:=]\s*['\"]?(?:bearer|basic|token)|\bbearer)\s+)"
                         r"(?=[A-Za-z0-9._~+/=-]*[0-9._~+/=-])[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE)


def register(*values: str | None) -> None:
    """Secrets every later output must not hold (and their escaped forms in JSON, XML and HTML)."""
    for value in values:
        if not value:
            continue
        for form in (value, json.dumps(value, ensure_ascii=False)[1:-1], json.dumps(value)[1:-1],
                     html.escape(value), html.escape(value, quote=False)):
            if form and form not in _registered:
                _registered.append(form)
    _registered.sort(key=len, reverse=True)  # a secret that holds another goes first


def registered() -> list[str]:
    return list(_registered)


def forget() -> None:
    """A new command starts with no secret (an in-process test runs several in one process)."""
    _registered.clear()


def secrets_in_url(url: str | None) -> list[str]:
    """The password of `scheme://user:password@host` (as written, and percent-decoded)."""
    if not url or "@" not in url:
        return []
    try:
        password = urlsplit(url.strip()).password
    except ValueError:
        return []
    return [p for p in dict.fromkeys([password, unquote(password or "")]) if p]


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
    """`text` without the given secrets, the registered ones, URL passwords and credentials."""
    given = [s for s in secrets if s and s not in _registered]
    for secret in sorted(given, key=len, reverse=True) + _registered if given else _registered:
        if secret in text:
            text = text.replace(secret, "***")
    if "@" in text:
        text = _URL_PASSWORD.sub(r"\1***@", text)
    return _CREDENTIAL.sub(r"\1***", text)


class RedactingStream:
    """A text stream whose every write is redacted: stdout and stderr during a command, a report
    file written piece by piece. Everything else (isatty, fileno, encoding) is the stream's own."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(redact_text(text))
        return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name):
        return getattr(self._stream, name)

    def __enter__(self):
        self._stream.__enter__()
        return self

    def __exit__(self, *exc):
        return self._stream.__exit__(*exc)
