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


# -- template.bos_special_tokens: add_special_tokens: true on a tokenizer that adds its BOS ------------------------
# fixtures/tiny-deepseek made to add its BOS on encode (fixtures/model-src/build_tiny_deepseek_bos.py, built here),
# served by vLLM 0.32.0 on CPU; recorded with (under flock /tmp/tokconf-engine.lock):
#   python fixtures/model-src/build_tiny_deepseek_bos.py /tmp/bos17-model
#   tokconf verify --engine vllm --model /tmp/bos17-model --served-model-name tiny-deepseek-bos \
#       --cases fixtures/cases/tiny-deepseek.yaml -k bos --record FILE
# and trimmed to three cases (a plain prompt, a thinking prompt, one with tools). vLLM's default request gives one
# BOS [0, 128803, ...] (the template's); with add_special_tokens: true, [0, 0, 128803, ...] (the tokenizer's on top).
BOS_RECORDING = ROOT / "fixtures" / "recordings" / "tiny-deepseek-bos-vllm-0.32.0-cpu.jsonl"
BOS_SERVED = "tiny-deepseek-bos"
BOS_CASES = ("cjk_greeting", "think_math", "weather_tools")


def build_bos_model(dest):
    import importlib.util

    path = ROOT / "fixtures" / "model-src" / "build_tiny_deepseek_bos.py"
    spec = importlib.util.spec_from_file_location("build_tiny_deepseek_bos", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build(dest)


@pytest.fixture(scope="module")
def bos_tok(tmp_path_factory):
    return Tokenizer.load(build_bos_model(tmp_path_factory.mktemp("tiny-deepseek-bos")))


@pytest.fixture(scope="module")
def bos_cases():
    from conformance.inputs.cases import load_cases

    return [c for c in load_cases(ROOT / "fixtures" / "cases" / "tiny-deepseek.yaml") if c.id in BOS_CASES]


def _bos_run(tok, cases, records=None, **kw):
    from support import Recorded, only

    rec = Recorded(BOS_RECORDING, "vllm", tok, cases)
    if records is not None:
        rec.records = [r for r in rec.records if records(r)]
    return rec, rec.run(select=only("template.bos", "template.bos_special_tokens"), served=BOS_SERVED, **kw)


def test_derived_fixture_changes_only_the_tokenizers_bos(bos_tok):
    import json

    source = ROOT / "fixtures" / "tiny-deepseek"
    built = __import__("pathlib").Path(bos_tok.source)
    assert sorted(p.name for p in built.iterdir()) == sorted(p.name for p in source.iterdir())
    assert (built / "model.safetensors").is_symlink()
    for name in ("chat_template.jinja", "config.json", "generation_config.json"):
        assert (built / name).read_bytes() == (source / name).read_bytes()
    mine, theirs = (json.loads((d / "tokenizer.json").read_text(encoding="utf-8")) for d in (built, source))
    assert {k: v for k, v in mine.items() if k != "post_processor"} == \
        {k: v for k, v in theirs.items() if k != "post_processor"}
    config = json.loads((built / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert config.pop("add_bos_token") is True
    assert config == {k: v for k, v in json.loads((source / "tokenizer_config.json").read_text()).items()
                      if k != "add_bos_token"}
    assert bos_tok.adds_special_tokens and bos_tok.hf.encode("x") == [0] + bos_tok.hf.encode("x", add_special_tokens=False)


def test_real_vllm_honours_add_special_tokens(bos_tok, bos_cases):
    """vLLM 0.32 as recorded: one BOS by default (template.bos PASS), two with add_special_tokens: true, as the
    client's own tokenization with special tokens gives them (template.bos_special_tokens PASS)."""
    _, results = _bos_run(bos_tok, bos_cases)
    assert sorted((r.check, r.case, r.outcome.value) for r in results) == sorted(
        (check, case, "PASS") for check in ("template.bos", "template.bos_special_tokens") for case in BOS_CASES)
    m = bos_cases[0].messages
    assert bos_tok.prompt_ids_with_special_tokens(m, None)[:2] == [0, 0] and bos_tok.prompt_ids(m, None)[:2] != [0, 0]


@pytest.mark.parametrize("case", BOS_CASES)
def test_an_engine_that_ignores_add_special_tokens_fails(bos_tok, bos_cases, case):
    from support import outcome, reason

    rec, results = _bos_run(bos_tok, bos_cases, fault="nonstream.add_special_tokens_ignored", case=case,
                            variants=["special_tokens_nonstream"])
    assert outcome(results, "template.bos_special_tokens", case) == "FAIL"
    assert outcome(results, "template.bos", case) == "PASS"  # the default request is untouched
    why = reason(results, "template.bos_special_tokens", case)
    assert "ignored add_special_tokens" in why and "the server's 1, expected 2" in why, why


def test_ids_that_are_neither_fail(bos_tok, bos_cases):
    """A server that doubled the BOS once more (three) is neither the template's ids nor the asked-for ones."""
    from suites.check_bos import check_special_tokens_bos

    case = bos_cases[0]
    expected = bos_tok.prompt_ids_with_special_tokens(case.messages, case.tools)
    target = _target(bos_tok, [0] + expected)
    target.store = None
    with pytest.raises(Fail, match="neither .* the server's 3, expected 2, the template's own 1"):
        check_special_tokens_bos(target, case)
    check_special_tokens_bos(_target(bos_tok, expected), case)  # the asked-for ids: no exception


def test_a_tokenizer_that_adds_nothing_skips_without_reading_the_exchange(bos_cases):
    """tiny-deepseek as shipped adds no BOS on encode: SKIP, and a recording without the variant is fine."""
    tok = Tokenizer.load(ROOT / "fixtures" / "tiny-deepseek")
    _, results = _bos_run(tok, bos_cases, records=lambda r: r["variant"] == "nonstream")
    special = [r for r in results if r.check == "template.bos_special_tokens"]
    assert {r.outcome.value for r in special} == {"SKIP"}
    assert all("adds no special tokens" in r.reason for r in special)


def test_a_recording_without_the_variant_skips(bos_tok, bos_cases):
    _, results = _bos_run(bos_tok, bos_cases, records=lambda r: r["variant"] == "nonstream")
    special = [r for r in results if r.check == "template.bos_special_tokens"]
    assert {r.outcome.value for r in special} == {"SKIP"}
    assert all("holds no exchange" in r.reason for r in special), [r.reason for r in special]
