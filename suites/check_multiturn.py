"""Multi-turn prefix stability, the core RL risk: the next turn's prompt must start with this
turn's prompt ids followed by its completion ids, or the trajectory trained on is not the one
the model produced."""
from conformance.checking.api import Fail, Inconclusive, check, skip
from conformance.checking.drift import classify
from conformance.checking.id_sequences import divergence_evidence, first_divergence, require_id_list


@check("multiturn.prefix", needs=["nonstream", "next_turn"], requires=["ids.nonstream"],
       case_filter=lambda case: bool(case.followup), model_output=True)
def check_multiturn_prefix(target, case):
    """Building turn k+1 from turn k's reply (plain or tool call) and the case's `followup`
    messages, the new prompt ids start with turn k's prompt ids + completion ids (plus the EOS
    when the dialect leaves it out of the ids). On failure: where they part, the decoded tokens
    on both sides, and the drift class (template re-render, whitespace, JSON re-serialization,
    dropped reasoning, EOS handling, re-tokenization)."""
    d, tok = target.dialect, target.tokenizer
    if d.shape != "chat" or d.sends_prompt or d.prompt_from_request:
        skip(f"dialect {d.name} sends a client-rendered prompt: the client, not the server, builds the next turn")
    body = target.exchange(case, "nonstream").ok().json
    reply = d.reply(body)
    if reply.finish_reason == "length":
        raise Inconclusive("turn k was cut by max_tokens: its completion is not a whole turn to continue from")
    prompt = require_id_list(d.prompt_ids(body), "turn k prompt ids", tok.vocab_size)
    completion = require_id_list(d.completion_ids(body), "turn k completion ids", tok.vocab_size)
    expected = prompt + completion
    if not d.eos_in_completion_ids and tok.eos_ids and not (completion and completion[-1] in tok.eos_ids):
        expected.append(min(tok.eos_ids))  # the dialect leaves the EOS out; the next prompt has it
    nxt = target.exchange(case, "next_turn").ok().json
    following = require_id_list(d.prompt_ids(nxt), "turn k+1 prompt ids", tok.vocab_size)
    at = first_divergence(expected, following[:len(expected)])
    if at is None:
        return
    drift = classify(tok, expected, following, at, reasoning=reply.reasoning)
    where = (f"inside turn k's prompt (index {at})" if at < len(prompt)
             else f"at turn k's completion id {at - len(prompt)} (index {at})")
    mine = f"{expected[at]} {tok.token_text(expected[at])!r}" if at < len(expected) else "<end>"
    theirs = f"{following[at]} {tok.token_text(following[at])!r}" if at < len(following) else "<end>"
    before = tok.decode(expected[max(0, at - 6):at], skip_special_tokens=False)
    raise Fail(f"{drift.kind}: turn k+1's prompt leaves turn k's prompt + completion {where}, after {before!r}: "
               f"turn k has {mine}, turn k+1 has {theirs}; {drift.detail}",
               drift=drift.kind, drift_detail=drift.detail,
               **divergence_evidence(tok, "turn k prompt + completion", expected, "turn k+1 prompt", following))
