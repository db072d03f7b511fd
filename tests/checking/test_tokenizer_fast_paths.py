"""The client tokenizer's fast paths give exactly what transformers gives: the tokconf process
imports transformers without torch (WITHOUT_TORCH), and decode() calls the `tokenizers` backend
directly where transformers' own decode is that one call. Shown on every shipped tokenizer."""
import json
import subprocess
import sys

import pytest

from conformance.checking.client_tokenizer import Tokenizer
from conformance.errors import UsageError
from support import ROOT

TOKENIZERS = [ROOT / "fixtures" / "tiny-chat", ROOT / "fixtures" / "tiny-chat-bytelevel",
              ROOT / "fixtures" / "tiny-think", ROOT / "fixtures" / "recordings" / "sglang-model"]

# what a run asks of the client tokenizer, over every shipped case (tools included)
FINGERPRINT = r"""
import json, sys
from conformance.checking import client_tokenizer
from conformance.inputs.cases import load_cases
client_tokenizer.WITHOUT_TORCH = sys.argv[2] == "without-torch"
tok = client_tokenizer.Tokenizer.load(sys.argv[1])
out = {"class": tok.class_name, "vocab": tok.vocab_size, "special": sorted(tok.special_ids),
       "eos": sorted(tok.eos_ids), "template": tok.hf.chat_template, "differences": tok.file_differences,
       "torch": "torch" in sys.modules, "prompts": [], "decoded": []}
for path in sorted((client_tokenizer.Path(sys.argv[3])).glob("*.yaml")):
    for case in load_cases(path):
        for tools in (case.tools or None, None):
            text = tok.render_prompt(case.messages, tools)
            ids = tok.prompt_ids(case.messages, tools)
            out["prompts"].append([text, ids, tok.decode(ids), tok.decode(ids, skip_special_tokens=False)])
step = max(1, tok.vocab_size // 500)
out["decoded"] = [tok.token_text(i) for i in range(0, tok.vocab_size, step)]
print(json.dumps(out))
"""


def _fingerprint(path, mode):
    res = subprocess.run([sys.executable, "-c", FINGERPRINT, str(path), mode, str(ROOT / "fixtures" / "cases")],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout)


@pytest.mark.parametrize("path", TOKENIZERS, ids=lambda p: p.name)
def test_transformers_without_torch_is_the_same_client(path):
    without, full = _fingerprint(path, "without-torch"), _fingerprint(path, "with-torch")
    assert without.pop("torch") is False and full.pop("torch") is True  # the two loads really differ
    assert without["prompts"] and without == full


@pytest.mark.parametrize("path", TOKENIZERS, ids=lambda p: p.name)
def test_decode_through_the_backend_equals_transformers_decode(path):
    tok = Tokenizer.load(path)
    assert tok._plain_backend is not None, f"{tok.class_name}: decode goes through transformers"
    texts = ["Hello there! How are you?", "Café 🌸 中文", "<|im_start|>user\nhi<|im_end|>", " \n\t  x", "{\"a\": 1}"]
    seqs = [tok.hf.encode(t, add_special_tokens=False) for t in texts]
    seqs += [[i] for i in range(0, tok.vocab_size, max(1, tok.vocab_size // 2000))]
    seqs += [s[:k] for s in seqs[:len(texts)] for k in range(len(s))]  # cut mid-character too
    seqs.append(sorted(tok.special_ids) + seqs[0])
    for ids in seqs:
        for skip in (True, False):
            assert tok.decode(ids, skip) == tok.hf.decode(ids, skip_special_tokens=skip,
                                                          clean_up_tokenization_spaces=False), ids


def test_a_class_with_its_own_decode_keeps_transformers_decode():
    tok = Tokenizer.load(ROOT / "fixtures" / "tiny-chat")
    own = type("OwnDecode", (type(tok.hf),), {"_decode": lambda self, token_ids=None, **kw: "own"})
    tok.hf.__class__ = own
    assert tok._plain_backend is None and tok.decode([1, 2]) == "own"


def test_a_background_load_failure_is_raised_by_ready(tmp_path):
    (tmp_path / "tokenizer_config.json").write_text("{not json")
    tok = Tokenizer.load_in_background(str(tmp_path))  # the path's shape is fine: the load fails later
    with pytest.raises(UsageError, match="cannot load a tokenizer from"):
        tok.ready()
    with pytest.raises(UsageError):  # and again on the first use, never a half-loaded tokenizer
        tok.decode([1])
