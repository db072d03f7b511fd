"""What the model replied, read the same way from a non-stream message and from stream deltas,
and the rule for how that reply relates to the decoded completion ids."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from conformance.checking.api import Fail, Inconclusive
from conformance.checking.tool_call_text import TextCall, absent_from_text, calls_in_text, same_call
from conformance.inputs.tool_markup import Family, family_of_template, load as load_markup

# The reasoning template's markers: the completion ids hold them (when the model writes them),
# the reply holds the text between them in a reasoning field.
THINK_OPEN, THINK_CLOSE = "<think>", "</think>"


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
    reasoning: str = ""  # what a reasoning parser split off (the text between the think markers)

    def as_text(self) -> str:
        """One comparable string: reasoning (between the think markers), content, then the tool
        calls as JSON. Two replies are the same answer only if all three agree."""
        calls = [{"name": c.name, "arguments": c.arguments} for c in self.tool_calls]
        if not self.reasoning:
            return self.content + (json.dumps(calls, sort_keys=True) if calls else "")
        # the whitespace at the reasoning/content join is the parser's (as in the decode rule):
        # one parser keeps the '\n\n' after </think> in a stream and drops it in a whole reply
        head = f"{THINK_OPEN}{self.reasoning.strip()}{THINK_CLOSE}"
        return head + self.content.lstrip() + (json.dumps(calls, sort_keys=True) if calls else "")

    def has_text(self) -> bool:
        """Whether there is anything to compare: an empty reply equals every other empty reply."""
        return bool(self.reasoning.strip() or self.content.strip() or self.tool_calls)


def _reasoning_of(obj: dict[str, Any], fields: tuple[str, ...]) -> str:
    """The reasoning in a message or delta: the first of the dialect's reasoning fields with text
    (where each engine puts it is profile data: nonstream.reasoning / stream.reasoning)."""
    for key in fields:
        value = obj.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def reply_from_response(response: dict[str, Any], choice: int, reasoning_fields: tuple[str, ...]) -> Reply:
    choices = response.get("choices") or []
    picked = next((c for c in choices if c.get("index", 0) == choice), None)
    if picked is None:
        raise Fail(f"the response has no choice with index {choice}", choices=len(choices))
    message = picked.get("message") or {}
    calls = [ToolCall.from_wire((tc.get("function") or {}).get("name", ""), (tc.get("function") or {}).get("arguments"))
             for tc in message.get("tool_calls") or []]
    return Reply(message.get("content") or "", calls, picked.get("finish_reason"), picked.get("stop_reason"),
                 _reasoning_of(message, reasoning_fields))


def reply_from_stream(chunks: list[dict[str, Any]], choice: int, reasoning_fields: tuple[str, ...]) -> Reply:
    reply = Reply()
    calls: dict[int, dict[str, str]] = {}
    for chunk in chunks:
        for c in chunk.get("choices") or []:
            if c.get("index", 0) != choice:
                continue
            delta = c.get("delta") or {}
            reply.content += delta.get("content") or ""
            reply.reasoning += _reasoning_of(delta, reasoning_fields)
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


def tool_family(tok: Any) -> Family | None:
    """The tool-call markup family the tokenizer's chat template writes (tool_markup.yaml), or None."""
    return family_of_template(getattr(tok, "chat_template", None))


def calls_in_decoded(tok: Any, ids: list[int], text: str, wanted: list[ToolCall],
                     where: str) -> tuple[str, list[TextCall]]:
    """(text outside the markup, calls) read from `text` (decoded from `ids`) by the grammar of the
    chat template's family, to compare with the parsed calls `wanted`. A wanted call whose name
    or an argument value is nowhere in the text is a FAIL whatever the markup (every family
    writes both as text): the ids do not hold that call. Markup tokconf cannot read is
    INCONCLUSIVE, naming the family or the reason: no known family, no grammar for it, call
    markup that does not parse, or call markers that are special tokens the decode skips.
    ([], text) when the ids hold no call markup at all."""
    for call in wanted:
        absent = absent_from_text(text, call.name, call.arguments)
        if absent:
            raise Fail(f"{where}: the decoded ids call {call.name!r} without {absent} (it is nowhere in them), the "
                       f"reply's tool_calls are {describe_calls(wanted)}", decoded=text)
    family = tool_family(tok)
    if family is None:
        known = ", ".join(f.name for f in load_markup().families)
        raise Inconclusive(f"{where}: the chat template shows none of the tool-call markups tokconf reads ({known}): "
                           "the decoded ids cannot be read as tool calls", decoded=text)
    if not family.forms:
        raise Inconclusive(f"{where}: tokconf has no grammar for the {family.name} tool-call markup the chat template "
                           "writes: the decoded ids cannot be read as tool calls", decoded=text)
    split = calls_in_text(family, text)
    if split is None or (not split[1] and family.call_marker in text):
        raise Inconclusive(f"{where}: the decoded ids hold {family.name} tool-call markup ({family.call_marker!r}) that "
                           "tokconf cannot parse", decoded=text, family=family.name)
    if not split[1] and family.call_marker not in tok.decode(ids) and \
            family.call_marker in tok.decode(ids, skip_special_tokens=False):
        raise Inconclusive(f"{where}: the {family.name} call marker {family.call_marker!r} is a special token the "
                           "decode (skip_special_tokens) drops: the calls cannot be read from the decoded text",
                           family=family.name)
    return split


def same_calls(found: list[TextCall], wanted: list[ToolCall]) -> bool:
    return len(found) == len(wanted) and all(same_call(f, w.name, w.arguments) for f, w in zip(found, wanted))


def describe_calls(calls: list[TextCall] | list[ToolCall]) -> list[tuple[str, Any]] | str:
    return [(c.name, c.arguments) for c in calls] if calls else "no tool (they hold no call markup)"


def held_back_tails(tok: Any, ids: list[int]) -> set[str]:
    """Text a detokenizer withholds for good when the decode ends in an incomplete UTF-8
    sequence (U+FFFD): the text of the trailing ids that carry incomplete bytes (each one's own
    decode holds U+FFFD), special tokens after them (the EOS) aside. In a production vocabulary
    that is more than a lone U+FFFD: one token can be a space plus the first bytes of an emoji,
    and the engine holds the whole token back. It happens at a max_tokens cut and also when the
    model ends at its EOS in the middle of a character (an untrained model does, on real vLLM)."""
    full = tok.decode(ids)
    if not full.endswith("\ufffd"):
        return set()
    end = len(ids)
    while end and ids[end - 1] in tok.special_ids:
        end -= 1
    start = end
    while start and "\ufffd" in tok.token_text(ids[start - 1]):
        start -= 1
    tails = set()
    for cut in range(start, end):
        head = tok.decode(ids[:cut])
        if full.startswith(head):
            tails.add(full[len(head):])
    return tails


def _strip_marker(text: str, marker: str) -> str:
    text = text.lstrip()
    return text[len(marker):].lstrip() if text.startswith(marker) else text


def _after_reasoning(decoded: str, reasoning: str) -> str | None:
    """The decoded text after the reply's reasoning and the think markers around it, or None if
    the decoded text does not begin with that reasoning. Whitespace at the joins is the parser's
    (it trims reasoning and content), so it is not compared; the markers are optional (a
    tokenizer that makes them special tokens drops them in the decode)."""
    body = _strip_marker(decoded, THINK_OPEN)
    want = reasoning.strip()
    if not body.startswith(want):
        return None
    return _strip_marker(body[len(want):], THINK_CLOSE)


# a reasoning closed at once: `<think></think>`, `<think>\n\n</think>`, or a lone `</think>` when the
# template's generation prompt opened it; the parser then gives an empty (or no) reasoning field
EMPTY_THINK = re.compile(r"\s*(?:" + re.escape(THINK_OPEN) + r")?\s*" + re.escape(THINK_CLOSE))


def _after_empty_reasoning(decoded: str) -> str | None:
    """The decoded text after an empty think block at its start, or None if it has none."""
    found = EMPTY_THINK.match(decoded)
    return decoded[found.end():].lstrip() if found else None


def content_in_decoded(decoded: str, reply: Reply) -> str | None:
    """The part of the decoded completion ids that stands for the reply's content (and tool
    calls): all of it without a reasoning field (after an empty think block, if any), else what
    follows the reasoning and its markers (None if the decoded text does not begin with it)."""
    if reply.reasoning:
        return _after_reasoning(decoded, reply.reasoning)
    empty = _after_empty_reasoning(decoded)
    return decoded if empty is None or decoded == reply.content else empty


def _strip_empty_reasoning(tok: Any, ids: list[int], decoded: str) -> str | None:
    """The decoded text after an empty think block, or None: read in the text when the markers
    decode, or by id when they are special tokens the decode skips (then only whitespace may
    stand before `</think>`, so a reply that merely lost leading whitespace is not excused)."""
    rest = _after_empty_reasoning(decoded)
    if rest is not None:
        return rest
    close = tok.marker_id(THINK_CLOSE) if hasattr(tok, "marker_id") else None
    if close is None or close not in ids or close not in tok.special_ids:
        return None
    at = ids.index(close)
    return tok.decode(ids[at + 1:]).lstrip() if not tok.decode(ids[:at]).strip() else None


def ids_past_stop(tok: Any, ids: list[int], reply: Reply, content: str, stops: list[str]) -> list[int]:
    """The ids after the one that completes the stop string the text stopped at: a token whose
    text starts inside the stop string is its own (it may carry more text after it); one after
    it is not (vLLM PR #47616: spec decoding accepted tokens past the stop and kept their ids)."""
    def stopped(k: int) -> bool:
        text = content_in_decoded(tok.decode(ids[:k]), reply)
        return text is not None and any(text.startswith(content + s) for s in stops)

    end = len(ids)
    while end > 1 and stopped(end - 1):
        end -= 1
    return ids[end:]


def check_decoded_matches(tok: Any, ids: list[int], reply: Reply, stop_strings: list[str], where: str) -> None:
    """The decode round-trip rule: decode(completion_ids, skip_special_tokens=True) is the
    reply, read as reasoning + content (+ tool-call markup).

    - Reasoning: with a reasoning parser the reply's reasoning field (the dialect profile's:
      vLLM `reasoning`, SGLang `reasoning_content`) holds the text between the template's think markers, `content` the rest; the
      ids hold both. So the decoded text must begin with the reasoning (after an optional
      `<think>`), then an optional `</think>`, then the content as below; whitespace at those
      joins is the parser's and is not compared. Cut by max_tokens inside the reasoning, the
      reasoning is compared as the content would be (held-back rule below).
    - EOS and other special tokens: the ids may end with the EOS that stopped generation;
      decoding skips special tokens, so they never count against the text.
    - Stop strings: the text is cut before the matched stop string while the ids keep the
      tokens that formed it. So when a stop string matched, the decoded text must be the
      content followed by that stop string (and possibly the rest of its last token), and the
      ids end at the token that completes it: ids after it are "ids past a stop string".
    - Tool calls: tool-call markup stays in the ids (tool-call tokens are not special), while
      the parser moves it out of `content`. The decoded text, read by the grammar of the chat
      template's markup family (tool_markup.yaml: hermes, Qwen3-Coder XML, Mistral, Llama-3
      JSON, DeepSeek, GLM, Kimi, Harmony), must then hold calls whose names and arguments equal
      the parsed tool calls, and the text outside the calls must equal the content
      (surrounding whitespace ignored: parsers trim it). Markup it cannot read is INCONCLUSIVE.
    - The last ids decode to an incomplete UTF-8 sequence (cut by max_tokens, or an EOS in the
      middle of a character): the detokenizer holds back the text of those trailing ids for
      good (a lone U+FFFD, or a whole token such as a space plus an emoji's first bytes), so
      the text may lack it; nothing else may be missing.
    - Otherwise the decoded text must equal the content exactly.
    """
    decoded = tok.decode(ids)
    held = held_back_tails(tok, ids)
    content = reply.content
    if reply.reasoning:
        body, want = _strip_marker(decoded, THINK_OPEN), reply.reasoning.strip()
        if not content and not reply.tool_calls and \
                any(body.endswith(t) and body[:-len(t)].rstrip() == want for t in held if t):
            return  # ended inside the reasoning, the incomplete tail held back
        rest = _after_reasoning(decoded, reply.reasoning)
        if rest is None:
            raise Fail(f"{where}: the decoded ids do not begin with the reply's reasoning: decoded {decoded!r}, "
                       f"reasoning {reply.reasoning!r}", decoded=decoded, reasoning=reply.reasoning,
                       content=content)
        decoded = rest
        content = content.lstrip()
    elif decoded != content:
        # no reasoning field: the model may have closed its reasoning at once, the parser then
        # gives `content` what follows `</think>` (join whitespace the parser's, as above)
        rest = _strip_empty_reasoning(tok, ids, decoded)
        if rest is not None:
            decoded, content = rest, content.lstrip()
    if reply.tool_calls:
        outside, calls = calls_in_decoded(tok, ids, decoded, reply.tool_calls, where)
        if not same_calls(calls, reply.tool_calls):
            raise Fail(f"{where}: the decoded ids call {describe_calls(calls)}, the reply's tool_calls are "
                       f"{describe_calls(reply.tool_calls)}", decoded=decoded)
        if outside.strip() != content.strip():
            raise Fail(f"{where}: decoded text outside the tool calls is {outside.strip()!r}, content is "
                       f"{content.strip()!r}", decoded=decoded)
        return
    if decoded == content:
        return
    if held and decoded.startswith(content) and decoded[len(content):] in held:
        return  # cut mid-character: the detokenizer never releases the incomplete bytes the ids keep
    if reply.finish_reason == "stop" and stop_strings and decoded.startswith(content):
        rest = decoded[len(content):]
        if any(rest.startswith(s) for s in stop_strings):
            past = ids_past_stop(tok, ids, reply, content, stop_strings)
            if past:
                raise Fail(f"{where}: ids past a stop string: the text stops at a stop string of {stop_strings}, but "
                           f"{len(past)} ids follow the one that completes it ({tok.decode(past)!r}): the engine "
                           "trimmed the text, not the ids (several tokens accepted in one step)",
                           decoded=decoded, content=content, ids_past_stop=past)
            return
    raise Fail(f"{where}: decoded ids give {decoded!r}, the text is {content!r}", decoded=decoded,
               content=content, **({"reasoning": reply.reasoning} if reply.reasoning else {}))
