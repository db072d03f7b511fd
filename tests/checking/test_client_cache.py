"""The client-tokenizer cache (conformance.checking.client_cache): a run on files it has seen
answers exactly as transformers does, without loading transformers; any change to the files is a
miss; a damaged or unwritable cache costs a reload, never a wrong answer or a crash."""
import json
import shutil

import pytest

from conformance.checking import client_cache
from conformance.checking.client_tokenizer import Tokenizer
from conformance.inputs.cases import load_cases
from support import ROOT
from test_tokenizer_fast_paths import TOKENIZERS

CASES = [case for path in sorted((ROOT / "fixtures" / "cases").glob("*.yaml")) for case in load_cases(path)]
MARKERS = ["<think>", "</think>", "<tool_call>", "</tool_call>", "hello"]


def answers(tok: Tokenizer) -> dict:
    """Everything a run asks of the client tokenizer, over every shipped case (tools included)."""
    out = {"class": tok.class_name, "vocab": tok.vocab_size, "special": sorted(tok.special_ids),
           "eos": sorted(tok.eos_ids), "differences": tok.file_differences,
           "markers": [tok.marker_id(m) for m in MARKERS], "prompts": []}
    for case in CASES:
        for tools in (case.tools or None, None):
            ids = tok.prompt_ids(case.messages, tools)
            out["prompts"].append([tok.render_prompt(case.messages, tools), ids, tok.decode(ids),
                                   tok.decode(ids, skip_special_tokens=False)])
    step = max(1, tok.vocab_size // 300)
    out["tokens"] = [tok.token_text(i) for i in range(0, tok.vocab_size, step)]
    return out


@pytest.mark.parametrize("path", TOKENIZERS, ids=lambda p: p.name)
def test_a_hit_answers_as_transformers_does_without_loading_it(path, tmp_path, monkeypatch):
    monkeypatch.setattr(client_cache, "ROOT", None)
    plain = answers(Tokenizer.load(path))
    monkeypatch.setattr(client_cache, "ROOT", tmp_path)
    first = Tokenizer.load(path)
    assert first.cache_state == "miss"
    assert answers(first) == plain  # and stored every render and marker it was asked
    again = Tokenizer.load(path)
    assert again.cache_state == "hit"
    assert answers(again) == plain
    assert again.cache_state == "hit" and again._hf is None  # transformers never loaded
    assert again.hf.chat_template  # what the cache lacks is asked of transformers
    assert again.cache_state == "partial"


def _copy(src, dst):
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("*.safetensors"))
    return dst


def test_a_changed_template_or_tokenizer_file_is_a_miss(tmp_path, monkeypatch):
    monkeypatch.setattr(client_cache, "ROOT", tmp_path / "cache")
    model = _copy(ROOT / "fixtures" / "tiny-chat", tmp_path / "model")
    messages = CASES[0].messages
    before = Tokenizer.load(model).render_prompt(messages, None)
    assert Tokenizer.load(model).cache_state == "hit"
    config = json.loads((model / "tokenizer_config.json").read_text())
    template = config.get("chat_template") or (model / "chat_template.jinja").read_text()
    changed = "{{ 'SYSTEM: be brief\\n' }}" + template
    if "chat_template" in config:
        config["chat_template"] = changed
        (model / "tokenizer_config.json").write_text(json.dumps(config))
    else:
        (model / "chat_template.jinja").write_text(changed)
    after = Tokenizer.load(model)
    assert after.cache_state == "miss"
    assert after.render_prompt(messages, None) == "SYSTEM: be brief\n" + before
    assert len(list((tmp_path / "cache" / "client").glob("*.jsonl"))) == 2


def test_a_damaged_cache_is_asked_again_and_an_unwritable_one_is_done_without(tmp_path, monkeypatch):
    monkeypatch.setattr(client_cache, "ROOT", tmp_path / "cache")
    model = ROOT / "fixtures" / "tiny-chat"
    messages = CASES[0].messages
    expected = Tokenizer.load(model).prompt_ids(messages, None)
    [path] = (tmp_path / "cache" / "client").glob("*.jsonl")
    lines = path.read_text().splitlines()
    # the facts line cut short (a crash mid-write) and a render line that is not JSON
    path.write_text(lines[0][:40] + "\n" + "{not json\n" + "\n".join(lines[1:]) + "\n")
    tok = Tokenizer.load(model)
    assert tok.cache_state == "miss" and tok.prompt_ids(messages, None) == expected
    assert Tokenizer.load(model).cache_state == "hit"  # the facts were stored again
    (tmp_path / "a-file").write_text("")  # a cache directory that cannot be made (root ignores modes)
    monkeypatch.setattr(client_cache, "ROOT", tmp_path / "a-file" / "cache")
    other = [{"role": "user", "content": "not asked before"}]
    tok = Tokenizer.load(model)
    assert tok.prompt_ids(other, None) == tok.hf.encode(tok.hf.apply_chat_template(
        other, add_generation_prompt=True, tokenize=False), add_special_tokens=False)
    assert tok.cache_state == "miss" and tok._cache.added == 0


def test_the_cache_directory_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TOKCONF_CACHE_DIR", str(tmp_path / "here"))
    assert client_cache.default_root() == tmp_path / "here"
    monkeypatch.setenv("TOKCONF_CACHE_DIR", "off")
    assert client_cache.default_root() is None
    monkeypatch.delenv("TOKCONF_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert client_cache.default_root() == tmp_path / "xdg" / "tokconf"
    assert client_cache.ClientCache.open("Qwen/Qwen3-8B", tmp_path) is None  # a hub id: not cached


def test_a_full_cache_takes_no_more_entries_on_disk_or_in_memory(tmp_path, monkeypatch):
    monkeypatch.setattr(client_cache, "ROOT", tmp_path)
    monkeypatch.setattr(client_cache, "MAX_BYTES", 4096)
    tok = Tokenizer.load(ROOT / "fixtures" / "tiny-chat")
    for n in range(40):
        tok.prompt_ids([{"role": "user", "content": f"question number {n} " * 5}], None)
    [path] = (tmp_path / "client").glob("*.jsonl")
    size = path.stat().st_size
    assert 4096 <= size < 4096 + 2048  # the line that crossed the bound is the last one written
    assert len(tok._cache._entries) < 40
    tok.prompt_ids([{"role": "user", "content": "one more"}], None)
    assert path.stat().st_size == size


def test_the_key_reads_no_weights_and_no_hidden_directory(tmp_path, monkeypatch):
    """A git clone of a model holds its weights again under .git/lfs (no suffix): never hashed.
    A named chat template in additional_chat_templates/ is part of the key."""
    model = _copy(ROOT / "fixtures" / "tiny-chat", tmp_path / "model")
    key = client_cache.directory_key(model)
    read = []
    original = type(model).read_bytes
    monkeypatch.setattr(type(model), "read_bytes", lambda self: read.append(self.name) or original(self))
    (model / ".git" / "lfs" / "objects").mkdir(parents=True)
    (model / ".git" / "lfs" / "objects" / "0f1e2d").write_bytes(b"weights" * 1000)
    (model / "model.safetensors").write_bytes(b"weights")
    assert client_cache.directory_key(model) == key
    assert "0f1e2d" not in read and "model.safetensors" not in read
    (model / "additional_chat_templates").mkdir()
    (model / "additional_chat_templates" / "tool_use.jinja").write_text("{{ messages }}")
    assert client_cache.directory_key(model) != key
