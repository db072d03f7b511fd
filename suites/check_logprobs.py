"""Logprob alignment: exactly one logprob entry per completion id, each naming that id's token.

The checks read the model's ids (`model_output`): on an engine whose greedy ids do not reproduce
(Dynamo's mocker samples random ids, outside the tokenizer's vocabulary) they are INCONCLUSIVE."""
from conformance.checking.api import Fail, FaultProof, check, recorded_exchange
from conformance.dialects.paths import MISSING
from conformance.checking.id_sequences import require_id_list

TOKEN_ID_PREFIX = "token_id:"


def _entries(choice):
    logprobs = (choice or {}).get("logprobs")
    if not isinstance(logprobs, dict):
        return None
    content = logprobs.get("content")
    return content if isinstance(content, list) else None


def _entry_names_id(entry, token_id, mode, tok) -> str | None:
    """None when the entry is consistent with the id, else what it names instead."""
    if mode == "token_id_string":
        token = entry.get("token")
        return None if token == f"{TOKEN_ID_PREFIX}{token_id}" else repr(token)
    if mode == "token_id":
        return None if entry.get("token_id") == token_id else f"token_id {entry.get('token_id')!r}"
    want = tok.token_text(token_id)
    if entry.get("token") == want:
        return None
    raw = entry.get("bytes")
    if isinstance(raw, list) and bytes(raw).decode("utf-8", errors="replace") == want:
        return None
    return repr(entry.get("token"))


def _check_alignment(tok, mode, ids, entries, where):
    if len(entries) != len(ids):
        raise Fail(f"{where}: {len(entries)} logprob entries for {len(ids)} completion ids", ids=ids,
                   entries=[e.get("token") for e in entries])
    for pos, (token_id, entry) in enumerate(zip(ids, entries)):
        other = _entry_names_id(entry, token_id, mode, tok)
        if other is not None:
            raise Fail(f"{where}: logprob entry {pos} names {other} but completion id {pos} is {token_id} "
                       f"({tok.token_text(token_id)!r})", ids=ids, entries=[e.get("token") for e in entries])
        for alt in entry.get("top_logprobs") or []:
            token = alt.get("token")
            if mode == "token_id_string" and not (isinstance(token, str) and token.startswith(TOKEN_ID_PREFIX)
                                                  and token[len(TOKEN_ID_PREFIX):].isdigit()):
                raise Fail(f"{where}: entry {pos} has a top_logprobs token {token!r} that is not token_id:N")


@check("logprobs.alignment.nonstream", needs=["logprobs_nonstream"], requires=["ids.nonstream", "logprobs"],
       model_output=True,
       caught_by=[
           FaultProof("nonstream.logprobs_one_short", "hello", "13 logprob entries for 14 completion ids",
                      variants=["logprobs_nonstream"]),
           FaultProof("nonstream.logprobs_shifted", "french", "entry 0 names", variants=["logprobs_nonstream"]),
       ])
def check_logprobs_nonstream(target, case):
    """With logprobs (and top_logprobs) requested, logprobs.content has exactly one entry per
    completion id, and entry i names id i (as "token_id:N" where the dialect offers that, else by
    its decoded text or bytes)."""
    _check_nonstream(target, recorded_exchange(target, case, "logprobs_nonstream").ok().json, "non-stream",
                     "logprobs were requested")


def _check_nonstream(target, body, where, asked):
    d, tok = target.dialect, target.tokenizer
    ids = require_id_list(d.completion_ids(body), "completion ids", tok.vocab_size)
    entries = _entries((body.get("choices") or [None])[0])
    if entries is None:
        raise Fail(f"{asked} but the choice has no logprobs.content list")
    _check_alignment(tok, d.logprob_token, ids, entries, where)


@check("logprobs.alignment.bare", needs=["logprobs_bare_nonstream"], requires=["ids.nonstream", "logprobs"],
       model_output=True,
       caught_by=[
           FaultProof("nonstream.logprobs_one_short", "hello", "13 logprob entries for 14 completion ids",
                      variants=["logprobs_bare_nonstream"]),
           FaultProof("nonstream.logprobs_shifted", "french", "entry 0 names", variants=["logprobs_bare_nonstream"]),
       ])
def check_logprobs_bare(target, case):
    """The same alignment with `logprobs: true` alone, as RL pipelines ask for the sampled tokens'
    logprobs (rllm's gateway adds exactly `logprobs: true` to every request, ../shared/reference/
    rl-data-path.md): without top_logprobs the server takes another path, the one the training
    data comes from."""
    _check_nonstream(target, recorded_exchange(target, case, "logprobs_bare_nonstream").ok().json,
                     "non-stream, logprobs alone", "logprobs: true was sent (without top_logprobs)")


@check("logprobs.alignment.stream", needs=["logprobs_stream"], requires=["ids.stream", "ids.per_chunk", "logprobs"],
       model_output=True,
       caught_by=[
           FaultProof("stream.logprobs_on_wrong_chunk", "haiku", "other chunks", variants=["logprobs_stream"]),
           FaultProof("stream.drop_ids_on_empty_delta", "flower_emoji", "logprob entries for",
                      variants=["logprobs_stream"]),
       ])
def check_logprobs_stream(target, case):
    """The same for a stream: the logprob entries of all chunks, concatenated, pair one to one
    with the concatenated completion ids, and each chunk's entries belong to that chunk's ids."""
    d, tok = target.dialect, target.tokenizer
    chunks = recorded_exchange(target, case, "logprobs_stream").ok().stream.chunks
    ids, entries, misplaced = [], [], []
    for pos, chunk in enumerate(chunks):
        choices = chunk.get("choices") or []
        if not choices:
            continue
        chunk_ids = d.stream_ids([chunk]).concatenated()
        value = d.stream_ids([chunk]).completion
        if value and value[0][1] not in (MISSING, None):
            require_id_list(value[0][1], f"completion ids on chunk {pos}", tok.vocab_size)
        chunk_entries = _entries(choices[0]) or []
        if len(chunk_entries) != len(chunk_ids):
            misplaced.append(f"chunk {pos}: {len(chunk_entries)} entries for {len(chunk_ids)} ids")
        ids += chunk_ids
        entries += chunk_entries
    _check_alignment(tok, d.logprob_token, ids, entries, "stream")
    if misplaced:
        raise Fail(f"stream: logprob entries sit on other chunks than their ids: {'; '.join(misplaced[:3])}",
                   misplaced=misplaced)
