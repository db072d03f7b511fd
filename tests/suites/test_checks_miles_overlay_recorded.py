"""Miles' SGLang patch as the fork serves chat (`miles:fork`), replayed from a REAL run: SGLang
0.5.23 with tokconf's `miles` overlay (fixtures/recordings/sglang-0.5.23-miles-overlay.jsonl, the
`--record` of tests/live/test_sglang_overlays.py's miles:fork run, served name renamed to
tiny-chat). Each contract point passes on it and fails when the overlay's feature is broken:
`token_id` on stream chunks' logprob entries, the `input_token_ids` echo, `logprob_start_len`, and
Miles' session rule that content is never null beside a tool call."""
import dataclasses
import json

import pytest

from support import RECORDINGS, ROOT, Recorded, outcome, reason, only

RECORDING = RECORDINGS / "sglang-0.5.23-miles-overlay.jsonl"
# SGLang names the vocabulary's last id 0 in input_token_logprobs (fixtures/expectations/sglang-0.5.23-miles-fork.yaml):
# a real FAIL of the echo on the prompts that hold id 539
ECHO_FINDING = {(check, case) for check in ("exposure.nonstream", "parity.stream_nonstream")
                for case in ("weather_tools", "capital_tools", "weather_followup")}
# SGLang's tool-parser stream path sends the parser's text on a chunk without logprobs and the logprob
# entries (this dialect's stream ids) on the next chunk: a real FAIL of stream.id_placement on the cases
# with tools whose reply is text (weather_tools' reply is all tool call: nothing to place)
PLACEMENT_FINDING = {("stream.id_placement", case) for case in ("capital_tools", "weather_followup")}


@pytest.fixture(scope="module")
def fork(tokenizer, cases):
    return Recorded(RECORDING, "miles:fork", tokenizer, cases)


def _run(rec, exchanges, *checks):
    from conformance.running.runner import run_checks
    from conformance.running.target import Target
    from conformance.wire.store import RecordedStore

    target = Target(rec.dialect, rec.tokenizer, None, "tiny-chat")
    target.store = RecordedStore(exchanges)
    return run_checks(target, rec.cases, select=only(*checks))


def _mutated(rec, case, variants, edit_choice):
    """The recording with `edit_choice(choice)` applied to every choice of `case`'s `variants`
    (non-stream bodies and each stream chunk)."""
    out, hit = [], 0
    for ex in rec.exchanges():
        variant = next((r["variant"] for r in rec.records if r["request"] == ex.request), None)
        if variant not in variants or not ex.request.get("messages") or ex.status != 200 or \
                not any(r["case"] == case and r["request"] == ex.request for r in rec.records):
            out.append(ex)
            continue
        if ex.request.get("stream"):
            lines = []
            for line in ex.body.splitlines():
                if line.startswith("data: {"):
                    chunk = json.loads(line[6:])
                    for choice in chunk.get("choices") or []:
                        hit += edit_choice(choice)
                    line = "data: " + json.dumps(chunk)
                lines.append(line)
            body = "\n".join(lines) + "\n"
        else:
            parsed = json.loads(ex.body)
            for choice in parsed["choices"]:
                hit += edit_choice(choice)
            body = json.dumps(parsed)
        out.append(dataclasses.replace(ex, body=body))
    assert hit, f"nothing to break in {case} {variants}"
    return out


def test_the_real_run_passes_but_for_sglangs_last_id_in_the_echo(fork):
    results = fork.run(served="tiny-chat")
    failed = {(r.check, r.case) for r in results if r.outcome.value == "FAIL"}
    assert failed == ECHO_FINDING | PLACEMENT_FINDING, failed
    assert "its ids arrive on chunk 2" in reason(results, "stream.id_placement", "capital_tools")
    assert "differ from position 141 on" in reason(results, "exposure.nonstream", "weather_tools")
    assert not [r for r in results if r.outcome.value == "ERROR"]
    passed = {(r.check, r.case) for r in results if r.outcome.value == "PASS"}
    for check in ("exposure.nonstream", "exposure.stream", "parity.stream_nonstream", "decode.roundtrip.stream",
                  "logprobs.alignment.stream", "reply.content_string"):
        assert (check, "hello") in passed, check


def _drop_token_id(choice):
    entries = (choice.get("logprobs") or {}).get("content") or []
    for entry in entries:
        entry.pop("token_id", None)
    return len(entries)


def _neighbour_id(choice):  # each entry names another token than the one sampled
    entries = (choice.get("logprobs") or {}).get("content") or []
    for entry in entries:
        entry["token_id"] = (entry["token_id"] + 1) % 540
    return len(entries)


@pytest.mark.parametrize("edit, check, words", [
    (_drop_token_id, "exposure.stream", "is MISSING"),  # the overlay's stream entries without token_id
    (_neighbour_id, "parity.stream_nonstream", "completion ids"),
    (_neighbour_id, "decode.roundtrip.stream", "decoded ids give"),
])
def test_stream_token_id_faults_fail(fork, edit, check, words):
    results = _run(fork, _mutated(fork, "hello", {"stream", "logprobs_stream"}, edit), check)
    assert outcome(results, check, "hello") == "FAIL"
    assert words in reason(results, check, "hello"), reason(results, check, "hello")


def _echo_from(start):
    def edit(choice):  # logprob_start_len not passed on: SGLang echoes from its default (-1: nothing)
        if "input_token_ids" not in choice:
            return 0
        choice["input_token_ids"] = choice["input_token_ids"][start:] if start >= 0 else []
        return 1
    return edit


def _no_echo(choice):
    return choice.pop("input_token_ids", None) is not None


@pytest.mark.parametrize("edit, words", [
    (_echo_from(-1), "the prompt ids are an empty list"),
    (_echo_from(3), "(choices[i].input_token_ids, 16 ids) are not the 19 ids sent in input_ids"),
    (_no_echo, "is missing"),
])
def test_prompt_echo_faults_fail(fork, edit, words):
    results = _run(fork, _mutated(fork, "hello", {"nonstream"}, edit), "exposure.nonstream")
    assert outcome(results, "exposure.nonstream", "hello") == "FAIL"
    assert words in reason(results, "exposure.nonstream", "hello"), reason(results, "exposure.nonstream", "hello")


def _content_null(choice):
    message = choice.get("message") or {}
    if not message.get("tool_calls"):
        return 0
    message["content"] = None
    return 1


def test_content_null_beside_a_tool_call_fails(fork):
    assert outcome(_run(fork, fork.exchanges(), "reply.content_string"), "reply.content_string", "weather_tools") == "PASS"
    results = _run(fork, _mutated(fork, "weather_tools", {"nonstream"}, _content_null), "reply.content_string")
    assert outcome(results, "reply.content_string", "weather_tools") == "FAIL"
    assert "message.content is None beside 1 tool call(s)" in reason(results, "reply.content_string", "weather_tools")
