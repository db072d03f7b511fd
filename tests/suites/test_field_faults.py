"""Field bugs reproduced on real vLLM exchanges where the tiny-chat recording has nothing for
the fault to break: chunks that carry several ids are real vLLM output only where the
detokenizer held text back (an emoji's bytes), as in the tiny-think fixture's story_emoji."""
import pytest

from conformance.checking.client_tokenizer import Tokenizer
from support import ROOT, Recorded, outcome, reason


@pytest.fixture(scope="module")
def think_plain():
    from conformance.inputs.cases import load_cases

    tok = Tokenizer.load(ROOT / "fixtures" / "tiny-think")
    cases = load_cases(ROOT / "fixtures" / "cases" / "tiny-think.yaml")
    return Recorded(ROOT / "fixtures" / "recordings" / "tiny-think-vllm-0.32.0-cpu.jsonl", "vllm", tok, cases)


def test_a_stream_that_keeps_the_last_id_of_a_multi_id_chunk_fails(think_plain):
    """vLLM #28635/#30099: a step that yielded several tokens streamed only the last one."""
    select = "check_roundtrip_stream"
    clean = think_plain.run(select=select, served="fixtures/tiny-think")
    assert outcome(clean, "decode.roundtrip.stream", "story_emoji") == "PASS", reason(clean, "decode.roundtrip.stream",
                                                                                     "story_emoji")
    results = think_plain.run(fault="stream.keep_last_id_per_chunk", case="story_emoji", variants=["stream"],
                              select=select, served="fixtures/tiny-think")
    assert outcome(results, "decode.roundtrip.stream", "story_emoji") == "FAIL"
    assert "decoded ids give" in reason(results, "decode.roundtrip.stream", "story_emoji")
