"""Exposure: the ids are there when asked for, are token ids, and agree with `usage`."""
from conformance.checks import Fail, check
from conformance.dialects.paths import MISSING
from conformance.tokens import require_id_list


def _check_usage(usage, prompt_ids, completion_ids, where):
    if not isinstance(usage, dict):
        raise Fail(f"{where}: no usage object to compare the id counts with")
    if usage.get("prompt_tokens") != len(prompt_ids):
        raise Fail(f"{where}: usage.prompt_tokens is {usage.get('prompt_tokens')} but there are "
                   f"{len(prompt_ids)} prompt ids", usage=usage)
    if usage.get("completion_tokens") != len(completion_ids):
        raise Fail(f"{where}: usage.completion_tokens is {usage.get('completion_tokens')} but there are "
                   f"{len(completion_ids)} completion ids", usage=usage)


@check("exposure.nonstream", needs=["nonstream"], requires=["ids.nonstream"])
def check_exposure_nonstream(target, case):
    """A non-stream response carries prompt and completion ids as lists of in-vocabulary ints,
    and usage.prompt_tokens / usage.completion_tokens equal their lengths."""
    body = target.exchange(case, "nonstream").ok().json
    d, vocab = target.dialect, target.tokenizer.vocab_size
    prompt = require_id_list(d.prompt_ids(body), f"prompt ids ({d.nonstream_prompt})", vocab)
    completion = require_id_list(d.completion_ids(body), f"completion ids ({d.nonstream_completion})", vocab)
    if not prompt:
        raise Fail("the prompt ids are an empty list")
    if not completion:
        raise Fail("the completion ids are an empty list")
    _check_usage(body.get("usage"), prompt, completion, "non-stream")


@check("exposure.stream", needs=["stream"], requires=["ids.stream"])
def check_exposure_stream(target, case):
    """A stream carries prompt ids and per-chunk completion ids as lists of in-vocabulary ints,
    and the final usage chunk (stream_options.include_usage) counts them exactly."""
    ex = target.exchange(case, "stream").ok()
    stream = ex.stream
    if not stream.chunks:
        raise Fail("the stream has no JSON chunks", body=ex.body[:500])
    d, vocab = target.dialect, target.tokenizer.vocab_size
    found = d.stream_ids(stream.chunks)
    if not found.prompt:
        raise Fail(f"no chunk carries prompt ids ({d.stream_prompt})")
    prompt = require_id_list(found.prompt[0][1], f"prompt ids on chunk {found.prompt[0][0]}", vocab)
    completion = []
    for pos, value in found.completion:
        if value is MISSING or value is None or value == []:
            continue  # a chunk may carry no new ids (a role chunk, a buffered one): the total must add up
        completion += require_id_list(value, f"completion ids on chunk {pos} ({d.stream_completion})", vocab)
    if not completion:
        raise Fail("no chunk carries completion ids")
    usage = next((c.get("usage") for c in reversed(stream.chunks) if c.get("usage")), None)
    _check_usage(usage, prompt, completion, "stream")
