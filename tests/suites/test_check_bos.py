"""template.bos: a chat template that writes the BOS gets exactly one BOS in the server's prompt ids.
tiny-chat made into a BOS model (bos_token <|endoftext|>, a template that starts with it); the
exchange is the server's response with its prompt ids, conformant or with the BOS doubled."""
from types import SimpleNamespace

import pytest

from conformance.checking.api import Fail
from conformance.checking.client_tokenizer import Tokenizer
from conformance.dialects import load_dialect
from support import ROOT
from suites.check_bos import check_bos

CASE = SimpleNamespace(messages=[{"role": "user", "content": "Say hello."}], tools=None)


def _tok(template_writes_bos=True, bos=True):
    tok = Tokenizer.load(ROOT / "fixtures" / "tiny-chat")
    if bos:
        tok.hf.bos_token = "<|endoftext|>"
    tok.__dict__.pop("bos_id", None)
    if template_writes_bos:
        tok.hf.chat_template = "{{ bos_token }}" + tok.hf.chat_template
    return tok


def _target(tok, prompt_ids):
    body = {"id": "x", "prompt_token_ids": prompt_ids,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}]}

    def exchange(case, variant):
        ex = SimpleNamespace(json=body, request={})
        ex.ok = lambda: ex
        return ex
    return SimpleNamespace(dialect=load_dialect("vllm"), tokenizer=tok, exchange=exchange)


def test_one_bos_passes_a_doubled_one_fails():
    tok = _tok()
    prompt = tok.prompt_ids(CASE.messages, None)
    bos_id = tok.hf.bos_token_id
    assert prompt[0] == bos_id and prompt[1] != bos_id
    check_bos(_target(tok, prompt), CASE)  # conformant: no exception
    with pytest.raises(Fail, match="2 times: the chat template writes the BOS and the tokenizer adds one") as err:
        check_bos(_target(tok, [bos_id] + prompt), CASE)
    assert "model's config" in str(err.value)
    with pytest.raises(Fail, match="do not begin with it"):
        check_bos(_target(tok, prompt[1:]), CASE)


def test_a_model_without_bos_skips():
    tok = _tok(template_writes_bos=False, bos=False)
    with pytest.raises(pytest.skip.Exception, match="no BOS token"):
        check_bos(_target(tok, tok.prompt_ids(CASE.messages, None)), CASE)


def test_a_template_that_does_not_write_the_bos_skips():
    tok = _tok(template_writes_bos=False)
    with pytest.raises(pytest.skip.Exception, match="does not write the BOS"):
        check_bos(_target(tok, tok.prompt_ids(CASE.messages, None)), CASE)


def test_one_bos_passes_on_real_vllm_exchanges(cases):
    """The recorded vLLM 0.32 exchanges, read with tiny-chat's <|im_start|> taken as its BOS (the
    template writes it first, the server's prompt ids carry it once): PASS for every case."""
    from support import VLLM_RECORDINGS, Recorded, only

    tok = Tokenizer.load(ROOT / "fixtures" / "tiny-chat")
    tok.hf.bos_token = "<|im_start|>"
    results = Recorded(VLLM_RECORDINGS, "vllm", tok, cases).run(select=only("template.bos"))
    assert results and all(r.outcome.value == "PASS" for r in results), [(r.case, r.reason) for r in results]
