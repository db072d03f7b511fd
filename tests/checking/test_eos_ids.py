"""End tokens: every id of generation_config.json's eos_token_id counts, with the tokenizer's EOS.
Qwen2.5 lists two (<|im_end|>, <|endoftext|>); Llama-3 instruct adds <|eot_id|> and <|eom_id|>:
an engine stops at any of them, so a reply ending at one of them ended at an EOS."""
import json
import shutil

import pytest

from conformance.checking import client_cache
from conformance.checking.api import Fail
from conformance.checking.client_tokenizer import Tokenizer, generation_eos_ids
from conformance.checking.drift import continuation
from conformance.checking.eos import ends_with_eos, require_declared_eos_end
from conformance.checking.reasoning import reasoning_span
from conformance.checking.replies import Reply
from support import ROOT

ENDOFTEXT, IM_END = 0, 2  # tiny-chat: <|endoftext|>, <|im_end|> (the tokenizer's eos_token)


def _model(tmp_path, eos):
    model = tmp_path / "model"
    shutil.copytree(ROOT / "fixtures" / "tiny-chat", model, ignore=shutil.ignore_patterns("*.safetensors"))
    config = json.loads((model / "generation_config.json").read_text())
    config["eos_token_id"] = eos
    (model / "generation_config.json").write_text(json.dumps(config))
    return model


@pytest.fixture
def two_ends(tmp_path, monkeypatch):
    monkeypatch.setattr(client_cache, "ROOT", None)
    return Tokenizer.load(_model(tmp_path, [IM_END, ENDOFTEXT]))


def test_every_generation_config_eos_is_an_end(two_ends):
    tok = two_ends
    assert tok.eos_ids == {IM_END, ENDOFTEXT} and tok.eos_id == IM_END
    words = tok.hf.encode("Hi there", add_special_tokens=False)
    assert ends_with_eos(tok, words + [ENDOFTEXT]) and ends_with_eos(tok, words + [IM_END])
    require_declared_eos_end(tok, words + [ENDOFTEXT], "stop", True, "the dialect")
    with pytest.raises(Fail, match="do not end with the EOS"):
        require_declared_eos_end(tok, words, "stop", True, "the dialect")
    with pytest.raises(Fail, match="sits inside the completion ids"):  # either end, inside the reply
        ends_with_eos(tok, words[:1] + [ENDOFTEXT] + words[1:] + [IM_END])
    span = reasoning_span(tok, words + [ENDOFTEXT], Reply(reasoning="Hi there"))
    assert span is None or span.ended_by_eos
    # what the next turn renders after a reply without its EOS is the tokenizer's EOS
    assert continuation(tok, [5], words, False) == [5, *words, IM_END]


def test_the_tokenizer_eos_alone_without_generation_config(tmp_path, monkeypatch):
    monkeypatch.setattr(client_cache, "ROOT", None)
    model = _model(tmp_path, 7)
    (model / "generation_config.json").unlink()
    tok = Tokenizer.load(model)
    assert tok.eos_ids == {IM_END}
    words = tok.hf.encode("Hi", add_special_tokens=False)
    assert not ends_with_eos(tok, words + [ENDOFTEXT])


@pytest.mark.parametrize("value, ids", [(5, [5]), ([1, 2, 3], [1, 2, 3]), (None, []), ("x", []), ([2, "x"], [2])])
def test_generation_config_eos_as_int_or_list(tmp_path, value, ids):
    assert generation_eos_ids(_model(tmp_path, value)) == ids
    assert generation_eos_ids(tmp_path / "nowhere") == []


def test_the_cache_hit_keeps_every_end(tmp_path, monkeypatch):
    monkeypatch.setattr(client_cache, "ROOT", tmp_path / "cache")
    model = _model(tmp_path, [IM_END, ENDOFTEXT])
    Tokenizer.load(model).eos_ids  # a miss: the facts are stored
    hit = Tokenizer.load(model)
    assert hit.eos_ids == {IM_END, ENDOFTEXT} and hit.cache_state == "hit"
