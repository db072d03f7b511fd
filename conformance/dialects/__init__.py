"""Token-id dialects: how an engine is asked for ids and where it puts them.

A dialect is data (a profile in profiles/*.yaml, or a user's file given by path); the
Dialect class below is the single interface the checks read ids through, so a new engine's
dialect never touches the checks.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from conformance.errors import UsageError
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


@dataclass
class Dialect:
    name: str
    title: str
    request_fields: dict[str, Any]
    nonstream_prompt: str | None
    nonstream_completion: str | None
    stream_mode: str
    stream_prompt: str | None
    stream_completion: str | None
    eos_in_completion_ids: bool
    n: str
    unrequested: str | None
    features: frozenset[str]
    source: str
    raw: dict[str, Any]
    # how a case becomes a request (see profiles/sglang-generate.yaml for the non-chat shape)
    stream_request_fields: dict[str, Any] | None = None  # opt-in for stream requests, when it differs
    request_headers: dict[str, str] = field(default_factory=dict)  # opt-in sent as HTTP headers
    stream_request_headers: dict[str, str] | None = None  # for stream requests, when they differ
    endpoint: str = CHAT_ENDPOINT
    shape: str = "chat"  # "chat": OpenAI messages; "generate": a client-rendered prompt
    sends_prompt: str | None = None  # request field the client-rendered prompt goes into, if any
    prompt_as: str = "ids"  # "ids" or "text": what the client-rendered prompt is sent as
    sampling_params_key: str | None = None  # generate: sampling params nest under this key
    param_names: dict[str, str] = field(default_factory=dict)  # case param -> request field
    stream_usage_option: bool = True  # add stream_options.include_usage to stream requests
    token_in: str | None = None  # request field that carries prompt ids instead of messages
    parses_tool_calls: bool = True  # False: raw text endpoint, tool-call markup stays in the text
    logprob_ids: str | None = None  # path of the ids inside the logprobs, where they carry ids
    # where the reply and its counts are when the response is not a chat completion
    nonstream_usage: str = "usage"
    nonstream_counts: tuple[str, ...] = ()  # more completion counts that must equal len(ids)
    nonstream_text: str | None = None
    nonstream_finish: str | None = None
    stream_usage: str = "usage"
    stream_text: str | None = None
    stream_finish: str | None = None
    stream_chunk_id: str = "id"  # the key every chunk of one completion shares
    # logprobs: request fields that make each entry name its token id, and how entries name it
    # ("token_id_string": `token` is "token_id:N"; "token_id": an int `token_id` key; "text")
    logprob_fields: dict[str, Any] = field(default_factory=dict)
    logprob_token: str = "text"
    # token in: the messages sent with the prompt ids (placeholders: the server must use the ids)
    token_in_messages: list[dict[str, Any]] = field(default_factory=list)
    # further response keys the opt-in adds beside the ids (Dynamo's nvext.engine_data): a vanilla
    # client must not see them, and they may differ between the plain and the opt-in response
    extension_keys: tuple[str, ...] = ()

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
    def prompt_ids(self, response: dict[str, Any], choice: int = 0, request: dict | None = None) -> Any:
        return resolve(response, self.nonstream_prompt, choice, request) if self.nonstream_prompt else MISSING

    def completion_ids(self, response: dict[str, Any], choice: int = 0) -> Any:
        return resolve(response, self.nonstream_completion, choice) if self.nonstream_completion else MISSING

    def usage(self, response: dict[str, Any], choice: int = 0) -> Any:
        """The object holding prompt_tokens / completion_tokens (`usage`, or SGLang's meta_info)."""
        return resolve(response, self.nonstream_usage, choice)

    def completion_counts(self, response: dict[str, Any], choice: int = 0) -> list[tuple[str, Any]]:
        """(path, value) of every further count the dialect promises equals len(completion ids)."""
        return [(p, resolve(response, p, choice)) for p in self.nonstream_counts]

    def reply(self, response: dict[str, Any], choice: int = 0):
        from conformance.checking.replies import Reply, reply_from_response

        if self.nonstream_text is None:
            return reply_from_response(response, choice)
        text = resolve(response, self.nonstream_text, choice)
        finish = resolve(response, self.nonstream_finish, choice) if self.nonstream_finish else None
        return Reply(text if isinstance(text, str) else "", [], finish or None)

    # -- streams -----------------------------------------------------------------
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

    def stream_usage_of(self, chunks: list[dict[str, Any]], choice: int = 0) -> Any:
        """The last usage object of the stream (a usage chunk, or the last chunk's meta_info)."""
        for chunk in reversed(chunks):
            value = resolve(chunk, self.stream_usage, choice)
            if isinstance(value, dict) and value:
                return value
        return None

    def stream_reply(self, chunks: list[dict[str, Any]], choice: int = 0):
        from conformance.checking.replies import Reply, reply_from_stream

        if self.stream_text is None:
            return reply_from_stream(chunks, choice)
        texts = [resolve(c, self.stream_text, choice) for c in chunks]
        texts = [t for t in texts if isinstance(t, str)]
        text = (texts[-1] if texts else "") if self.stream_mode == "cumulative" else "".join(texts)
        finishes = [resolve(c, self.stream_finish, choice) for c in chunks] if self.stream_finish else []
        finish = next((f for f in reversed(finishes) if f not in (None, MISSING)), None)
        return Reply(text, [], finish)

    def has(self, feature: str) -> bool:
        """A declared feature, or one the profile implies: `n.<n>` and `stream.<mode>`."""
        return feature in self.features or feature in (f"n.{self.n}", f"stream.{self.stream_mode}")

    def extension_paths(self) -> list[str]:
        """Every place this dialect puts ids in a response or chunk (what a vanilla client must not see)."""
        paths = [self.nonstream_prompt, self.nonstream_completion, self.stream_prompt, self.stream_completion,
                 *self.extension_keys]
        return list(dict.fromkeys(p for p in paths if p))


def from_profile(raw: dict[str, Any], source: str) -> Dialect:
    try:
        stream = raw.get("stream") or {}
        nonstream = raw.get("nonstream") or {}
        request = raw.get("request") or {}
        mode = stream.get("mode", "rejected")
        if mode not in STREAM_MODES:
            raise UsageError(f"dialect {source}: stream.mode {mode!r} is not one of {sorted(STREAM_MODES)}")
        shape = request.get("shape", "chat")
        if shape not in SHAPES:
            raise UsageError(f"dialect {source}: request.shape {shape!r} is not one of {sorted(SHAPES)}")
        paths = [nonstream.get("prompt_ids"), nonstream.get("completion_ids"), stream.get("prompt_ids"),
                 stream.get("completion_ids"), nonstream.get("usage"), nonstream.get("text"),
                 nonstream.get("finish_reason"), stream.get("usage"), stream.get("text"),
                 stream.get("finish_reason"), stream.get("chunk_id"), *(nonstream.get("counts") or []),
                 (raw.get("logprobs") or {}).get("ids"), (raw.get("token_in") or {}).get("field"),
                 *(raw.get("extension_keys") or [])]
        for path in filter(None, paths):
            parse(path)
        token_in = raw.get("token_in") or {}
        return Dialect(
            name=raw["name"],
            title=raw.get("title", raw["name"]),
            request_fields=request.get("fields") or {},
            nonstream_prompt=nonstream.get("prompt_ids"),
            nonstream_completion=nonstream.get("completion_ids"),
            stream_mode=mode,
            stream_prompt=stream.get("prompt_ids"),
            stream_completion=stream.get("completion_ids"),
            eos_in_completion_ids=bool(raw.get("eos_in_completion_ids", True)),
            n=raw.get("n", "per_choice"),
            unrequested=raw.get("unrequested", "omitted"),
            features=frozenset(raw.get("features") or ()),
            source=source,
            raw=raw,
            stream_request_fields=request.get("stream_fields"),
            request_headers={str(k).lower(): str(v) for k, v in (request.get("headers") or {}).items()},
            stream_request_headers=({str(k).lower(): str(v) for k, v in request["stream_headers"].items()}
                                    if request.get("stream_headers") is not None else None),
            endpoint=request.get("endpoint", CHAT_ENDPOINT),
            shape=shape,
            sends_prompt=request.get("sends_prompt"),
            prompt_as=request.get("prompt_as", "ids"),
            sampling_params_key=request.get("sampling_params"),
            param_names=dict(request.get("param_names") or {}),
            stream_usage_option=bool(request.get("stream_usage_option", shape == "chat")),
            token_in=token_in.get("field"),
            parses_tool_calls=bool(raw.get("parses_tool_calls", shape == "chat")),
            logprob_ids=(raw.get("logprobs") or {}).get("ids"),
            nonstream_usage=nonstream.get("usage", "usage"),
            nonstream_counts=tuple(nonstream.get("counts") or ()),
            nonstream_text=nonstream.get("text"),
            nonstream_finish=nonstream.get("finish_reason"),
            stream_usage=stream.get("usage", "usage"),
            stream_text=stream.get("text"),
            stream_finish=stream.get("finish_reason"),
            stream_chunk_id=stream.get("chunk_id", "id"),
            logprob_fields=(raw.get("logprobs") or {}).get("fields") or {},
            logprob_token=(raw.get("logprobs") or {}).get("token", "text"),
            token_in_messages=token_in.get("messages") or [{"role": "user", "content": "."}],
            extension_keys=tuple(raw.get("extension_keys") or ()),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"dialect profile {source} is invalid: {exc}") from exc


def describe_request(d: Dialect) -> tuple[str, str]:
    """(endpoint and shape, the opt-in) in words, for `tokconf dialects` and `tokconf probe`."""
    where = f"POST {d.endpoint}"
    if d.sends_prompt:
        where += f" ({d.sends_prompt} rendered by the client)"
    asks = ", ".join([*d.request_fields, *(f"header {h}" for h in d.request_headers)]) or "always on"
    if d.stream_request_fields is not None and d.stream_request_fields != d.request_fields:
        asks += f"; streams: {', '.join(d.stream_request_fields) or 'always on'}"
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
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read dialect profile {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise UsageError(f"dialect profile {path} does not parse: {exc}") from exc
    if not isinstance(raw, dict):
        raise UsageError(f"dialect profile {path} is not a mapping")
    if variant is not None:
        variants = raw.get("variants") or {}
        if variant not in variants:
            raise UsageError(f"dialect {raw.get('name', path.stem)} has no variant {variant!r}; "
                             f"it has: {', '.join(variants) or 'none'}")
        raw = _deep_merge(raw, variants[variant])
        raw["name"] = f"{raw['name']}:{variant}"
    return from_profile(raw, str(path))
