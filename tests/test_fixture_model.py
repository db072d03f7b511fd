"""The committed fixture model reproduces every scripted reply under greedy decoding."""
import pytest

from conformance.inputs.cases import load_cases
from conftest import ROOT

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

MODEL = ROOT / "fixtures" / "tiny-chat"


@pytest.fixture(scope="module")
def model():
    m = transformers.AutoModelForCausalLM.from_pretrained(MODEL)
    m.eval()
    return m


def scripted():
    for case in load_cases(ROOT / "fixtures" / "cases" / "default.yaml"):
        if case.reply is None:  # a variation on a scripted prompt; nothing scripted to reproduce
            continue
        yield pytest.param(case, case.tools, case.reply, id=case.id)
        if case.tools and case.reply_without_tools:
            yield pytest.param(case, None, case.reply_without_tools, id=f"{case.id}-without-tools")


@pytest.mark.parametrize("case,tools,reply", list(scripted()))
def test_greedy_reproduces_scripted_reply(model, tokenizer, case, tools, reply):
    prompt = tokenizer.prompt_ids(case.messages, tools)
    eos = tokenizer.hf.eos_token_id
    out = model.generate(torch.tensor([prompt]), attention_mask=torch.ones(1, len(prompt), dtype=torch.long),
                         max_new_tokens=80, do_sample=False, eos_token_id=eos, pad_token_id=eos)
    new = out[0, len(prompt):].tolist()
    assert new[-1] == eos
    assert tokenizer.decode(new) == reply


def test_emoji_span_several_tokens(tokenizer):
    # the haiku and flower cases exist to force detokenizer hold-back
    assert len(tokenizer.hf.encode("🌸", add_special_tokens=False)) > 1


def test_tool_call_tokens_are_added_but_not_special(tokenizer):
    ids = tokenizer.hf.convert_tokens_to_ids(["<tool_call>", "</tool_call>"])
    assert all(i < tokenizer.vocab_size for i in ids)
    assert not set(ids) & tokenizer.special_ids


def test_template_renders_tools_by_type_and_function_only(tokenizer):
    tool = {"type": "function", "function": {"name": "f", "parameters": {}}, "defer_loading": None}
    text = tokenizer.render_prompt([{"role": "user", "content": "hi"}], [tool])
    assert "defer_loading" not in text and '"name": "f"' in text
