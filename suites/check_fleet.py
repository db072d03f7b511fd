"""Fleets: a router in front of N workers must give a client the same ids whichever worker
serves it (one worker with another tokenizer file, engine version or chat template trains the
policy on tokens the others would not produce)."""
from conformance.checking.api import Fail, FaultProof, check, skip
from conformance.checking.fleet import fleet_variants, repeats, reply_ids
from conformance.checking.id_sequences import describe_divergence, divergence_evidence


# needs: the non-stream reply only (follow-ups are built on it); the repeats of every variant are
# sent by the check itself, one at a time, so a run without --fleet-size sends nothing more.
@check("fleet.workers_agree", needs=["nonstream"], requires=["ids.nonstream"],
       case_filter=lambda case: case.is_greedy, model_output=True,
       caught_by=[
           FaultProof("nonstream.drop_eos", "hello", "repeat 2 completion ids lacks the last 1 id(s)",
                      variants=["nonstream"], on="fleet"),
           FaultProof("stream.drop_eos", "haiku", "repeat 2 completion ids lacks the last 1 id(s)",
                      variants=["stream"], on="fleet"),
           FaultProof("nonstream.worker_other_template", "hello", "27 id(s) inserted",
                      variants=["nonstream"], on="fleet:vllm-copies"),
       ])
def check_fleet_workers_agree(target, case):
    """With `--fleet-size N` (a round-robin router in front of N workers): every greedy request
    with ids (non-stream, stream, logprobs, next turn, token in, as the dialect has them) is sent
    N more times, one at a time, back to back, so each worker serves it once;
    the replies' prompt ids, completion ids and text must be identical. On failure: the request
    (case/variant), the repeats, and the first divergence with the decoded tokens around it.
    SKIP without --fleet-size; INCONCLUSIVE when one worker does not reproduce itself."""
    n = target.fleet_size
    if n < 2:
        skip("not a fleet run: --fleet-size N declares a router in front of N workers")
    tok = target.tokenizer
    for variant in fleet_variants(target.dialect, case):
        sent = repeats(target, case, variant)
        statuses = [ex.status for ex in sent]
        if len(set(statuses)) > 1:
            raise Fail(f"workers disagree on {case.id}/{variant}: the {n} repeats sent back to back through the "
                       f"router got HTTP {', '.join(map(str, statuses))}", statuses=statuses)
        if not sent[0].status or not 200 <= sent[0].status < 300:
            continue  # every worker refused it alike (a refusal is other checks' business)
        first = reply_ids(target, sent[0], f"{variant} repeat 1")
        for k, ex in enumerate(sent[1:], start=2):
            other = reply_ids(target, ex, f"{variant} repeat {k}")
            for part in ("prompt", "completion"):
                left, right = getattr(first, part), getattr(other, part)
                if left != right:
                    names = (f"repeat 1 {part} ids", f"repeat {k} {part} ids")
                    raise Fail(f"workers disagree on {case.id}/{variant} (repeats 1 and {k} of {n}, sent back to "
                               f"back through the router): " + describe_divergence(tok, names[0], left, names[1], right),
                               variant=variant, **divergence_evidence(tok, names[0], left, names[1], right))
            if first.text != other.text:
                raise Fail(f"workers disagree on {case.id}/{variant}: the same ids but repeat 1 says {first.text!r} "
                           f"and repeat {k} says {other.text!r}", variant=variant)
