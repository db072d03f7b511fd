"""Token-id dialects: how an engine is asked for ids and where it puts them.

A dialect is data (a profile in profiles/*.yaml, or a user's file given by path); the
Dialect class below is the single interface the checks read ids through, so a new engine's
dialect never touches the checks.
"""
from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.errors import UsageError
from conformance.inputs.schema import build, key, read_document
from conformance.resources import dialect_profiles_dir
from conformance.dialects.paths import MISSING, is_request_path, parse, resolve

STREAM_MODES = {"delta", "cumulative", "final", "trailing", "rejected"}
SHAPES = {"chat", "generate"}
CHAT_ENDPOINT = "/v1/chat/completions"


def _deep_merge(base: dict, extra: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


@dataclass
class StreamIds:
    """Where ids appeared in one choice index's chunks of a stream."""

    mode: str = "delta"
    prompt: list[tuple[int | None, Any]] = field(default_factory=list)  # (chunk position or None: sent by us, value)
    completion: list[tuple[int, Any]] = field(default_factory=list)  # (chunk position, value or MISSING)

    def concatenated(self) -> list:
        """The completion ids of the whole stream, read the way the dialect's mode says:
        deltas and trailing chunks concatenate, cumulative chunks end in the full list."""
        lists = [value for _, value in self.completion if isinstance(value, list)]
        if self.mode == "cumulative":
            return list(lists[-1]) if lists else []
        out: list = []
        for value in lists:
            out.extend(value)
        return out


def _path(value: str) -> str | None:
    try:
        parse(value)
    except (UsageError, ValueError) as exc:
        return str(exc)
    return None


def _features(values: frozenset[str]) -> str | None:
    from conformance.dialects.features import unknown_features

    unknown = unknown_features(values)
    return f"unknown feature(s) {', '.join(unknown)}; known: {', '.join(known_features())}" if unknown else None


def known_features() -> list[str]:
    from conformance.dialects.features import FEATURES

    return sorted(FEATURES)


# Where a reasoning parser's text goes when a profile does not say: vLLM 0.32's `reasoning`, else
# the `reasoning_content` older vLLM, SGLang and Dynamo use.
DEFAULT_REASONING_FIELDS = ("reasoning", "reasoning_content")


def _field_names(values: tuple[str, ...]) -> str | None:
    bad = [v for v in values if not v.isidentifier()]
    return f"{bad[0]!r} is not a field name (a key of the message or delta, no dots or brackets)" if bad else None


SESSION_FIELDS = {"kind", "digest"}  # what a side channel's session template may name
URL_FIELDS = {"session"}  # what the endpoint and the side channel's URLs may name


def _template(allowed: set[str]):
    """A check that a URL or session template names only `allowed` placeholders."""
    import string

    def complaint(value: str) -> str | None:
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        except ValueError as exc:
            return f"{value!r} is not a template: {exc}"
        bad = sorted(names - allowed)
        return f"{value!r} names {{{bad[0]}}}; a template here may name {', '.join('{' + a + '}' for a in sorted(allowed))}" \
            if bad else None
    return complaint


def _shape_is_chat(values: dict) -> bool:
    return values.get("shape", "chat") == "chat"


class ShapeError(ValueError):
    """The response does not have the shape the dialect reads: the engine's wrong answer (a FAIL)."""


def reads_shape(read):
    """A response that does not have the shape the dialect reads (`choices: [null]`, ids as a
    string, a chunk that is a list) is the engine's wrong answer, a FAIL naming the reader and what
    broke, not an internal error of the check (found by fuzzing: tests/fuzz/test_fuzz_wire.py).
    Wraps a method of Dialect, or a function whose first argument is the Dialect."""
    @functools.wraps(read)
    def reading(self, *args, **kwargs):
        try:
            return read(self, *args, **kwargs)
        except (AttributeError, TypeError, KeyError, IndexError) as exc:
            raise ShapeError(f"the response does not have the shape dialect {self.name} reads "
                                    f"({read.__name__}: {type(exc).__name__}: {exc})") from None
    return reading


@dataclass
class Dialect:
    """A dialect profile, as the checks read it. Each field names the profile key it comes from:
    this class is the profile's schema (types, defaults, allowed values), checked when it loads."""

    name: str = key("name")
    title: str = key("title", default_from=lambda v: v["name"])
    # -- the request: how a case asks for ids (see profiles/sglang-generate.yaml for the non-chat shape)
    request_fields: dict[str, Any] = key("request.fields", {})  # merged into every body that wants ids
    stream_request_fields: dict[str, Any] | None = key("request.stream_fields", None)  # streams, when they differ
    request_headers: dict[str, Any] = key("request.headers", {})  # opt-in sent as HTTP headers
    stream_request_headers: dict[str, Any] | None = key("request.stream_headers", None)
    endpoint: str = key("request.endpoint", CHAT_ENDPOINT, check=_template(URL_FIELDS))  # {session}: the side channel's
    shape: str = key("request.shape", "chat", choices=SHAPES)  # "generate": a client-rendered prompt
    sends_prompt: str | None = key("request.sends_prompt", None)  # field the client-rendered prompt goes into
    prompt_as: str = key("request.prompt_as", "ids", choices={"ids", "text"})
    sampling_params_key: str | None = key("request.sampling_params", None)  # generate: params nest under it
    param_names: dict[str, str] = key("request.param_names", {})  # case param -> request field
    stream_usage_option: bool = key("request.stream_usage_option", default_from=_shape_is_chat)  # include_usage
    # -- a side channel: the ids are not in the reply; a proxy stored them (rllm-model-gateway's
    # traces) and they are fetched after it, one record per request, attached to the exchange's
    # choice 0 as `$side` (conformance/wire/exchange.py) where the paths below read them
    side_fetch: str | None = key("side_channel.fetch", None, check=_template(URL_FIELDS))  # GET: a JSON list
    side_reset: str | None = key("side_channel.reset", None, check=_template(URL_FIELDS))  # DELETE before sending
    side_session: str = key("side_channel.session", "tokconf-{kind}-{digest}", check=_template(SESSION_FIELDS))
    side_wait: float = key("side_channel.wait", 10.0)  # seconds the record may take to be stored
    # -- non-stream responses: where ids, text, finish reason and counts are
    nonstream_prompt: str | None = key("nonstream.prompt_ids", None, check=_path)
    nonstream_completion: str | None = key("nonstream.completion_ids", None, check=_path)
    nonstream_usage: str = key("nonstream.usage", "usage", check=_path)
    nonstream_counts: tuple[str, ...] = key("nonstream.counts", (), check=lambda v: next(filter(None, map(_path, v)), None))
    nonstream_text: str | None = key("nonstream.text", None, check=_path)
    nonstream_finish: str | None = key("nonstream.finish_reason", None, check=_path)
    # keys of choices[i].message that hold what a reasoning parser split off; the first with text wins
    nonstream_reasoning: tuple[str, ...] = key("nonstream.reasoning", DEFAULT_REASONING_FIELDS, check=_field_names)
    # -- streams
    stream_mode: str = key("stream.mode", "rejected", choices=STREAM_MODES)
    stream_prompt: str | None = key("stream.prompt_ids", None, check=_path)
    stream_completion: str | None = key("stream.completion_ids", None, check=_path)
    stream_usage: str = key("stream.usage", "usage", check=_path)
    stream_text: str | None = key("stream.text", None, check=_path)
    stream_finish: str | None = key("stream.finish_reason", None, check=_path)
    stream_reasoning: tuple[str, ...] = key("stream.reasoning", DEFAULT_REASONING_FIELDS, check=_field_names)  # of choices[i].delta
    stream_chunk_id: str = key("stream.chunk_id", "id", check=_path)  # the key every chunk of one completion shares
    # -- behaviour the checks hold the engine to
    eos_in_completion_ids: bool = key("eos_in_completion_ids", True)
    stop_string_ids: str = key("stop_string_ids", "kept", choices={"kept", "trimmed"})
    # "ignored": the request's `stop` strings do not end the reply (Miles' SGLang patch builds the
    # sampling parameters of an input_ids request without them)
    stop_strings: str = key("stop_strings", "applied", choices={"applied", "ignored"})
    n: str = key("n", "per_choice", choices={"per_choice", "rejected"})
    # the request field each declared refusal is about (its error must name it, and a request must
    # carry it without another refused field): n>1 with the ids (`n: rejected`), a stream with the
    # non-stream opt-in (feature stream.rejected). Empty: any field of the opt-in (by word).
    rejects_n: tuple[str, ...] = key("rejects.n", ())
    rejects_stream: tuple[str, ...] = key("rejects.stream", ())
    unrequested: str | None = key("unrequested", "omitted", choices={"omitted", "always", None})
    # a key the dialect has no value for (a chunk without prompt ids, an extension the request did
    # not ask for): "omitted" (dropped from the object, as SGLang's and Dynamo's serializers do) or
    # "null" (serialized as null, as vLLM does). Default: "null" where unrequested ids are declared
    # null, else "omitted". A null where the dialect promises omission FAILS (hygiene.unset_keys).
    unset_keys: str | None = key("unset_keys", choices={"omitted", "null", None},
                          default_from=lambda v: "null" if v.get("unrequested", "omitted") is None else "omitted")
    parses_tool_calls: bool = key("parses_tool_calls", default_from=_shape_is_chat)  # False: markup stays in the text
    features: frozenset[str] = key("features", frozenset(), check=_features)  # what the checks may rely on
    # token in: the field that carries prompt ids instead of messages, and the placeholder messages sent with them
    token_in: str | None = key("token_in.field", None, check=_path)
    token_in_messages: list[dict[str, Any]] = key("token_in.messages", [{"role": "user", "content": "."}])
    # logprobs: request fields that make each entry name its token id, and how entries name it
    # ("token_id_string": `token` is "token_id:N"; "token_id": an int `token_id` key; "text")
    logprob_ids: str | None = key("logprobs.ids", None, check=_path)  # path of ids inside the logprobs
    logprob_fields: dict[str, Any] = key("logprobs.fields", {})
    logprob_token: str = key("logprobs.token", "text", choices={"text", "token_id", "token_id_string"})
    # further response keys the opt-in adds beside the ids (Dynamo's nvext.engine_data): a vanilla
    # client must not see them, and they may differ between the plain and the opt-in response
    extension_keys: tuple[str, ...] = key("extension_keys", (), check=lambda v: next(filter(None, map(_path, v)), None))
    # where it was loaded from, and the profile as written (variants)
    source: str = ""
    raw: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.unset_keys is None:  # `unset_keys: null` in YAML, as `unrequested: null`
            self.unset_keys = "null"
        self.request_headers = {str(k).lower(): str(v) for k, v in self.request_headers.items()}
        if self.stream_request_headers is not None:
            self.stream_request_headers = {str(k).lower(): str(v) for k, v in self.stream_request_headers.items()}

    # -- requests ---------------------------------------------------------------
    def with_ids(self, body: dict[str, Any], nonstream_optin: bool = False) -> dict[str, Any]:
        """The request body with this dialect's opt-in merged in (the stream opt-in for a
        stream request, when the dialect asks for streamed ids differently, unless
        `nonstream_optin`: a stream asking the way only non-stream requests may)."""
        fields = self.request_fields
        if body.get("stream") and self.stream_request_fields is not None and not nonstream_optin:
            fields = self.stream_request_fields
        return _deep_merge(body, fields)

    def opt_in_headers(self, stream: bool) -> dict[str, str]:
        if stream and self.stream_request_headers is not None:
            return dict(self.stream_request_headers)
        return dict(self.request_headers)

    @property
    def prompt_from_request(self) -> bool:
        """The dialect does not echo prompt ids: they are the ones the client sent."""
        return is_request_path(self.nonstream_prompt)

    # -- non-stream responses ----------------------------------------------------
    @reads_shape
    def prompt_ids(self, response: dict[str, Any], choice: int = 0, request: dict | None = None) -> Any:
        return resolve(response, self.nonstream_prompt, choice, request) if self.nonstream_prompt else MISSING

    @reads_shape
    def completion_ids(self, response: dict[str, Any], choice: int = 0) -> Any:
        return resolve(response, self.nonstream_completion, choice) if self.nonstream_completion else MISSING

    @reads_shape
    def usage(self, response: dict[str, Any], choice: int = 0) -> Any:
        """The object holding prompt_tokens / completion_tokens (`usage`, or SGLang's meta_info)."""
        return resolve(response, self.nonstream_usage, choice)

    @reads_shape
    def completion_counts(self, response: dict[str, Any], choice: int = 0) -> list[tuple[str, Any]]:
        """(path, value) of every further count the dialect promises equals len(completion ids)."""
        return [(p, resolve(response, p, choice)) for p in self.nonstream_counts]

    # -- streams -----------------------------------------------------------------
    @reads_shape
    def stream_ids(self, chunks: list[dict[str, Any]], choice: int = 0, request: dict | None = None) -> StreamIds:
        """Ids per chunk for one choice index. A chunk counts for the index if one of its
        choices has that index, or if it has no choices (trailing/usage chunks). Chunks with
        choices always count for completion ids (an absent key is a chunk without ids); a
        chunk without choices counts only where it carries them (the trailing chunk)."""
        found = StreamIds(mode=self.stream_mode)
        if is_request_path(self.stream_prompt):
            value = resolve({}, self.stream_prompt, choice, request)
            if value is not MISSING and value is not None:
                found.prompt.append((None, value))
        for pos, chunk in enumerate(chunks):
            choices = chunk.get("choices") or []
            indices = {c.get("index", 0) for c in choices if isinstance(c, dict)}
            if choices and choice not in indices:
                continue
            if self.stream_prompt and not is_request_path(self.stream_prompt):
                value = resolve(chunk, self.stream_prompt, choice)
                if value is not MISSING and value is not None:
                    found.prompt.append((pos, value))
            if not self.stream_completion:
                continue
            value = resolve(chunk, self.stream_completion, choice)
            if self.shape == "generate" or choices or (value is not MISSING and value is not None):
                found.completion.append((pos, value))
        return found

    @reads_shape
    def stream_usage_of(self, chunks: list[dict[str, Any]], choice: int = 0) -> Any:
        """The last usage object of the stream (a usage chunk, or the last chunk's meta_info)."""
        for chunk in reversed(chunks):
            value = resolve(chunk, self.stream_usage, choice)
            if isinstance(value, dict) and value:
                return value
        return None

    def has(self, feature: str) -> bool:
        """A declared feature, or one the profile implies: `n.<n>`, `stream.<mode>`, and
        `ids.per_chunk` for the modes whose chunks carry their own ids (delta, cumulative)."""
        if feature == "ids.per_chunk" and self.stream_mode in ("delta", "cumulative"):
            return True
        return feature in self.features or feature in (f"n.{self.n}", f"stream.{self.stream_mode}")

    def extension_paths(self) -> list[str]:
        """Every place this dialect puts ids in a response or chunk (what a vanilla client must not see)."""
        paths = [self.nonstream_prompt, self.nonstream_completion, self.stream_prompt, self.stream_completion,
                 *self.extension_keys]
        return list(dict.fromkeys(p for p in paths if p))


def from_profile(raw: dict[str, Any], source: str) -> Dialect:
    """A Dialect from a profile mapping; a wrong key, type or value names itself and the file."""
    return build(Dialect, raw, f"dialect profile {source}", extra_keys={"variants"}, source=source, raw=raw)


def describe_request(d: Dialect) -> tuple[str, str]:
    """(endpoint and shape, the opt-in) in words, for `tokconf dialects` and `tokconf probe`."""
    where = f"POST {d.endpoint}"
    if d.sends_prompt:
        where += f" ({d.sends_prompt} rendered by the client)"
    asks = ", ".join([*d.request_fields, *(f"header {h}" for h in d.request_headers)]) or "always on"
    if d.stream_request_fields is not None and d.stream_request_fields != d.request_fields:
        asks += f"; streams: {', '.join(d.stream_request_fields) or 'always on'}"
    if d.side_fetch:
        asks = f"a side channel: GET {d.side_fetch} after the reply"
    return where, asks


def builtin_names() -> list[str]:
    return sorted(p.stem for p in dialect_profiles_dir().glob("*.yaml"))


def load_dialect(name_or_path: str) -> Dialect:
    """A shipped dialect by name, or a user's profile file by path. `NAME:VARIANT` picks one of
    the profile's `variants` (a server flag that changes the wire, e.g. sglang-generate:incremental)."""
    variant = None
    if ":" in name_or_path and not Path(name_or_path).exists():
        name_or_path, variant = name_or_path.rsplit(":", 1)
    path = Path(name_or_path)
    if not path.suffix:
        path = dialect_profiles_dir() / f"{name_or_path}.yaml"
        if not path.exists():
            raise UsageError(f"unknown dialect {name_or_path!r}; shipped: {', '.join(builtin_names())}")
    raw = read_document(path, "dialect profile")
    if not isinstance(raw, dict):
        raise UsageError(f"dialect profile {path} is not a mapping")
    variants = raw.get("variants") or {}
    if not isinstance(variants, dict) or not all(isinstance(v, dict) for v in variants.values()):
        raise UsageError(f"dialect profile {path}: variants must map each variant name to a mapping")
    for name, extra in variants.items():  # every variant is a valid profile too, named in the error
        if name != variant:
            from_profile({**_deep_merge(raw, extra), "name": f"{raw.get('name')}:{name}"}, f"{path} (variant {name})")
    if variant is not None:
        if variant not in variants:
            raise UsageError(f"dialect {raw.get('name', path.stem)} has no variant {variant!r}; "
                             f"it has: {', '.join(variants) or 'none'}")
        raw = _deep_merge(raw, variants[variant])
        raw["name"] = f"{raw['name']}:{variant}"
    return from_profile(raw, str(path))
