"""BOS: a chat template that writes the BOS itself gets exactly one in the server's prompt ids.
A server that tokenizes the rendered text with add_special_tokens=True, on a tokenizer that adds a
BOS (Llama-3, Gemma: add_bos_token), doubles it; the model then sees a prompt it was never trained on."""
from conformance.checking.api import Fail, HandBuilt, check, recorded_exchange, skip
from conformance.checking.id_sequences import require_id_list


def _leading(ids: list[int], bos_id: int) -> int:
    n = 0
    while n < len(ids) and ids[n] == bos_id:
        n += 1
    return n


@check("template.bos", needs=["nonstream"], requires=["ids.nonstream"],
       caught_by=[
           HandBuilt("tests/suites/test_check_bos.py::test_one_bos_passes_a_doubled_one_fails",
                     "prompt ids with the BOS doubled"),
           HandBuilt("tests/suites/test_check_bos.py::test_one_bos_passes_a_doubled_one_fails",
                     "prompt ids without the BOS"),
       ])
def check_bos(target, case):
    """Where the tokenizer has a BOS and the chat template writes it (the render, tokenized with
    add_special_tokens=False, already starts with it), the server's prompt ids begin with exactly
    one BOS. Two: the template writes BOS and the tokenizer adds one (a finding about the model's
    config as much as the engine's). Checks the default request (add_special_tokens: true is template.bos_special_tokens)."""
    tok, d = target.tokenizer, target.dialect
    if d.sends_prompt or d.prompt_from_request:
        skip(f"dialect {d.name} sends a client-rendered prompt: the server renders no template")
    bos_id = tok.bos_id
    if bos_id is None:
        skip("the tokenizer has no BOS token: nothing to double or drop")
    bos = tok.token_text(bos_id)
    client = tok.prompt_ids(case.messages, case.tools)
    if _leading(client, bos_id) != 1:
        skip(f"the chat template does not write the BOS {bos!r} once at the start (the tokenizer adds it, if "
             "anything): template.prompt_ids compares the whole prompt")
    body = target.exchange(case, "nonstream").ok().json
    server = require_id_list(d.prompt_ids(body), "prompt ids", tok.vocab_size)
    count = _leading(server, bos_id)
    if count == 1:
        return
    head = server[:count + 3]
    if count == 0:
        raise Fail(f"the chat template writes the BOS {bos!r} ({bos_id}) but the server's prompt ids do not begin "
                   f"with it: {head}", prompt_head=head)
    adds = tok.hf.encode("x", add_special_tokens=True)[:1] == [bos_id]
    raise Fail(f"the server's prompt ids begin with the BOS {bos!r} ({bos_id}) {count} times: the chat template writes "
               f"the BOS and the tokenizer adds one" + (" (it does: add_bos_token)" if adds else "") +
               " when the rendered text is tokenized with special tokens; a finding about the model's config "
               "(a template that writes BOS with a tokenizer that adds it) that the server does not correct",
               prompt_head=head, bos_id=bos_id, leading_bos=count)


@check("template.bos_special_tokens", needs=["special_tokens_nonstream"],
       requires=["ids.nonstream", "request.add_special_tokens"],
       caught_by=[
           # real vLLM's exchanges on the BOS-adding copy of tiny-deepseek, not the tiny-chat recordings
           HandBuilt("tests/suites/test_check_bos.py::test_an_engine_that_ignores_add_special_tokens_fails",
                     "fault nonstream.add_special_tokens_ignored: the template's ids alone"),
           HandBuilt("tests/suites/test_check_bos.py::test_ids_that_are_neither_fail",
                     "the BOS doubled where the client's tokenization has one")])
def check_special_tokens_bos(target, case):
    """Where the tokenizer adds special tokens of its own on encode (a BOS: Llama-3's
    <|begin_of_text|>, add_bos_token), a chat request with `add_special_tokens: true` gets the prompt
    ids of the rendered template tokenized WITH them: the template's ids plus the tokenizer's (vLLM:
    "on top of what is added by the chat template"). A template that writes the BOS then gets two,
    as the client asked (ids a client rendering with apply_chat_template(tokenize=True) does not have).
    FAIL, with the leading BOS counted (the server's, the asked-for, the template's own): the field
    ignored (the default request's ids), or ids that are neither (a BOS doubled where the client's
    tokenization has one). SKIP where the tokenizer adds nothing: the request would equal the default's."""
    tok, d = target.tokenizer, target.dialect
    if d.sends_prompt or d.prompt_from_request:
        skip(f"dialect {d.name} sends a client-rendered prompt: the server renders no template")
    if not tok.adds_special_tokens:
        skip("the tokenizer adds no special tokens on encode (add_special_tokens=True gives the same ids as "
             "False): add_special_tokens cannot change the prompt")
    client = tok.prompt_ids(case.messages, case.tools)
    expected = tok.prompt_ids_with_special_tokens(case.messages, case.tools)
    body = recorded_exchange(target, case, "special_tokens_nonstream").ok().json
    server = require_id_list(d.prompt_ids(body), "prompt ids", tok.vocab_size)
    if server == expected:
        return
    bos_id = tok.bos_id
    counts = ""
    if bos_id is not None:
        counts = (f"; leading BOS {tok.token_text(bos_id)!r} ({bos_id}): the server's {_leading(server, bos_id)}, "
                  f"expected {_leading(expected, bos_id)}, the template's own {_leading(client, bos_id)}")
    n = len(expected) - len(client)
    what = ("the server ignored add_special_tokens: its prompt ids are the rendered template's alone"
            if server == client else
            "the server's prompt ids are neither the rendered template's with the tokenizer's special tokens nor "
            "without them")
    at = next((i for i, (a, b) in enumerate(zip(server, expected)) if a != b), min(len(server), len(expected)))
    raise Fail(f"add_special_tokens: true: {what} (expected {len(expected)} ids, {n} added by the tokenizer; got "
               f"{len(server)}, first difference at {at}){counts}",
               prompt_head=server[:8], expected_head=expected[:8], first_difference=at)
