"""Token-in equivalence: sending the prompt as ids gives what sending the messages gave."""
from conformance.checking.api import Fail, check, skip
from conformance.checking.id_sequences import assert_same_ids, require_id_list
from conformance.checking.dialect_replies import reply_of


@check("tokenin.equivalence", needs=["nonstream", "token_in"], requires=["ids.nonstream", "token_in"],
       case_filter=lambda case: case.params.get("temperature") == 0, model_output=True)
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
