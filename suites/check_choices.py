"""n > 1: per-choice ids where the dialect supports several choices, a clean 4xx where it must
reject them (Dynamo's completion_token_ids "requires exactly one generated choice")."""
import json

from conformance.checking.api import Fail, FaultProof, check
from conformance.checking.rejection import field_names, require_alone, require_names, require_rejection
from conformance.checking.replies import check_decoded_matches
from conformance.checking.id_sequences import assert_same_ids, require_id_list
from conformance.checking.dialect_replies import reply_of, stream_reply_of

N = 2  # conformance.wire.requests.N2


@check("n.rejected", needs=["nonstream_n2", "stream_n2"], requires=["n.rejected"], case_tags=["n_choices"],
       caught_by=[
           FaultProof("rejection.as_server_error", "hello", "HTTP 500", on="dynamo"),
           FaultProof("rejection.as_success", "hello", "HTTP 200: served although", on="dynamo"),
           FaultProof("rejection.html_error_page", "hello", "not a JSON error object", on="dynamo"),
           # the field under test named as a word: "Invalid" holds an "n", which used to pass
           FaultProof("rejection.names_another_field", "hello", "names none of ['completion_token_ids', 'n']",
                      on="dynamo"),
           FaultProof("rejection.names_no_field", "hello", "names none of ['completion_token_ids', 'n']", on="dynamo"),
       ])
def check_n_rejected(target, case):
    """Where the dialect cannot give per-choice ids, n=2 with the opt-in is a 4xx with a JSON
    error that names, as a word, the field under test (the profile's `rejects.n`, or `n`; without a
    declaration any field of the opt-in), for a non-stream and a stream request (no partial
    stream), each carrying that one refused field; and the server still answers the next request
    with ids."""
    d = target.dialect
    declared = set(d.rejects_n)
    names = (declared or field_names(d.request_fields) | field_names(d.stream_request_fields)) | {"n"}
    for variant, what in (("nonstream_n2", "non-stream n=2"), ("stream_n2", "stream n=2")):
        ex = target.exchange(case, variant)
        require_rejection(ex, what)
        if declared:
            require_alone(ex.request, declared, declared, what)
        require_names(ex, what, names)
    # sent only now, after both rejections: the engine must still be serving
    after = target.exchange(case, "nonstream", attempt=2)
    if after.error or after.status != 200:
        raise Fail(f"after the rejected n=2 requests the server answers HTTP {after.status} {after.error or ''}",
                   body=after.body[:300])
    require_id_list(d.completion_ids(after.json), "completion ids after the rejections", None)


def _choice_indices(body) -> list[int]:
    indices = sorted(c.get("index", 0) for c in body.get("choices") or [])
    if indices != list(range(N)):
        raise Fail(f"n={N} but the response's choice indices are {indices}")
    return indices


def _outputs(d, ex) -> list[tuple[dict, int]]:
    """(response object, choice index in it) per choice. SGLang's native /generate answers n>1
    with a JSON list, one response object per sample (in order); a chat response has choices."""
    try:
        raw = json.loads(ex.body)
    except ValueError:
        raw = None  # ex.json below names the protocol violation
    if d.shape == "generate" and isinstance(raw, list):
        if len(raw) != N or not all(isinstance(item, dict) for item in raw):
            raise Fail(f"n={N} but the response is a list of {len(raw)} item(s), not {N} objects")
        return [(item, 0) for item in raw]
    return [(ex.json, i) for i in _choice_indices(ex.json)]


@check("n.per_choice.nonstream", needs=["nonstream_n2"], requires=["n.per_choice", "ids.nonstream"],
       case_tags=["n_choices"], model_output=True,
       caught_by=[
           FaultProof("nonstream.ids_on_first_choice_only", "hello", "choice 1 completion ids is null",
                      variants=["nonstream_n2"]),
       ])
def check_n_per_choice_nonstream(target, case):
    """With n=2 (sampling), each choice's completion ids decode to that choice's text, and every
    choice shares the same prompt ids."""
    d, tok = target.dialect, target.tokenizer
    ex = target.exchange(case, "nonstream_n2").ok()
    prompts = {}
    for i, (body, at) in enumerate(_outputs(d, ex)):
        ids = require_id_list(d.completion_ids(body, at), f"choice {i} completion ids", tok.vocab_size)
        check_decoded_matches(tok, ids, reply_of(d, body, at), [], f"non-stream choice {i}")
        # token-in dialects (Miles, /generate) echo no prompt ids: the ones sent are every choice's
        prompts[i] = require_id_list(d.prompt_ids(body, at, request=ex.request), f"choice {i} prompt ids",
                                     tok.vocab_size)
    for i in range(1, N):
        assert_same_ids(tok, "choice 0 prompt ids", prompts[0], f"choice {i} prompt ids", prompts[i])


@check("n.per_choice.stream", needs=["stream_n2"], requires=["n.per_choice", "ids.stream"],
       case_tags=["n_choices"], model_output=True,
       caught_by=[
           FaultProof("stream.ids_on_first_choice_only", "hello", "stream choice 1", variants=["stream_n2"]),
       ])
def check_n_per_choice_stream(target, case):
    """A stream with n=2 (sampling) routes ids by choice index: each index's ids decode to that
    index's streamed text, and every index sees the same prompt ids."""
    d, tok = target.dialect, target.tokenizer
    ex = target.exchange(case, "stream_n2").ok()
    chunks = ex.stream.chunks
    prompts = {}
    for i in range(N):
        found = d.stream_ids(chunks, i, request=ex.request)
        if not found.prompt:
            raise Fail(f"stream choice {i}: no chunk carries its prompt ids")
        prompts[i] = require_id_list(found.prompt[0][1], f"stream choice {i} prompt ids", tok.vocab_size)
        check_decoded_matches(tok, found.concatenated(), stream_reply_of(d, chunks, i), [], f"stream choice {i}")
    for i in range(1, N):
        assert_same_ids(tok, "choice 0 prompt ids", prompts[0], f"choice {i} prompt ids", prompts[i])
