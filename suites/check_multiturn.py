"""Multi-turn prefix stability, the core RL risk: the next turn's prompt must start with this
turn's prompt ids followed by its completion ids, or the trajectory trained on is not the one
the model produced."""
from conformance.checking.api import FaultProof, Inconclusive, check, skip
from conformance.checking.drift import continuation, prefix_break
from conformance.checking.id_sequences import first_divergence, require_id_list
from conformance.checking.dialect_replies import reply_of


@check("multiturn.prefix", needs=["nonstream", "next_turn"], requires=["ids.nonstream"],
       case_filter=lambda case: bool(case.followup), model_output=True,
       caught_by=[
           FaultProof("nonstream.next_prompt_drops_eos", "hello", "EOS handling", variants=["next_turn"]),
           FaultProof("nonstream.next_prompt_drops_eos", "weather_tools", "EOS handling", variants=["next_turn"]),
           FaultProof("nonstream.next_prompt_reserializes_tool_json", "weather_tools", "JSON re-serialization",
                      variants=["next_turn"]),
       ])
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
    reply = reply_of(d, body)
    if reply.finish_reason == "length":
        raise Inconclusive("turn k was cut by max_tokens: its completion is not a whole turn to continue from")
    prompt = require_id_list(d.prompt_ids(body), "turn k prompt ids", tok.vocab_size)
    completion = require_id_list(d.completion_ids(body), "turn k completion ids", tok.vocab_size)
    expected = continuation(tok, prompt, completion, d.eos_in_completion_ids)
    nxt = target.exchange(case, "next_turn").ok().json
    following = require_id_list(d.prompt_ids(nxt), "turn k+1 prompt ids", tok.vocab_size)
    at = first_divergence(expected, following[:len(expected)])
    if at is None:
        return
    raise prefix_break(tok, expected, following, at, len(prompt), "turn k", "turn k+1", reasoning=reply.reasoning)
