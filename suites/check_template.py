"""Template parity: the prompt the server tokenized is the prompt the client's chat template renders."""
from conformance.checking.api import Fail, FaultProof, check, skip
from conformance.checking.id_sequences import describe_divergence, divergence_evidence, require_id_list
from conformance.checking.text_divergence import describe_text_divergence


@check("template.prompt_ids", needs=["nonstream"], requires=["ids.nonstream"],
       caught_by=[
           FaultProof("nonstream.server_default_system_prompt", "hello", "You are a helpful", variants=["nonstream"]),
       ])
def check_template_prompt_ids(target, case):
    """The server's prompt ids equal the client's apply_chat_template(messages, tools=...,
    add_generation_prompt=True) ids and decode to the text that template renders. On failure:
    the first divergence, with the decoded text (and tokens) on both sides."""
    tok, d = target.tokenizer, target.dialect
    if d.sends_prompt or d.prompt_from_request:
        skip(f"dialect {d.name} sends a client-rendered prompt: the server renders no template to compare")
    body = target.exchange(case, "nonstream").ok().json
    server = require_id_list(d.prompt_ids(body), "prompt ids", tok.vocab_size)
    rendered = tok.render_prompt(case.messages, case.tools)
    client = tok.prompt_ids(case.messages, case.tools)
    server_text = tok.decode(server, skip_special_tokens=False)
    evidence = divergence_evidence(tok, "server prompt ids", server, "client template ids", client)
    if server_text != rendered:
        raise Fail(f"the server's prompt ids decode to another text than the client's chat template renders, "
                   f"{describe_text_divergence(server_text, rendered, 'the server', 'the client template')}", server_text=server_text, client_text=rendered,
                   **evidence)
    if server != client:
        file_ids = tok.file_ids(rendered)
        raise Fail("same text, different tokens: " + describe_divergence(tok, "server prompt ids", server,
                                                                        "client template ids", client)
                   + _which_tokenizer(tok, server, file_ids), tokenizer_json_ids=file_ids, **evidence)


def _which_tokenizer(tok, server: list[int], file_ids: list[int] | None) -> str:
    """Whose ids the server's are: tokenizer.json's own pipeline, or neither tokenizer's."""
    if file_ids is None:
        return ""
    if server != file_ids:
        return (f"; the server's ids match neither the client's (transformers' {tok.class_name}) nor "
                f"tokenizer.json through `tokenizers`")
    replaced = ", ".join(f"{name} {mine} with {theirs}" for name, (mine, theirs) in tok.file_differences.items())
    return (f"; the server's ids are tokenizer.json's own through `tokenizers`, the client's are transformers' "
            f"{tok.class_name}'s" + (f", which replaces the file's {replaced}" if replaced else "")
            + ": the model's tokenizer files disagree with the class transformers loads them as")
