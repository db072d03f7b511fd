"""Request variants: the distinct requests a check can ask for, built from a case and a dialect.

Checks name the variants they read (`needs=`); the runner builds each one once per case and
sends every distinct body once, however many checks read it.

Most variants are built from the case alone. A follow-up variant (`after=`) is built from the
reply to another variant of the same case (the next turn of a conversation, the same prompt
sent back as token ids); the runner sends those in a second phase, once their base replies
are in (conformance.wire.followups builds them).
"""
from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from conformance.inputs.cases import Case
from conformance.dialects import Dialect

CHAT_PATH = "/v1/chat/completions"
TOP_LOGPROBS = 2  # alternatives asked for with logprobs: enough to see the shape, cheap to send


@dataclass(frozen=True)
class Variant:
    name: str
    description: str
    stream: bool
    ids: bool = True  # ask for token ids with the dialect's opt-in
    tools: bool = True  # keep the case's tools
    logprobs: bool = False  # ask for logprobs (and the dialect's logprob-token-id fields, if any)
    top_logprobs: bool = True  # with logprobs: ask for alternatives too (RL pipelines ask for logprobs alone)
    after: str | None = None  # built from the reply to this variant (see conformance.wire.followups)
    params: dict[str, Any] = field(default_factory=dict, hash=False)  # merged over the case's params
    usage: bool = True  # streams: ask for a usage chunk (when the dialect takes stream_options)
    nonstream_optin: bool = False  # streams: the non-stream opt-in, which some dialects must reject
    placeholder: bool = False  # the dialect's token-in placeholder messages instead of the case's (no tools)


# n=2 with sampling, as the SGLang recordings were made (fixtures/recordings/sglang-*)
N2 = {"n": 2, "temperature": 0.8, "seed": 1}


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in [
        Variant("nonstream", "the case as a non-stream request, ids requested", stream=False),
        Variant("stream", "the case streamed, ids requested, usage in a final chunk", stream=True),
        Variant("stream_notools", "the case streamed without its tools, ids requested", stream=True, tools=False),
        Variant("plain_nonstream", "the case as a vanilla client sends it: no id opt-in", stream=False, ids=False),
        Variant("plain_stream", "the case streamed as a vanilla client sends it: no id opt-in", stream=True, ids=False),
        Variant("logprobs_nonstream", "non-stream, ids and logprobs requested", stream=False, logprobs=True),
        Variant("logprobs_stream", "streamed, ids and logprobs requested", stream=True, logprobs=True),
        Variant("logprobs_bare_nonstream", "non-stream, ids and `logprobs: true` alone (no top_logprobs), as RL "
                "pipelines ask for the sampled tokens' logprobs", stream=False, logprobs=True, top_logprobs=False),
        Variant("next_turn", "the next turn: the case's messages, the non-stream reply as the assistant "
                "message, then the case's `followup` messages; ids requested", stream=False, after="nonstream"),
        Variant("token_in", "the non-stream request with its prompt sent as the server's own prompt ids "
                "(the dialect's token-in field) and placeholder messages", stream=False, after="nonstream"),
        Variant("placeholder_nonstream", "the dialect's token-in placeholder messages (a different short prompt) "
                "with the case's parameters, non-stream, ids requested", stream=False, tools=False, placeholder=True),
        Variant("token_in_swapped", "the case's messages with the PLACEHOLDER prompt's ids in the token-in field: "
                "ids that differ from the messages' rendering", stream=False, after="placeholder_nonstream"),
        Variant("nonstream_n2", "the case with n=2 and sampling, ids requested", stream=False, params=N2),
        Variant("stream_n2", "the case streamed with n=2 and sampling, ids requested", stream=True, params=N2,
                usage=False),
        Variant("special_tokens_nonstream", "the case as a non-stream request with add_special_tokens: true (the "
                "tokenizer's own special tokens on top of the rendered template), ids requested; one token "
                "generated (only the prompt ids are read)", stream=False,
                params={"add_special_tokens": True, "max_tokens": 1}),
        Variant("stream_nonstream_optin", "the case streamed with the NON-stream opt-in (dialects that must "
                "reject it)", stream=True, nonstream_optin=True),
    ]
}


@dataclass(frozen=True)
class SideCall:
    """Where a side-channel dialect's ids for one request are read (conformance.wire.transport):
    `reset` is DELETEd before the request (a session left by an earlier run), `fetch` is GET
    after the reply until it lists the request's record, for at most `wait` seconds."""

    fetch: str
    reset: str | None = None
    wait: float = 10.0


@dataclass(frozen=True)
class RequestSpec:
    method: str
    path: str
    body: dict[str, Any]
    label: str = ""  # "case/variant", for recordings and reports; not part of the identity
    attempt: int = 0  # >0: the same body sent again on purpose (determinism pre-check)
    headers: tuple[tuple[str, str], ...] = ()  # a dialect's opt-in headers (SGLang x-sglext-*), sorted
    side: SideCall | None = None  # a side-channel dialect: where this request's ids are read afterwards

    @cached_property  # a run asks it often; the body is not changed once built
    def key(self) -> str:
        """Identity of the request on the wire: equal bodies are sent once (per attempt)."""
        key = f"{self.method} {self.path} " + json.dumps(self.body, sort_keys=True, ensure_ascii=False)
        if self.headers:  # the same body with opt-in headers is another request
            key += " headers=" + json.dumps(sorted(self.headers))
        return f"{key} #{self.attempt}" if self.attempt else key


def build_request(case: Case, variant: str, dialect: Dialect, model: str, tokenizer=None,
                  attempt: int = 0) -> RequestSpec:
    v = VARIANTS[variant]
    if v.after:
        raise ValueError(f"variant {variant!r} is a follow-up: build it with conformance.wire.followups")
    if dialect.shape == "generate":
        return _build_generate(case, v, dialect, _require_tokenizer(tokenizer, dialect), attempt)
    body = build_body(case, v, dialect, model, tokenizer, messages=dialect.token_in_messages if v.placeholder else None)
    return request_spec(dialect, v, body, _label(case, variant, attempt), attempt)


def request_spec(dialect: Dialect, v: Variant, body: dict[str, Any], label: str, attempt: int = 0) -> RequestSpec:
    """The request as sent: the dialect's endpoint, opt-in headers and, for a side-channel
    dialect, the session the request goes through and where its ids are fetched afterwards."""
    headers = headers_for(dialect, v)
    if "{session}" not in dialect.endpoint and not dialect.side_fetch:
        return RequestSpec("POST", dialect.endpoint, body, label, attempt, headers)
    # One session per distinct request (never shared: the record fetched is the request's own);
    # named from the request itself, so a replay builds the same path.
    kind = "ids" if v.ids and dialect.side_fetch else "plain"
    wire = json.dumps([body, headers, attempt, kind], sort_keys=True, ensure_ascii=False)
    session = dialect.side_session.format(kind=kind, digest=hashlib.sha256(wire.encode()).hexdigest()[:16])
    side = None
    if kind == "ids":
        side = SideCall(dialect.side_fetch.format(session=session),
                        dialect.side_reset.format(session=session) if dialect.side_reset else None, dialect.side_wait)
    return RequestSpec("POST", dialect.endpoint.format(session=session), body, label, attempt, headers, side)


def headers_for(dialect: Dialect, v: Variant) -> tuple[tuple[str, str], ...]:
    """The dialect's opt-in headers for a request that wants ids (sorted: part of its identity)."""
    return tuple(sorted(dialect.opt_in_headers(v.stream).items())) if v.ids else ()


def build_body(case: Case, v: Variant, dialect: Dialect, model: str, tokenizer=None,
               messages: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A chat request body for the variant; `messages` replaces the case's (follow-up turns)."""
    body: dict[str, Any] = {"model": model, "messages": copy.deepcopy(messages or case.messages)}
    if case.tools and v.tools:
        body["tools"] = copy.deepcopy(case.tools)
    body.update(copy.deepcopy(case.params))
    body.update(copy.deepcopy(v.params))
    if v.stream:
        body["stream"] = True
        if dialect.stream_usage_option and v.usage:
            body["stream_options"] = {"include_usage": True}
    if v.logprobs:
        body["logprobs"] = True
        if v.top_logprobs:
            body["top_logprobs"] = TOP_LOGPROBS
        body.update(copy.deepcopy(dialect.logprob_fields))
    if v.ids and dialect.sends_prompt:  # token-in dialects (Miles): the client renders the prompt
        rendered = case if messages is None else Case(case.id, messages, case.tools, case.params)
        body[dialect.sends_prompt] = _rendered_prompt(rendered, v, dialect, _require_tokenizer(tokenizer, dialect))
    if v.ids:
        body = dialect.with_ids(body, nonstream_optin=v.nonstream_optin)
    return body


def _require_tokenizer(tokenizer, dialect: Dialect):
    if tokenizer is None:
        raise ValueError(f"dialect {dialect.name} sends a client-rendered prompt: building its requests needs the tokenizer")
    return tokenizer


def _rendered_prompt(case: Case, v: Variant, dialect: Dialect, tokenizer) -> Any:
    """The case's messages through the client's chat template, as ids or as text."""
    tools = case.tools if (case.tools and v.tools) else None
    if dialect.prompt_as == "text":
        return tokenizer.render_prompt(case.messages, tools)
    return tokenizer.prompt_ids(case.messages, tools)


def _build_generate(case: Case, v: Variant, dialect: Dialect, tokenizer, attempt: int = 0) -> RequestSpec:
    """A native (non-chat) request: the prompt rendered client-side, the case's sampling
    params renamed (max_tokens -> max_new_tokens) and nested as the dialect declares."""
    body: dict[str, Any] = {dialect.sends_prompt or "input_ids": _rendered_prompt(case, v, dialect, tokenizer)}
    params = {dialect.param_names.get(k, k): copy.deepcopy(val) for k, val in {**case.params, **v.params}.items()}
    if dialect.sampling_params_key:
        body[dialect.sampling_params_key] = params
    else:
        body.update(params)
    if v.stream:
        body["stream"] = True
        if dialect.stream_usage_option and v.usage:
            body["stream_options"] = {"include_usage": True}
    if v.ids:
        body = dialect.with_ids(body, nonstream_optin=v.nonstream_optin)
    return request_spec(dialect, v, body, _label(case, v.name, attempt), attempt)


def _label(case: Case, variant: str, attempt: int) -> str:
    return f"{case.id}/{variant}" + (f"#{attempt}" if attempt else "")
