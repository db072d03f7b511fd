"""`tokconf probe`: which token-id dialects does a running server speak?

For every shipped dialect, one small non-stream request with that dialect's opt-in (built by the
same code `tokconf verify` uses, so a replayed server answers it too); a dialect is spoken when
the ids come back where the dialect says, as lists of in-vocabulary-looking ints. One vanilla
request (no opt-in) shows what the server sends unasked: ids always on, or `null` keys.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conformance.inputs.cases import Case
from conformance.dialects import Dialect, builtin_names, load_dialect
from conformance.dialects.paths import MISSING, resolve
from conformance.wire.exchange import ExchangeError
from conformance.wire.requests import build_request


@dataclass
class Finding:
    dialect: str
    speaks: bool
    detail: str
    request: dict[str, Any] | None = None  # path and status, for the JSON output
    rank: tuple = ()


@dataclass
class ProbeResult:
    findings: list[Finding] = field(default_factory=list)
    vanilla: list[str] = field(default_factory=list)  # what an opt-in-free response carries

    @property
    def spoken(self) -> list[Finding]:
        return sorted((f for f in self.findings if f.speaks), key=lambda f: f.rank)


def _ids(value: Any) -> list[int] | None:
    if isinstance(value, list) and value and all(isinstance(i, int) and not isinstance(i, bool) and i >= 0
                                                 for i in value):
        return value
    return None


def _describe(value: Any) -> str:
    if value is MISSING:
        return "absent"
    if value is None:
        return "null"
    if isinstance(value, list):
        return f"a list of {len(value)}" if value else "an empty list"
    return f"a {type(value).__name__}"


def _judge(d: Dialect, ex, spec_body: dict) -> tuple[bool, str]:
    if ex.error:
        return False, f"no answer ({ex.error})"
    if ex.status != 200:
        return False, f"HTTP {ex.status}: {' '.join(ex.body.split())[:120]}"
    try:
        body = ex.json
    except ExchangeError as exc:
        return False, str(exc)[:160]
    completion = d.completion_ids(body)
    prompt = d.prompt_ids(body, request=spec_body)
    if _ids(completion) is None:
        return False, f"200, but the completion ids ({d.nonstream_completion}) are {_describe(completion)}"
    if _ids(prompt) is None:
        return False, f"200 with completion ids, but the prompt ids ({d.nonstream_prompt}) are {_describe(prompt)}"
    where = "sent by the client" if d.prompt_from_request else d.nonstream_prompt
    return True, (f"{len(completion)} completion ids at {d.nonstream_completion}, "
                  f"{len(prompt)} prompt ids ({where})")


def _vanilla_notes(body: dict, dialects: list[Dialect]) -> list[str]:
    notes, seen = [], set()
    for d in dialects:
        if d.shape != "chat":
            continue
        for path in (d.nonstream_prompt, d.nonstream_completion):
            if not path or path in seen or path.startswith("$"):
                continue
            seen.add(path)
            value = resolve(body, path)
            if value is None:
                notes.append(f"{path}: null (sent although not asked for; {d.name} declares unrequested: "
                             f"{'null' if d.unrequested is None else d.unrequested})")
            elif _ids(value) is not None:
                notes.append(f"{path}: {len(value)} ids without any opt-in (always on, as {d.name} declares: "
                             f"unrequested: {d.unrequested})")
    return notes


def _unrequested(vanilla_body: dict | None, d: Dialect) -> str | None:
    """What a response to a request without the opt-in holds at the dialect's completion path:
    "always" (ids), "null" or "omitted"; None when unknown (no vanilla answer, not a chat dialect)."""
    if vanilla_body is None or d.shape != "chat" or not d.nonstream_completion:
        return None
    value = resolve(vanilla_body, d.nonstream_completion)
    if value is MISSING:
        return "omitted"
    if value is None:
        return "null"
    return "always" if _ids(value) is not None else None


def probe(sender, model: str, case: Case, tokenizer=None, names: list[str] | None = None) -> ProbeResult:
    """Send each dialect's opt-in request once (equal bodies once) and judge the answers."""
    dialects = [load_dialect(n) for n in (names or builtin_names())]
    result = ProbeResult()
    specs, skipped = {}, {}
    for d in dialects:
        try:
            specs[d.name] = build_request(case, "nonstream", d, model, tokenizer)
        except ValueError as exc:  # needs a tokenizer to render the prompt client-side
            skipped[d.name] = str(exc)
    chat = next(d for d in dialects if d.shape == "chat")
    vanilla = build_request(case, "plain_nonstream", chat, model)
    answers = sender.send_all([vanilla, *specs.values()])
    plain, plain_body = answers[vanilla.key], None
    if plain.status == 200:
        try:
            plain_body = plain.json
            result.vanilla = _vanilla_notes(plain_body, dialects)
        except ExchangeError:
            pass
    for d in dialects:
        if d.name in skipped:
            result.findings.append(Finding(d.name, False, f"not tried: {skipped[d.name]} (give --tokenizer)"))
            continue
        spec = specs[d.name]
        ex = answers[spec.key]
        speaks, detail = _judge(d, ex, spec.body)
        unasked = _unrequested(plain_body, d)
        declared = "null" if d.unrequested is None else d.unrequested
        mismatch = speaks and unasked is not None and unasked != declared
        if mismatch:
            detail += f"; but unasked the server sends these ids as {unasked!r}, {d.name} declares {declared!r}"
        # the server's own dialect first: declared vanilla behaviour seen, ids without an opt-in,
        # then streamed ids, then chat over native endpoints
        always_on = not d.request_fields and speaks
        rank = (mismatch, not always_on, not d.has("ids.stream"), d.shape != "chat", d.name)
        result.findings.append(Finding(d.name, speaks, detail, {"path": spec.path, "status": ex.status}, rank))
    return result
