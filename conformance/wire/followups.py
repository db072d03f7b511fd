"""Follow-up requests: requests built from the reply to an earlier request of the same case.

- next_turn: the conversation continued. The assistant message is the reply as an RL client
  appends it (content, tool calls, reasoning), then the case's `followup` messages; a tool
  message without `tool_call_id` answers the reply's first tool call.
- token_in: the same request with the server's own prompt ids in the dialect's token-in field
  and placeholder messages, so a server that ignored the ids would visibly answer another prompt.
- token_in_swapped: the case's own messages with the placeholder prompt's ids (from the reply to
  placeholder_nonstream) in the token-in field: ids that differ from what the messages render, so
  the reply shows which of the two the server followed.

When there is nothing to build on, NoFollowup (a wire-level error, no verdict).
"""
from __future__ import annotations

import copy
from typing import Any

from conformance.inputs.cases import Case
from conformance.dialects import Dialect
from conformance.dialects.paths import parse
from conformance.wire.exchange import Exchange
from conformance.wire.requests import VARIANTS, RequestSpec, build_body, request_spec



class NoFollowup(Exception):
    """The base reply (or the case, or the dialect) gives nothing to build this follow-up from.
    The checking layer reads it as INCONCLUSIVE (conformance.running.target)."""


REPLY_KEYS = ("content", "tool_calls")  # what a client sends back, with the dialect's reasoning fields


def assistant_message(response: dict[str, Any], reasoning_fields: tuple[str, ...]) -> dict[str, Any]:
    choices = response.get("choices") or []
    if not choices or not isinstance(choices[0].get("message"), dict):
        raise NoFollowup("the reply holds no message to continue the conversation from")
    message = choices[0]["message"]
    out: dict[str, Any] = {"role": "assistant"}
    for key in (*REPLY_KEYS, *reasoning_fields):
        if message.get(key) not in (None, [], ""):
            out[key] = copy.deepcopy(message[key])
    out.setdefault("content", message.get("content"))
    return out


def next_turn_messages(case: Case, response: dict[str, Any], dialect: Dialect) -> list[dict[str, Any]]:
    if not case.followup:
        raise NoFollowup(f"case {case.id} declares no `followup` messages")
    reply = assistant_message(response, dialect.nonstream_reasoning)
    call_ids = [tc.get("id") for tc in reply.get("tool_calls") or []]
    later = []
    for message in copy.deepcopy(list(case.followup)):
        if message["role"] == "tool" and "tool_call_id" not in message:
            if not call_ids:
                raise NoFollowup("the case's follow-up answers a tool call but the reply made none "
                                   f"(it answered {str(reply.get('content'))[:60]!r})")
            message["tool_call_id"] = call_ids[0]
        later.append(message)
    return [*copy.deepcopy(case.messages), reply, *later]


def set_path(body: dict[str, Any], path: str, value: Any) -> None:
    """Set `value` at a dotted key path, creating the objects on the way (request bodies only)."""
    steps = parse(path)
    if any(kind != "key" for kind, _ in steps):
        raise ValueError(f"a token-in field is a path of keys, not {path!r}")
    node = body
    for _, key in steps[:-1]:
        node = node.setdefault(key, {})
    node[steps[-1][1]] = value


def build_followup(case: Case, variant: str, dialect: Dialect, model: str, base: Exchange,
                   tokenizer=None, attempt: int = 0) -> RequestSpec:
    v = VARIANTS[variant]
    if dialect.shape != "chat":
        raise NoFollowup(f"dialect {dialect.name} is not a chat dialect: no {variant} request")
    response = base.ok().json
    if variant == "next_turn":
        body = build_body(case, v, dialect, model, tokenizer, messages=next_turn_messages(case, response, dialect))
    elif variant in ("token_in", "token_in_swapped"):
        if not dialect.token_in:
            raise NoFollowup(f"dialect {dialect.name} declares no token-in field")
        prompt = dialect.prompt_ids(response, request=base.request)
        swapped = variant == "token_in_swapped"
        if not isinstance(prompt, list) or not prompt:
            raise NoFollowup("the placeholder prompt's reply carries no prompt ids to send with other messages"
                             if swapped else "the non-stream reply carries no prompt ids to send back")
        # token_in: the server's own prompt ids beside the dialect's placeholder messages;
        # token_in_swapped: another prompt's ids beside the case's own messages (and tools)
        body = build_body(case, v, dialect, model, tokenizer, messages=None if swapped else dialect.token_in_messages)
        set_path(body, dialect.token_in, list(prompt))
    else:
        raise ValueError(f"no follow-up builder for variant {variant!r}")
    label = f"{case.id}/{variant}" + (f"#{attempt}" if attempt else "")
    return request_spec(dialect, v, body, label, attempt)
