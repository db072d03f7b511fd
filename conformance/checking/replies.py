"""What the model replied, read the same way from a non-stream message and from stream deltas,
and the rule for how that reply relates to the decoded completion ids."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from conformance.checking.api import Fail, Inconclusive

HERMES_BLOCK = re.compile(r"<tool_call>\s*(\{.*?\})\s*</tool_call>", re.S)


@dataclass
class ToolCall:
    name: str
    arguments: Any  # parsed JSON when it parses, else the raw string

    @classmethod
    def from_wire(cls, name: str, arguments: str | None) -> "ToolCall":
        try:
            return cls(name, json.loads(arguments or "{}"))
        except json.JSONDecodeError:
            return cls(name, arguments)


@dataclass
class Reply:
    content: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    stop_reason: Any = None  # vLLM: the stop string or stop token id that matched

    def as_text(self) -> str:
        """One comparable string: content plus the tool calls, as JSON."""
        calls = [{"name": c.name, "arguments": c.arguments} for c in self.tool_calls]
        return self.content + (json.dumps(calls, sort_keys=True) if calls else "")


def reply_from_response(response: dict[str, Any], choice: int = 0) -> Reply:
    choices = response.get("choices") or []
    picked = next((c for c in choices if c.get("index", 0) == choice), None)
    if picked is None:
        raise Fail(f"the response has no choice with index {choice}", choices=len(choices))
    message = picked.get("message") or {}
    calls = [ToolCall.from_wire((tc.get("function") or {}).get("name", ""), (tc.get("function") or {}).get("arguments"))
             for tc in message.get("tool_calls") or []]
    return Reply(message.get("content") or "", calls, picked.get("finish_reason"), picked.get("stop_reason"))


def reply_from_stream(chunks: list[dict[str, Any]], choice: int = 0) -> Reply:
    reply = Reply()
    calls: dict[int, dict[str, str]] = {}
    for chunk in chunks:
        for c in chunk.get("choices") or []:
            if c.get("index", 0) != choice:
                continue
            delta = c.get("delta") or {}
            reply.content += delta.get("content") or ""
            for tc in delta.get("tool_calls") or []:
                slot = calls.setdefault(tc.get("index", 0), {"name": "", "arguments": ""})
                fn = tc.get("function") or {}
                slot["name"] += fn.get("name") or ""
                slot["arguments"] += fn.get("arguments") or ""
            if c.get("finish_reason") is not None:
                reply.finish_reason = c["finish_reason"]
                reply.stop_reason = c.get("stop_reason")
    reply.tool_calls = [ToolCall.from_wire(calls[k]["name"], calls[k]["arguments"]) for k in sorted(calls)]
    return reply


def tool_calls_in_text(text: str) -> tuple[str, list[ToolCall]] | None:
    """Split decoded text into (text outside the markup, hermes tool calls). None if a block
    does not hold a JSON object with a name."""
    calls = []
    for block in HERMES_BLOCK.findall(text):
        try:
            obj = json.loads(block)
        except json.JSONDecodeError:
            return None
        if not isinstance(obj, dict) or "name" not in obj:
            return None
        calls.append(ToolCall(obj["name"], obj.get("arguments", {})))
    return HERMES_BLOCK.sub("", text), calls


def check_decoded_matches(decoded: str, reply: Reply, stop_strings: list[str], where: str) -> None:
    """The decode round-trip rule. `decoded` is decode(completion_ids, skip_special_tokens=True).

    - EOS and other special tokens: the ids may end with the EOS that stopped generation;
      decoding skips special tokens, so they never count against the text.
    - Stop strings: the text is cut before the matched stop string while the ids keep the
      tokens that formed it. So when a stop string matched, the decoded text must be the
      content followed by that stop string (and possibly the rest of its last token).
    - Tool calls: tool-call markup stays in the ids (tool-call tokens are not special), while
      the parser moves it out of `content`. The decoded text must then hold hermes blocks
      whose names and arguments equal the parsed tool calls, and the text outside the
      blocks must equal the content (surrounding whitespace ignored: parsers trim it).
    - Cut by max_tokens in the middle of a multi-byte character: the detokenizer holds the
      incomplete bytes back for good, so the text may lack what decodes to U+FFFD at the end.
    - Otherwise the decoded text must equal the content exactly.
    """
    if reply.tool_calls:
        split = tool_calls_in_text(decoded)
        if split is None:
            raise Inconclusive(f"{where}: the reply has tool calls but the decoded ids hold no hermes "
                               f"tool-call markup that tokconf can parse", decoded=decoded)
        outside, calls = split
        if [(c.name, c.arguments) for c in calls] != [(c.name, c.arguments) for c in reply.tool_calls]:
            raise Fail(f"{where}: the decoded ids call {[(c.name, c.arguments) for c in calls]}, the reply's "
                       f"tool_calls are {[(c.name, c.arguments) for c in reply.tool_calls]}", decoded=decoded)
        if outside.strip() != reply.content.strip():
            raise Fail(f"{where}: decoded text outside the tool calls is {outside.strip()!r}, content is "
                       f"{reply.content.strip()!r}", decoded=decoded)
        return
    if decoded == reply.content:
        return
    if reply.finish_reason == "length" and decoded.startswith(reply.content) \
            and set(decoded[len(reply.content):]) == {"\ufffd"}:
        return  # cut mid-character: the detokenizer never releases the incomplete bytes the ids keep
    if reply.finish_reason == "stop" and stop_strings and decoded.startswith(reply.content):
        rest = decoded[len(reply.content):]
        if any(rest.startswith(s) for s in stop_strings):
            return
    raise Fail(f"{where}: decoded ids give {decoded!r}, the text is {reply.content!r}", decoded=decoded,
               content=reply.content)
