"""Tool calls read from decoded completion text by a family's grammar (tool_markup.yaml), and
compared with the calls an engine's tool parser returned.

    calls_in_text(family, text) -> (text outside the markup, [TextCall, ...]), or None when a
                                    call the grammar found does not parse
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from conformance.inputs.tool_markup import Family, Form


@dataclass(frozen=True)
class TextCall:
    name: str
    arguments: Any
    # parameter markup (<parameter=k>v, <arg_key>): values are text the engine types from the
    # tool's schema (3 or "3"), which the text alone cannot tell
    untyped: bool = False

    def pair(self) -> tuple[str, Any]:
        return self.name, self.arguments


def _call_object(obj: Any) -> TextCall | None:
    """{name, arguments} (Llama: parameters) as the engines' JSON parsers read it."""
    if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
        return None
    return TextCall(obj["name"], obj.get("arguments", obj.get("parameters", {})))


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def _calls_of_match(form: Form, groups: dict[str, str]) -> list[TextCall] | None:
    if "call" in groups:
        call = _call_object(_json(groups["call"]))
        return [call] if call else None
    if "list" in groups:
        objs = _json(groups["list"])
        calls = [_call_object(o) for o in objs] if isinstance(objs, list) else [None]
        return None if None in calls else calls
    name = groups["name"].strip()
    if form.args == "parameters":
        params = {m["key"].strip(): m["value"] for m in form.param.finditer(groups["args"])}
        return [TextCall(name, params, untyped=True)] if name else None
    args = _json(groups["args"].strip() or "{}")
    return [TextCall(name, args)] if name and args is not None else None


def calls_in_text(family: Family, text: str) -> tuple[str, list[TextCall]] | None:
    """The first of the family's forms that matches reads every call; the matched spans and the
    envelope markers are markup, the rest is the text outside the calls. ([], text) when no form
    matches; None when a matched call does not parse."""
    for form in family.forms:
        matches = list(form.pattern.finditer(text))
        if not matches:
            continue
        calls: list[TextCall] = []
        for match in matches:
            found = _calls_of_match(form, {k: v for k, v in match.groupdict().items() if v is not None})
            if found is None:
                return None
            calls += found
        outside = form.pattern.sub("", text)
        for marker in family.envelope:
            outside = outside.replace(marker, "")
        return outside, calls
    return text, []


def _same_value(text_value: str, value: Any) -> bool:
    if isinstance(value, str):
        return text_value.strip() == value.strip()
    parsed = _json(text_value.strip())
    return parsed == value and parsed is not None or text_value.strip() == json.dumps(value)


def same_call(found: TextCall, name: str, arguments: Any) -> bool:
    if found.name != name:
        return False
    if not found.untyped:
        return found.arguments == arguments
    return isinstance(arguments, dict) and set(arguments) == set(found.arguments) and \
        all(_same_value(found.arguments[k], arguments[k]) for k in arguments)


def _leaves(value: Any):
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


def _spellings(leaf: Any) -> set[str]:
    """How a value can stand in a call's text, in any family's markup (JSON or bare text)."""
    if isinstance(leaf, str):
        return {leaf, json.dumps(leaf)[1:-1], json.dumps(leaf, ensure_ascii=False)[1:-1]}
    return {json.dumps(leaf), str(leaf)}  # true / True, null / None, 3.5


def absent_from_text(text: str, name: str, arguments: Any) -> str | None:
    """What of a parsed call is nowhere in the text (its name, or an argument value), whatever the
    markup: every family writes both as text, so ids lacking them cannot hold the call."""
    if name not in text:
        return f"the name {name!r}"
    for leaf in _leaves(arguments):
        if not any(s in text for s in _spellings(leaf)):
            return f"the argument value {leaf!r}"
    return None
