"""Checks on what a stored record is, apart from its ids: whole (a finish reason), scored by
log-probabilities, stored once, produced by the model the request named. Each reads fields a
store may lack: SKIP with the reason then, never PASS unread.
"""
from __future__ import annotations

import math
from typing import Any

from conformance.checking.api import Fail
from conformance.dialects.paths import MISSING
from conformance.trace.checks import NotApplicable, _compared, _logprob_values, trace_check
from conformance.trace.mapping import Mapping
from conformance.trace.model import Trace

# log_softmax in bf16/fp16 can round a certain token's logprob a hair above 0; a probability
# above 1 by more than this is not rounding (rllm #816 padded with 0, which is a logprob; 0.7 is not)
LOGPROB_SLACK = 1e-4


ABORTED = {"abort", "aborted", "cancelled"}  # what engines report for a request stopped from outside (SGLang, vLLM: abort)


@trace_check("trace.complete")
def check_complete(trace: Trace, tok, mapping: Mapping) -> str | None:
    """The record is a whole reply: it has a finish reason, and not "abort". A stream stored
    without one ended before its last chunk (the client disconnected); an aborted generation
    stops where the abort caught it. Either way the ids are a prefix of a reply, and training
    on them as a turn trains on a cut answer."""
    if "finish_reason" not in mapping.fields:
        raise NotApplicable("the mapping has no finish_reason: the store does not say whether a reply ended")
    finish = trace.get("finish_reason")
    if not trace.has("finish_reason"):
        raise Fail("the record has no finish reason: the reply was stored before it ended (a stream cut by a client "
                   "disconnect or an abort); its completion ids are partial",
                   completion_ids=len(trace.get("completion_ids") or []))
    if finish in ABORTED:
        raise Fail(f"finish_reason {finish!r}: the generation was aborted in flight (a cancel, a weight update that "
                   "aborts running requests); its completion ids are a partial reply", finish_reason=finish)
    return None


@trace_check("trace.logprobs")
def check_logprob_values(trace: Trace, tok, mapping: Mapping) -> str | None:
    """The stored logprobs are log-probabilities: finite numbers, none above 0 (a value > 0 is
    a probability above 1: a probability, a logit, or padding stored in their place; NaN
    poisons every loss it enters)."""
    if not trace.has("logprobs"):
        raise NotApplicable("the record stores no logprobs")
    values = _logprob_values(trace.get("logprobs"))
    bad = [(i, v) for i, v in enumerate(values)
           if isinstance(v, bool) or not isinstance(v, (int, float)) or math.isnan(v) or v > LOGPROB_SLACK]
    if bad:
        raise Fail(f"{len(bad)} stored logprobs are not log-probabilities (NaN, not a number, or above 0), first at "
                   f"{bad[0][0]}: {bad[0][1]!r}", positions=[i for i, _ in bad[:10]], values=[repr(v) for _, v in bad[:10]])
    return _compared(["logprobs"] if values else [], "the record stores an empty logprob list")


@trace_check("trace.model")
def check_model(trace: Trace, tok, mapping: Mapping) -> str | None:
    """The record's model (and the raw response's, when kept) is the model the request named:
    a record of another model (a router's fallback, a stale deployment, a mislabelled store)
    scores ids that the policy being trained did not produce. A gateway that resolves aliases
    on purpose declares the finding as an expectation."""
    asked = trace.get("request_model")
    if asked in (MISSING, None):
        raise NotApplicable("the record does not keep the request's model")
    raw = trace.get("raw_response")
    answered = {"record": trace.get("model"),
                "raw response": mapping.raw(raw, "model") if isinstance(raw, dict) else MISSING}
    compared = []
    for where, model in answered.items():
        if model in (MISSING, None):
            continue
        if model != asked:
            raise Fail(f"the request named model {asked!r}; the {where} says {model!r}", request_model=asked, model=model)
        compared.append(f"{where} model")
    return _compared(compared, "the record keeps the request's model but not the model that answered")


class Seen:
    """What identifies a response, across the whole store: its response id (the engine's) and
    the record itself (every field but the store's own trace id). Kept for every record read
    (a -k selection included), so a later duplicate is found whatever was selected."""

    def __init__(self):
        self.first: dict[tuple[str, str], str] = {}

    def note(self, trace: Trace) -> dict[str, str]:
        """The earlier records `trace` repeats, by what repeats (registers `trace`)."""
        keys = []
        rid = trace.get("response_id")
        if rid not in (MISSING, None):
            keys.append(("response id", str(rid)))
        if trace.digest:
            keys.append(("record", trace.digest))
        earlier = {what: self.first[(what, key)] for what, key in keys if (what, key) in self.first}
        for what, key in keys:
            self.first.setdefault((what, key), trace.label)
        return earlier


@trace_check("trace.duplicate", store=True)
def check_duplicate(trace: Trace, tok, mapping: Mapping, earlier: dict[str, str]) -> str | None:
    """Each response is stored once: no earlier record of the store has the same response id,
    or the same content under another trace id (a retried write, a replayed batch). A response
    stored twice is trained twice, and a copy filed in another session splices that session."""
    if earlier:
        what, label = next(iter(earlier.items()))
        raise Fail(f"the same response is stored twice: this record has the {' and the '.join(earlier)} of {label}",
                   earlier=dict(earlier))
    rid = trace.get("response_id")
    return "compared the record" + (" and its response id" if rid not in (MISSING, None) else "") + " with every earlier one"
