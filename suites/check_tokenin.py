"""Token-in equivalence: sending the prompt as ids gives what sending the messages gave."""
from conformance.checking.api import Fail, FaultProof, HandBuilt, Inconclusive, check, recorded_exchange, skip
from conformance.checking.id_sequences import assert_same_ids, describe_divergence, require_id_list
from conformance.checking.dialect_replies import reply_of


@check("tokenin.equivalence", needs=["nonstream", "token_in"], requires=["ids.nonstream", "token_in"],
       case_filter=lambda case: case.params.get("temperature") == 0, model_output=True,
       caught_by=[
           FaultProof("nonstream.token_in_ignored", "hello", "ignored", variants=["token_in"]),
           FaultProof("nonstream.retokenized_completion", "french", "first differ", variants=["token_in"]),
       ])
def check_tokenin_equivalence(target, case):
    """The server's own prompt ids sent back through the dialect's token-in field (with
    placeholder messages) are echoed as the prompt ids, and under greedy decoding give the same
    completion ids and text as the request that sent the messages."""
    d, tok = target.dialect, target.tokenizer
    if d.shape != "chat" or d.sends_prompt or d.prompt_from_request:
        skip(f"dialect {d.name} always sends prompt ids (and reads them back from the request): "
             "there is no messages request to compare with")
    body = target.exchange(case, "nonstream").ok().json
    ex = target.exchange(case, "token_in")
    if ex.status is not None and 400 <= ex.status < 500:
        raise Fail(f"the server rejected the token-in field {d.token_in}: HTTP {ex.status} {ex.body[:200]}")
    tin = ex.ok().json
    sent = require_id_list(d.prompt_ids(body), "prompt ids of the messages request", tok.vocab_size)
    echoed = require_id_list(d.prompt_ids(tin), "prompt ids of the token-in request", tok.vocab_size)
    if echoed != sent:
        raise Fail(f"the token-in request's prompt ids are not the ids sent in {d.token_in} (was the field "
                   f"ignored and the placeholder messages rendered?): {tok.decode(echoed, skip_special_tokens=False)[:80]!r}",
                   sent=sent, echoed=echoed)
    assert_same_ids(tok, "completion ids (messages)",
                    require_id_list(d.completion_ids(body), "completion ids (messages)", tok.vocab_size),
                    "completion ids (token in)",
                    require_id_list(d.completion_ids(tin), "completion ids (token in)", tok.vocab_size))
    a, b = reply_of(d, body).as_text(), reply_of(d, tin).as_text()
    if a != b:
        raise Fail(f"same ids, different text: messages {a[:60]!r}, token in {b[:60]!r}")


@check("tokenin.followed", needs=["nonstream", "placeholder_nonstream", "token_in_swapped"],
       requires=["ids.nonstream", "token_in"], case_filter=lambda case: case.params.get("temperature") == 0,
       model_output=True,
       caught_by=[
           HandBuilt("tests/suites/test_tokenin_followed.py::test_a_reply_that_followed_the_messages_fails",
                     "a reply that followed the messages"),
           HandBuilt("tests/suites/test_tokenin_followed.py::test_echoing_the_ids_while_generating_from_the_messages_fails",
                     "the ids echoed, the completion generated from the messages"),
       ])
def check_tokenin_followed(target, case):
    """Token-in ids that DIFFER from what the messages render win: the case's own messages are sent
    with another prompt's ids in the token-in field (the placeholder prompt's, as the server
    rendered them in its own reply to it), and the reply follows the ids, not the messages: the
    echoed prompt ids are the ids sent (where the dialect echoes them), and under greedy decoding
    the completion ids are the placeholder prompt's own reply, not the case's. A server that
    ignores the token-in field and renders the messages FAILS; where the two prompts give the same
    reply, nothing tells them apart (INCONCLUSIVE)."""
    d, tok = target.dialect, target.tokenizer
    if d.shape != "chat":
        skip(f"dialect {d.name} sends no messages beside its token-in ids: there is nothing else to follow")
    own_ex = target.exchange(case, "nonstream").ok()
    own = own_ex.json
    ref_ex = recorded_exchange(target, case, "placeholder_nonstream").ok()
    swapped_ex = recorded_exchange(target, case, "token_in_swapped")
    if swapped_ex.status is not None and 400 <= swapped_ex.status < 500:
        raise Fail(f"the server rejected the token-in field {d.token_in} beside the case's messages: HTTP "
                   f"{swapped_ex.status} {swapped_ex.body[:200]}")
    swapped = swapped_ex.ok().json
    ref = ref_ex.json
    vocab = tok.vocab_size
    sent = require_id_list(d.prompt_ids(ref, request=ref_ex.request), "prompt ids of the placeholder prompt", vocab)
    own_prompt = require_id_list(d.prompt_ids(own, request=own_ex.request),
                                 "prompt ids of the case's messages", vocab)
    if sent == own_prompt:
        raise Inconclusive("the placeholder prompt renders to the case's own prompt ids: the two cannot be told apart")
    if not d.prompt_from_request:  # the dialect echoes the prompt it used
        echoed = require_id_list(d.prompt_ids(swapped), "prompt ids of the swapped request", vocab)
        if echoed == own_prompt:
            raise Fail(f"the reply's prompt ids are the rendering of the messages, not the {len(sent)} ids sent in "
                       f"{d.token_in}: the token-in field was ignored", sent=sent, echoed=echoed)
        if echoed != sent:
            raise Fail(f"the reply's prompt ids are neither the ids sent in {d.token_in} nor the messages' "
                       f"rendering: {describe_divergence(tok, 'sent', sent, 'echoed', echoed)}",
                       sent=sent, echoed=echoed)
    followed = require_id_list(d.completion_ids(swapped), "completion ids (swapped)", vocab)
    by_ids = require_id_list(d.completion_ids(ref), "completion ids (the placeholder prompt's own reply)", vocab)
    by_messages = require_id_list(d.completion_ids(own), "completion ids (the case's own reply)", vocab)
    if by_ids == by_messages:
        raise Inconclusive("the placeholder prompt and the case's messages give the same completion: the reply "
                           "cannot show which one the server followed")
    if followed == by_messages:
        raise Fail(f"the reply followed the messages, not the token-in ids: its completion is the case's own reply "
                   f"({tok.decode(by_messages)[:60]!r}), not the one the ids in {d.token_in} give "
                   f"({tok.decode(by_ids)[:60]!r})", followed=followed, by_ids=by_ids, by_messages=by_messages)
    assert_same_ids(tok, "completion ids (the placeholder prompt's own reply)", by_ids,
                    "completion ids (its ids sent beside the case's messages)", followed)
