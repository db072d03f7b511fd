"""tokenin.followed: token-in ids that differ from the messages' rendering win. A server that ignores
the token-in field and renders the messages used to look conformant (the ids sent were always the
messages' own rendering, or came with placeholder messages only). Shipped recordings predate the
two requests this check sends: it SKIPS there, naming the missing exchange.

The hand-built pair: the placeholder prompt is made the `french` case's messages (so its own reply
is real: french's recorded vLLM reply), and the case is `hello`; the swapped request (hello's
messages, french's prompt ids in kv_transfer_params.prompt_token_ids) is answered with french's reply
(followed the ids: PASS), hello's reply (followed the messages: FAIL), or french's prompt echoed over
hello's completion (echoes the field, generates from the messages: FAIL)."""
import dataclasses
import json

import pytest

from conformance.running.runner import run_checks
from conformance.running.target import Target
from conformance.wire.exchange import Exchange
from conformance.wire.store import RecordedStore
from support import SERVED, VLLM_LATER_RECORDING, VLLM_RECORDINGS, Recorded, outcome, reason

CHECK, SELECT = "tokenin.followed", "check_tokenin_followed"


@pytest.fixture(scope="module")
def setup(vllm_recorded, cases):
    by_id = {c.id: c for c in cases}
    hello, french = by_id["hello"], by_id["french"]
    assert hello.params == french.params  # the placeholder request is then french's recorded request
    dialect = dataclasses.replace(vllm_recorded.dialect, token_in_messages=list(french.messages))
    pairs = vllm_recorded.pairs()
    target = Target(dialect, vllm_recorded.tokenizer, RecordedStore(pairs), SERVED)
    replies = {c: target.exchange(by_id[c], "nonstream").ok() for c in ("hello", "french")}
    spec = target.request(hello, "token_in_swapped")
    assert spec.body["messages"] == hello.messages
    assert spec.body["kv_transfer_params"]["prompt_token_ids"] == replies["french"].json["prompt_token_ids"]
    return dialect, pairs, spec, replies, hello


def _run(vllm_recorded, setup, body):
    dialect, pairs, spec, _, hello = setup
    swapped = Exchange("POST", spec.path, spec.body, 200, {"content-type": "application/json"}, json.dumps(body))
    target = Target(dialect, vllm_recorded.tokenizer, RecordedStore([*pairs, swapped]), SERVED)
    return run_checks(target, [hello], select=SELECT)


def test_a_reply_that_followed_the_ids_passes(vllm_recorded, setup):
    results = _run(vllm_recorded, setup, setup[3]["french"].json)
    assert outcome(results, CHECK, "hello") == "PASS", reason(results, CHECK, "hello")


def test_a_reply_that_followed_the_messages_fails(vllm_recorded, setup):
    results = _run(vllm_recorded, setup, setup[3]["hello"].json)
    assert outcome(results, CHECK, "hello") == "FAIL"
    assert "the token-in field was ignored" in reason(results, CHECK, "hello")


def test_echoing_the_ids_while_generating_from_the_messages_fails(vllm_recorded, setup):
    body = dict(setup[3]["hello"].json, prompt_token_ids=setup[3]["french"].json["prompt_token_ids"])
    results = _run(vllm_recorded, setup, body)
    assert outcome(results, CHECK, "hello") == "FAIL"
    assert "the reply followed the messages, not the token-in ids" in reason(results, CHECK, "hello")


def test_a_recording_without_the_requests_skips_naming_them(vllm_recorded):
    older = Recorded([p for p in VLLM_RECORDINGS if p != VLLM_LATER_RECORDING], "vllm", vllm_recorded.tokenizer,
                     vllm_recorded.cases)  # as recorded before the check
    results = older.run(select=SELECT)
    ran = [r for r in results if r.check == CHECK]
    assert ran and {r.outcome.value for r in ran} == {"SKIP"}, [(r.case, r.outcome.value, r.reason) for r in ran]
    assert "the recording holds no exchange for hello/placeholder_nonstream" in reason(results, CHECK, "hello")
