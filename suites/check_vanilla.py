"""Vanilla wire identity: a client that does not ask for ids sees the engine's ordinary OpenAI
responses (no extension keys, SDK-valid shapes, the unpatched engine's key set), and asking for
ids changes nothing but the extension keys."""
import copy

from conformance.checking.api import Fail, FaultProof, Inconclusive, check, skip
from conformance.checking.openai_models import chat_models
from conformance.dialects.paths import MISSING, is_request_path, remove, resolve
from conformance.inputs.keypaths import diff, key_paths, union_key_paths
from conformance.wire.store import MissingExchange
from conformance.checking.dialect_replies import stream_reply_of

# differ between responses or server processes; cached_tokens counts prefix-cache hits, which
# depend on what the server saw before (the opt-in request came after its plain twin)
VOLATILE = ("id", "created", "system_fingerprint", "usage.prompt_tokens_details.cached_tokens")


def _unrequested_violations(dialect, body, paths, where):
    """Extension keys present in a body that did not ask for them, beyond what the dialect declares:
    the engine's own vanilla nulls (`unrequested: null`), or, for a dialect whose ids are always on
    (`unrequested: always`), the ids themselves; a null there only where the dialect sends nulls
    for unset keys (`unset_keys: null`), never where it promises to drop them."""
    bad = []
    for path in paths:
        value = resolve(body, path)
        if value is MISSING:
            continue
        if value is None and dialect.unrequested is None:  # the engine's own vanilla null, declared
            continue
        if dialect.unrequested == "always" and (value is not None or dialect.unset_keys == "null"):
            continue
        bad.append(f"{where}: {path} = {'null' if value is None else str(value)[:60]}")
    return bad


def _require_chat(d):
    if d.shape != "chat" or d.sends_prompt:
        skip(f"dialect {d.name} is not a vanilla OpenAI chat request (it sends a client-rendered prompt)")


def _response_paths(*paths):
    return [p for p in paths if p and not is_request_path(p)]


@check("vanilla.no_extension_keys", needs=["plain_nonstream", "plain_stream"],
       caught_by=[
           FaultProof("plain.ids_without_optin", "hello", "choices[i].token_ids = [", variants=["plain_nonstream"]),
       ])
def check_no_extension_keys(target, case):
    """A request without the id opt-in gets none of the dialect's id keys, neither a value nor a
    null, except the nulls the dialect profile declares as the engine's own (`unrequested: null`).
    A dialect whose ids are always on (`unrequested: always`) may send them, but a key it has no
    value for (a chunk without prompt ids) is dropped, not null, unless it declares `unset_keys: null`."""
    d = target.dialect
    _require_chat(d)
    if d.unrequested == "always" and d.unset_keys == "null":
        skip(f"dialect {d.name} returns ids without being asked (unrequested: always) and sends unset keys as "
             "null (unset_keys: null): nothing a vanilla response must lack")
    ns_paths = _response_paths(d.nonstream_prompt, d.nonstream_completion, *d.extension_keys)
    st_paths = _response_paths(d.stream_prompt, d.stream_completion, *d.extension_keys)
    bad = _unrequested_violations(d, target.exchange(case, "plain_nonstream").ok().json, ns_paths, "non-stream")
    for pos, chunk in enumerate(target.exchange(case, "plain_stream").ok().stream.chunks):
        bad += _unrequested_violations(d, chunk, st_paths, f"chunk {pos}")
    if bad and d.unrequested == "always":
        raise Fail(f"dialect {d.name} drops a key it has no value for (unset_keys: omitted), but the response "
                   f"without an opt-in holds nulls: {'; '.join(bad[:5])}"
                   + (f" (+{len(bad) - 5} more)" if len(bad) > 5 else ""), violations=bad)
    if bad:
        allowed = "null" if d.unrequested is None else "absent"
        raise Fail(f"without the opt-in, id keys must be {allowed}; found {'; '.join(bad[:5])}"
                   + (f" (+{len(bad) - 5} more)" if len(bad) > 5 else ""), violations=bad)


def _validation_errors(model, body):
    from pydantic import ValidationError

    try:
        model.model_validate(body, strict=True)
    except ValidationError as exc:
        return [f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']} (got {str(e.get('input'))[:40]})"
                for e in exc.errors()[:5]]
    return []


@check("vanilla.openai_schema", needs=["plain_nonstream", "plain_stream"],
       caught_by=[
           FaultProof("stream.nonstandard_finish_reason", "hello", "finish_reason", variants=["plain_stream"]),
       ])
def check_openai_schema(target, case):
    """The vanilla response validates against the `openai` SDK's ChatCompletion model, and every
    chunk of the vanilla stream against ChatCompletionChunk (strict types; extra keys allowed)."""
    _require_chat(target.dialect)
    try:
        ChatCompletion, ChatCompletionChunk = chat_models()
    except ImportError:
        skip("the openai package is not installed")
    errors = [f"non-stream {e}" for e in _validation_errors(ChatCompletion, target.exchange(case, "plain_nonstream").ok().json)]
    stream = target.exchange(case, "plain_stream").ok().stream
    errors += [f"stream: {p}" for p in stream.problems]
    if not stream.done:
        errors.append("stream: no `data: [DONE]` terminator")
    for pos, chunk in enumerate(stream.chunks):
        errors += [f"chunk {pos} {e}" for e in _validation_errors(ChatCompletionChunk, chunk)]
    if errors:
        raise Fail(f"the vanilla response does not parse with the openai SDK: {'; '.join(errors[:4])}", errors=errors)


@check("vanilla.baseline", needs=["plain_nonstream", "plain_stream"],
       caught_by=[
           FaultProof("nonstream.adds_choice_key", "hello", "response add choices[].weight_version",
                      variants=["plain_nonstream"]),
       ])
def check_baseline(target, case):
    """The key paths of the vanilla response and stream equal those recorded from the unpatched
    engine (`tokconf baseline record`, compared with `verify --baseline FILE`); the failure names
    each added and missing key path."""
    _require_chat(target.dialect)
    if target.baseline is None:
        skip("no baseline given (verify --baseline FILE; record one with `tokconf baseline record`)")
    recorded = (target.baseline.get("cases") or {}).get(case.id)
    if not recorded:
        skip(f"the baseline has no entry for case {case.id}")
    problems, evidence = [], {}
    actual = {"plain_nonstream": key_paths(target.exchange(case, "plain_nonstream").ok().json),
              "plain_stream": union_key_paths(target.exchange(case, "plain_stream").ok().stream.chunks)}
    for variant, paths in actual.items():
        if variant not in recorded:
            continue
        added, missing = diff(paths, set(recorded[variant]))
        where = "response" if variant == "plain_nonstream" else "stream chunks"
        if added:
            problems.append(f"{where} add {', '.join(added)}")
        if missing:
            problems.append(f"{where} lack {', '.join(missing)}")
        evidence[variant] = {"added": added, "missing": missing}
    if problems:
        raise Fail(f"key paths differ from baseline {target.baseline.get('name', '')!r}: {'; '.join(problems)}",
                   **evidence)


def _without(body, paths):
    """The body without the extension keys and what differs between any two responses."""
    for path in list(paths) + list(VOLATILE):
        remove(body, path)
    for path in paths:  # an extension object left empty (Dynamo's `nvext`) was the opt-in's too
        parent = path.rsplit(".", 1)[0] if "." in path else None
        if parent and "[" not in parent and resolve(body, parent) == {}:
            remove(body, parent)
    for choice in body.get("choices") or []:
        for call in (choice.get("message") or {}).get("tool_calls") or []:
            call.pop("id", None)  # a fresh random id per response
    return body


def _differences(a, b, prefix=""):
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b), key=str):
            path = f"{prefix}.{key}" if prefix else str(key)
            if key not in a or key not in b:
                out.append(f"{path} only {'with' if key in b else 'without'} the opt-in")
            else:
                out += _differences(a[key], b[key], path)
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _differences(x, y, f"{prefix}[{i}]")]
    return [] if a == b else [f"{prefix}: {str(a)[:50]!r} without, {str(b)[:50]!r} with the opt-in"]


@check("vanilla.optin_equal.nonstream", needs=["plain_nonstream", "nonstream"], requires=["ids.nonstream"],
       case_filter=lambda case: case.is_greedy, model_output=True,
       caught_by=[
           FaultProof("nonstream.optin_leaks_special_tokens", "hello", "<|im_end|>", variants=["nonstream"]),
       ])
def check_optin_equal_nonstream(target, case):
    """Greedy: the response with the id opt-in equals the one without, apart from the extension
    keys (and the response id, timestamp and tool-call ids, which are fresh in every response)."""
    d = target.dialect
    _require_chat(d)
    if not d.request_fields:
        skip(f"dialect {d.name} has no opt-in: plain and opt-in requests are the same")
    paths = _response_paths(d.nonstream_prompt, d.nonstream_completion, *d.extension_keys)
    plain = _without(copy.deepcopy(target.exchange(case, "plain_nonstream").ok().json), paths)
    optin = _without(copy.deepcopy(target.exchange(case, "nonstream").ok().json), paths)
    diffs = _differences(plain, optin)
    if diffs:
        raise Fail(f"asking for ids changed the response: {'; '.join(diffs[:4])}", differences=diffs)


@check("vanilla.optin_equal.stream", needs=["plain_stream", "stream"], requires=["ids.stream"],
       case_filter=lambda case: case.is_greedy, model_output=True,
       caught_by=[
           FaultProof("stream.optin_leaks_special_tokens", "french", "<|im_end|>", variants=["stream"]),
       ])
def check_optin_equal_stream(target, case):
    """Greedy: the stream with the id opt-in gives the same text, tool calls, finish reason and
    usage as the stream without (the opt-in may add chunks that carry only ids). A difference is
    sent again, both ways, before it is blamed on the opt-in: a stream's text can depend on timing
    (SGLang's tool parser sees tokens batched into chunks differently from run to run), and a
    stream that differs from itself cannot tell what the opt-in changed (INCONCLUSIVE)."""
    d = target.dialect
    _require_chat(d)
    if not (d.request_fields if d.stream_request_fields is None else d.stream_request_fields):
        skip(f"dialect {d.name} has no opt-in: plain and opt-in requests are the same")
    plain = target.exchange(case, "plain_stream").ok().stream.chunks
    optin = target.exchange(case, "stream").ok().stream.chunks
    diffs = _stream_differences(d, plain, optin)
    if not diffs:
        return
    try:
        plain_again = target.exchange(case, "plain_stream", attempt=1).ok().stream.chunks
        optin_again = target.exchange(case, "stream", attempt=1).ok().stream.chunks
    except MissingExchange:  # a recording without the repeat: the one pair is all the evidence there is
        raise Fail(f"asking for ids changed the stream: {'; '.join(diffs)} (not repeated)", differences=diffs)
    unstable = [f"{what}: {'; '.join(changed)}" for what, first, again in
                (("without the opt-in", plain, plain_again), ("with the opt-in", optin, optin_again))
                if (changed := _stream_differences(d, first, again, "first", "repeat"))]
    if unstable:
        raise Inconclusive(f"the stream differs from itself when sent again ({'; '.join(unstable)}), so the "
                           f"difference with the opt-in ({'; '.join(diffs)}) cannot be blamed on it",
                           differences=diffs, unstable=unstable)
    raise Fail(f"asking for ids changed the stream: {'; '.join(diffs)} (the same on a repeat)", differences=diffs)


def _stream_differences(d, plain, optin, without="without", with_="with the opt-in") -> list[str]:
    """How two streams' text, finish reason and usage differ (empty: they agree)."""
    a, b = stream_reply_of(d, plain), stream_reply_of(d, optin)
    diffs = []
    if a.as_text() != b.as_text():
        x, y = a.as_text(), b.as_text()
        at = next((i for i, (p, q) in enumerate(zip(x, y)) if p != q), min(len(x), len(y)))
        diffs.append(f"text differs at character {at} after {x[max(0, at - 20):at]!r}: {x[at:at + 30]!r} {without}, "
                     f"{y[at:at + 30]!r} {with_}")
    if a.finish_reason != b.finish_reason:
        diffs.append(f"finish_reason {a.finish_reason!r} {without}, {b.finish_reason!r} {with_}")
    usage = [d.stream_usage_of(s) for s in (plain, optin)]
    if usage[0] != usage[1]:
        diffs.append(f"usage {usage[0]} {without}, {usage[1]} {with_}")
    return diffs
