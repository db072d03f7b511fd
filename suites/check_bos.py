"""BOS: a chat template that writes the BOS itself gets exactly one in the server's prompt ids.
A server that tokenizes the rendered text with add_special_tokens=True, on a tokenizer that adds a
BOS (Llama-3, Gemma: add_bos_token), doubles it; the model then sees a prompt it was never trained on."""
from conformance.checking.api import Fail, HandBuilt, check, skip
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
    config as much as the engine's). Checks the default request only (no add_special_tokens variant)."""
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
