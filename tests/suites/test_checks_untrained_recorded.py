"""Replayed: real vLLM 0.32.0 (CPU) serving an untrained twin of tiny-chat (random weights, same
tokenizer: fixtures/model-src/build_untrained.py). Recorded with

    python fixtures/model-src/build_untrained.py /tmp/untrained
    flock /tmp/tokconf-engine.lock tokconf verify --engine vllm --model /tmp/untrained \\
        --served-model-name tiny-chat --record fixtures/recordings/vllm-0.32.0-cpu-untrained.jsonl

The model ignores every case's script; no check may FAIL (tests/live/test_vllm_untrained.py
runs it live). It also ended one reply with its EOS right after two bytes of an unfinished
character, which vLLM's detokenizer held back: the held-back rule holds at an EOS, not only at a
max_tokens cut."""
from support import RECORDINGS, Recorded, outcome, reason

UNTRAINED = RECORDINGS / "vllm-0.32.0-cpu-untrained.jsonl"


def test_an_untrained_model_gets_no_fail(tokenizer, cases):
    results = Recorded(UNTRAINED, "vllm", tokenizer, cases).run()
    bad = [(r.check, r.case, r.outcome.value, r.reason) for r in results if r.outcome.value in ("FAIL", "ERROR")]
    assert not bad, bad
    assert sum(r.outcome.value == "PASS" for r in results) >= 150
    assert outcome(results, "decode.roundtrip.nonstream", "weather_followup") == "PASS"  # EOS after held-back bytes
    assert "called no tool" in reason(results, "tools.call_parity", "weather_tools")
    assert "not at an EOS" in reason(results, "finish.eos.nonstream", "hello")
    assert "no stop string matched" in reason(results, "finish.stop_string", "count_stop")
