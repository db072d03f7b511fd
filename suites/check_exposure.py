"""Exposure: the ids are there when asked for, are token ids, and agree with `usage`."""
from conformance.checking.api import Fail, FaultProof, check
from conformance.dialects.paths import MISSING
from conformance.checking.id_sequences import require_id_list


def _check_usage(usage, prompt_ids, completion_ids, where, name="usage"):
    """`name` is where the dialect keeps its counts (`usage`, SGLang /generate's `meta_info`)."""
    if not isinstance(usage, dict):
        raise Fail(f"{where}: no {name} object to compare the id counts with")
    if usage.get("prompt_tokens") != len(prompt_ids):
        raise Fail(f"{where}: {name}.prompt_tokens is {usage.get('prompt_tokens')} but there are "
                   f"{len(prompt_ids)} prompt ids", usage=usage)
    if usage.get("completion_tokens") != len(completion_ids):
        raise Fail(f"{where}: {name}.completion_tokens is {usage.get('completion_tokens')} but there are "
                   f"{len(completion_ids)} completion ids", usage=usage)


def _check_final_chunk(carrying, chunks):
    """Mode `final`: the accumulated ids arrive once, on the chunk that carries the finish_reason."""
    finishes = [pos for pos, chunk in enumerate(chunks) for c in chunk.get("choices") or []
                if c.get("index", 0) == 0 and c.get("finish_reason") is not None]
    promise = "the dialect sends all completion ids once, on the finish chunk"
    if not carrying:
        raise Fail(f"{promise}; no chunk carries them" + (f" (the finish chunk is {finishes[0]})" if finishes else ""))
    if len(carrying) > 1:
        total = sum(len(v) for _, v in carrying)
        repeated = all(v == carrying[-1][1] for _, v in carrying)
        how = ("the same list repeated on every one" if repeated else
               f"{total} ids in all: per-chunk ids, as a delta dialect (e.g. Dynamo 1.6.1's `dynamo`) streams them")
        raise Fail(f"{promise}; {len(carrying)} chunks carry them (positions {[p for p, _ in carrying]}): {how}",
                   positions=[p for p, _ in carrying], finish_chunks=finishes)
    pos = carrying[0][0]
    if pos not in finishes:
        raise Fail(f"{promise}; they arrive on chunk {pos}, the finish chunk is "
                   f"{finishes[0] if finishes else 'missing'}", position=pos, finish_chunks=finishes)


def _check_stream_shape(d, found, chunks):
    """What the dialect's stream mode promises about which chunks carry ids."""
    carrying = [(pos, v) for pos, v in found.completion if isinstance(v, list)]
    if d.stream_mode == "final":
        _check_final_chunk(carrying, chunks)
    if d.stream_mode == "trailing" and len(carrying) != 1:
        raise Fail(f"the dialect sends completion ids once, on a trailing chunk; {len(carrying)} chunks carry "
                   f"them (positions {[p for p, _ in carrying]})")
    if d.stream_mode == "cumulative":
        for (prev_pos, prev), (pos, ids) in zip(carrying, carrying[1:]):
            if ids[:len(prev)] != prev or len(ids) < len(prev):
                raise Fail(f"the dialect streams cumulative ids, but chunk {pos}'s ids do not extend chunk "
                           f"{prev_pos}'s (deltas sent where cumulative ids are declared?)",
                           previous=prev[:50], chunk=ids[:50])


def _check_echo(d, prompt, request):
    """A dialect that sends the client-rendered prompt as ids AND reads prompt ids from the reply
    (Miles' SGLang patch: `input_token_ids` with `logprob_start_len: 0`) must get those ids back."""
    if not (d.sends_prompt and d.prompt_as == "ids") or d.prompt_from_request:
        return
    sent = (request or {}).get(d.sends_prompt)
    if prompt != sent:
        at = next((k for k, (a, b) in enumerate(zip(prompt, sent or [])) if a != b), min(len(prompt), len(sent or [])))
        raise Fail(f"the prompt ids echoed ({d.nonstream_prompt}, {len(prompt)} ids) are not the {len(sent or [])} "
                   f"ids sent in {d.sends_prompt}: they differ from position {at} on", echoed=prompt[:50], sent=(sent or [])[:50])


@check("exposure.nonstream", needs=["nonstream"], requires=["ids.nonstream"],
       caught_by=[
           FaultProof("nonstream.drop_eos", "hello", "usage.completion_tokens"),
           FaultProof("nonstream.null_completion_ids", "hello", "is null"),
           FaultProof("nonstream.string_ids", "hello", "not an int"),
           FaultProof("nonstream.usage_off_by_one", "hello", "usage.completion_tokens"),
           FaultProof("nonstream.prompt_ids_missing", "hello", "prompt ids"),
           FaultProof("nonstream.float_ids", "hello", "(float), not an int"),
           FaultProof("nonstream.null_completion_ids", "hello", "nvext.completion_token_ids) is null", on="dynamo"),
           FaultProof("nonstream.usage_off_by_one", "haiku", "usage.completion_tokens", on="dynamo"),
       ])
def check_exposure_nonstream(target, case):
    """A non-stream response carries prompt and completion ids as lists of non-negative ints,
    and usage.prompt_tokens / usage.completion_tokens (and any further count the dialect
    declares, e.g. Miles' meta_info.completion_tokens) equal their lengths. Where the dialect
    never echoes prompt ids (token-in), they are the ids sent and usage must count exactly those;
    where it sends them AND echoes them, the echo equals the ids sent."""
    ex = target.exchange(case, "nonstream").ok()
    body = ex.json
    d, vocab = target.dialect, None  # the vocabulary is checked where ids are decoded (decode.*)
    prompt = require_id_list(d.prompt_ids(body, request=ex.request), f"prompt ids ({d.nonstream_prompt})", vocab)
    completion = require_id_list(d.completion_ids(body), f"completion ids ({d.nonstream_completion})", vocab)
    if not prompt:
        raise Fail("the prompt ids are an empty list")
    if not completion:
        raise Fail("the completion ids are an empty list")
    _check_echo(d, prompt, ex.request)
    _check_usage(d.usage(body), prompt, completion, "non-stream", d.nonstream_usage)
    for path, count in d.completion_counts(body):
        if count != len(completion):
            raise Fail(f"non-stream: {path} is {count!r} but there are {len(completion)} completion ids "
                       f"({d.nonstream_completion})", count=count)


@check("exposure.stream", needs=["stream"], requires=["ids.stream"],
       caught_by=[
           FaultProof("stream.drop_eos", "hello", "usage.completion_tokens"),
           FaultProof("stream.prompt_ids_missing", "hello", "no chunk carries prompt ids"),
           FaultProof("stream.cumulative_as_delta", "hello", "usage.completion_tokens"),
           FaultProof("stream.drop_ids_on_empty_delta", "haiku", "usage.completion_tokens"),
           FaultProof("stream.ids_stripped", "hello", "ids", variants=["stream"]),
           FaultProof("stream.cut_before_done", "hello", "without `data: [DONE]`"),
           FaultProof("stream.broken_data_line", "hello", "malformed stream"),
           FaultProof("stream.negative_pad_id", "hello", "= -1 is negative"),
           FaultProof("stream.synthetic_final_repeats_ids", "hello", "usage.completion_tokens is 14 but there are 15",
                      on="dynamo"),
           FaultProof("stream.cumulative_as_delta", "hello", "usage.completion_tokens", on="dynamo"),
           FaultProof("stream.drop_eos", "weather_tools", "usage.completion_tokens", on="dynamo"),
           FaultProof("stream.prompt_ids_missing", "hello", "nvext.prompt_token_ids", on="dynamo"),
       ])
def check_exposure_stream(target, case):
    """A stream carries prompt ids and completion ids as lists of non-negative ints, on the
    chunks the dialect's stream mode says (per-chunk deltas, one trailing chunk, cumulative
    lists that only grow, or all of them once on the finish chunk), and the final usage counts
    them exactly."""
    ex = target.exchange(case, "stream").ok()
    stream = ex.stream
    if not stream.chunks:
        raise Fail("the stream has no JSON chunks", body=ex.body[:500])
    d, vocab = target.dialect, None  # the vocabulary is checked where ids are decoded (decode.*)
    found = d.stream_ids(stream.chunks, request=ex.request)
    if not found.prompt:
        raise Fail(f"no chunk carries prompt ids ({d.stream_prompt})")
    prompt = require_id_list(found.prompt[0][1], f"prompt ids on chunk {found.prompt[0][0]}", vocab)
    for pos, value in found.completion:
        if value is MISSING or value is None or value == []:
            continue  # a chunk may carry no new ids (a role chunk, a buffered one): the total must add up
        require_id_list(value, f"completion ids on chunk {pos} ({d.stream_completion})", vocab)
    _check_stream_shape(d, found, stream.chunks)
    completion = found.concatenated()
    if not completion:
        raise Fail("no chunk carries completion ids")
    _check_usage(d.stream_usage_of(stream.chunks), prompt, completion, "stream", d.stream_usage)
