"""stream.id_placement: a delta (or cumulative) stream's ids arrive with their text. Every real
recording of a dialect that places ids per chunk passes, the emoji and stop-string cases (text held
back behind its ids) included; the same streams with every chunk's ids moved one chunk later (text
before its ids) or one chunk earlier (text lagging beyond hold-back) FAIL, though the concatenated
ids, and with them every other check, are unchanged."""
import pytest

from conformance.checking.client_tokenizer import Tokenizer
from conformance.inputs.cases import load_cases
from support import RECORDINGS, ROOT, VLLM_RECORDINGS, Recorded, outcome, reason

CHECK = "stream.id_placement"
SELECT = "check_stream_id_placement"
THINK_CASES = ROOT / "fixtures" / "cases" / "tiny-think.yaml"


def _think():
    return Tokenizer.load(ROOT / "fixtures" / "tiny-think"), load_cases(THINK_CASES)


def _sglang():
    return Tokenizer.load(RECORDINGS / "sglang-model"), load_cases(RECORDINGS / "sglang-cases.yaml")


def _sglang_generate():
    return Tokenizer.load(RECORDINGS / "sglang-model"), load_cases(RECORDINGS / "sglang-0.5.23-cases.yaml") + \
        load_cases(RECORDINGS / "sglang-0.5.23-generate-cases.yaml")


# (name, recording, dialect, tokenizer and cases (None: the fixture's), served model name)
REAL = [
    ("vllm", VLLM_RECORDINGS, "vllm", None, "tiny-chat"),
    ("vllm-untrained", RECORDINGS / "vllm-0.32.0-cpu-untrained.jsonl", "vllm", None, "tiny-chat"),
    ("vllm-think", RECORDINGS / "tiny-think-vllm-0.32.0-cpu.jsonl", "vllm", _think, "fixtures/tiny-think"),
    ("vllm-think-qwen3", RECORDINGS / "tiny-think-vllm-0.32.0-cpu-qwen3.jsonl", "vllm", _think, "fixtures/tiny-think"),
    ("dynamo-vllm", RECORDINGS / "dynamo-1.6.1-vllm-0.31.0-cpu.jsonl", "dynamo", None, "tiny-chat"),
    ("sglang-agentcore-patch", RECORDINGS / "sglang-0.5.x-agentcore-patch" / "chat_completions.jsonl",
     "sglang-tokenids-patch", _sglang, "tiny"),
    ("sglang-generate", RECORDINGS / "sglang-0.5.23" / "generate.jsonl", "sglang-generate", _sglang_generate, "tiny"),
]


def _recorded(row, tokenizer, cases):
    _, path, dialect, load, _served = row
    tok, cs = load() if load else (tokenizer, cases)
    return Recorded(path, dialect, tok, cs)


@pytest.mark.parametrize("row", REAL, ids=[r[0] for r in REAL])
def test_real_streams_place_their_ids_with_their_text(row, tokenizer, cases):
    results = [r for r in _recorded(row, tokenizer, cases).run(select=SELECT, served=row[4]) if r.check == CHECK]
    ran = [r for r in results if r.outcome.value != "SKIP"]
    assert len(ran) >= 2, [(r.case, r.outcome.value, r.reason) for r in results]
    assert all(r.outcome.value == "PASS" for r in ran), [(r.case, r.reason) for r in ran if r.outcome.value != "PASS"]
    # a skip only where there is no text to place (a reply that is all tool call)
    assert all("nothing to place" in r.reason for r in results if r.outcome.value == "SKIP"), \
        [(r.case, r.reason) for r in results if r.outcome.value == "SKIP"]


def test_held_back_text_passes_emoji_and_stop_strings(tokenizer, cases):
    """Text that lags its ids: an emoji's bytes split over tokens (held back until complete, or for
    good at a max_tokens cut) and the text a stop string may begin."""
    think_tok, think_cases = _think()
    rec = Recorded(RECORDINGS / "tiny-think-vllm-0.32.0-cpu.jsonl", "vllm", think_tok, think_cases)
    results = rec.run(select=SELECT, served="fixtures/tiny-think")
    for case in ("story_emoji", "story_cut_in_emoji", "emoji_zwj_flag", "price_stop"):
        assert outcome(results, CHECK, case) == "PASS", reason(results, CHECK, case)
    results = Recorded(VLLM_RECORDINGS, "vllm", tokenizer, cases).run(select=SELECT)
    for case in ("flower_emoji", "count_stop"):
        assert outcome(results, CHECK, case) == "PASS", reason(results, CHECK, case)


# (recording row, case, fault, words)
FAULTS = [
    ("vllm", "hello", "stream.ids_one_chunk_late", "arrives before its ids"),
    ("vllm", "haiku", "stream.ids_one_chunk_late", "its ids arrive on chunk"),
    ("vllm", "flower_emoji", "stream.ids_one_chunk_late", "arrives before its ids"),
    ("vllm", "hello", "stream.ids_one_chunk_early", "ids are ahead of the text"),
    ("vllm", "count_stop", "stream.ids_one_chunk_early", "ids are ahead of the text"),
    ("vllm-think", "story_emoji", "stream.ids_one_chunk_late", "arrives before its ids"),
    ("vllm-think-qwen3", "think_math", "stream.ids_one_chunk_late", "arrives before its ids"),
    ("vllm-think-qwen3", "think_math", "stream.ids_one_chunk_early", "ids are ahead of the text"),
    ("dynamo-vllm", "hello", "stream.ids_one_chunk_late", "arrives before its ids"),
    ("dynamo-vllm", "haiku", "stream.ids_one_chunk_early", "ids are ahead of the text"),
    ("sglang-agentcore-patch", "haiku", "stream.ids_one_chunk_late", "arrives before its ids"),
    # cumulative chunks: each chunk's list is the one before it (late) or after it (early)
    ("sglang-generate", "haiku", "stream.ids_one_chunk_late", "arrives before its ids"),
    ("sglang-generate", "french", "stream.ids_one_chunk_early", "ids are ahead of the text"),
]
ROWS = {r[0]: r for r in REAL}


@pytest.mark.parametrize("name,case,fault,words", FAULTS, ids=[f"{n}-{c}-{f}" for n, c, f, _ in FAULTS])
def test_ids_on_the_wrong_chunk_fail(name, case, fault, words, tokenizer, cases):
    row = ROWS[name]
    variants = None if name.startswith("sglang") else ["stream"]  # SGLang's recordings name their own variants
    results = _recorded(row, tokenizer, cases).run(fault=fault, case=case, variants=variants, select=SELECT,
                                                   served=row[4])
    assert outcome(results, CHECK, case) == "FAIL", reason(results, CHECK, case)
    assert words in reason(results, CHECK, case)


def test_a_shifted_stream_keeps_its_concatenation(vllm_recorded):
    """The fault the check exists for passes every check that reads only the concatenated ids."""
    results = vllm_recorded.run(fault="stream.ids_one_chunk_late", case="hello", variants=["stream"],
                                select="roundtrip or exposure or parity or placement")
    assert outcome(results, "decode.roundtrip.stream", "hello") == "PASS"
    assert outcome(results, "exposure.stream", "hello") == "PASS"
    assert outcome(results, "parity.stream_nonstream", "hello") == "PASS"
    assert outcome(results, CHECK, "hello") == "FAIL"


def test_modes_without_per_chunk_ids_skip(tokenizer, cases):
    sglang_tok, sglang_cases = _sglang()
    results = Recorded(RECORDINGS / "sglang-0.5.23" / "chat_completions.jsonl", "sglang", sglang_tok,
                       sglang_cases).run(select=SELECT, served="tiny")
    assert outcome(results, CHECK, "hello") == "SKIP"
    assert "ids.per_chunk" in reason(results, CHECK, "hello")


def test_a_stream_without_text_is_not_placed(tokenizer, cases):
    """Dynamo's mocker streams random ids and no text: nothing to place them against (SKIP, not PASS)."""
    results = Recorded(RECORDINGS / "dynamo-1.6.1-mocker.jsonl", "dynamo", tokenizer, cases).run(select=SELECT)
    assert {r.outcome.value for r in results if r.check == CHECK} == {"SKIP"}
    assert "nothing to place" in reason(results, CHECK, "hello")


def test_incremental_generate_deltas_are_placed(tokenizer, cases):
    """`sglang-generate:incremental` (disjoint /generate deltas, the recorded cumulative streams cut
    into their documented delta shape): placed as recorded, FAIL one chunk late."""
    from conformance.dialects import load_dialect
    from conformance.running.runner import run_checks
    from conformance.running.target import Target
    from conformance.selftest.faults import FAULTS, FaultContext, apply_fault
    from conformance.wire.exchange import Exchange
    from conformance.wire.store import RecordedStore
    from test_checks_sglang_upstream_recorded import _as_incremental
    import json

    tok, cs = _sglang_generate()
    d = load_dialect("sglang-generate:incremental")
    recorded = [Exchange.from_record(json.loads(line))
                for line in (RECORDINGS / "sglang-0.5.23" / "generate.jsonl").read_text().splitlines()]
    deltas = [_as_incremental(e) if e.is_stream_request else e for e in recorded]
    results = run_checks(Target(d, tok, RecordedStore(deltas), "tiny"), cs, select=SELECT)
    assert {r.outcome.value for r in results} <= {"PASS", "SKIP"}, [(r.case, r.reason) for r in results]
    assert outcome(results, CHECK, "haiku") == "PASS"
    late = [apply_fault(e, FAULTS["stream.ids_one_chunk_late"], FaultContext(d, tok)) or e
            if e.is_stream_request else e for e in deltas]
    results = run_checks(Target(d, tok, RecordedStore(late), "tiny"), cs, select=SELECT)
    assert outcome(results, CHECK, "haiku") == "FAIL"
    assert "arrives before its ids" in reason(results, CHECK, "haiku")
