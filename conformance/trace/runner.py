"""Run the trace checks over a stream of stored records: one pass, bounded memory.

Every record gives one result per per-trace check (its case is `session/turn`); a record
built on an earlier turn of its session (its messages extend that turn's messages and reply)
gives a session.prefix result too. A record that does not parse is one ERROR result
(check `trace.record`), and the run goes on.
"""
from __future__ import annotations

import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

from conformance.checking.verdicts import Fail, Inconclusive
from conformance.checking.client_tokenizer import Tokenizer
from conformance.dialects.paths import MISSING
from conformance.outcomes import Outcome, Result
from conformance.running.selection import Selection
from conformance.trace.checks import (TRACE_CHECKS, NotApplicable, continues, reply_key, stored_reply,
                                      unstored_replies)
from conformance.trace.mapping import Mapping
from conformance.trace.record_checks import Seen
from conformance.trace.model import Trace, read_trace, session_of
from conformance.trace.sources import Row

RECORD_CHECK = "trace.record"
KEEP_TURNS = 32  # earlier turns of a session kept to find the one a turn continues
KEEP_SESSIONS = 4096  # sessions kept open when a source interleaves them (JSONL)
FULL_EVIDENCE = 200  # non-passing results that keep their whole evidence (id lists, decoded tokens);
# later ones keep the reason and a summary, so the report of a store with thousands of findings stays small


@dataclass
class _Session:
    turns: int = 0
    recent: deque = field(default_factory=lambda: deque(maxlen=KEEP_TURNS))
    reply_keys: set = field(default_factory=set)


def _slim(trace: Trace) -> Trace:
    """What a later turn needs of this one (the rest is dropped: memory stays bounded)."""
    keep = ("messages", "prompt_ids", "completion_ids", "finish_reason")
    return Trace(trace.label, trace.where, trace.session, trace.turn, {k: trace.get(k) for k in keep})


def _run_one(check_id: str, call: Callable[[], str | None]) -> tuple[Outcome, str, dict]:
    try:
        note = call()
        return Outcome.PASS, note or "", {}
    except Fail as exc:
        return Outcome.FAIL, str(exc), exc.evidence
    except Inconclusive as exc:
        return Outcome.INCONCLUSIVE, str(exc), exc.evidence
    except NotApplicable as exc:
        return Outcome.SKIP, str(exc), {}
    except Exception as exc:  # noqa: BLE001 - a tokconf bug or data no rule expects: ERROR, never a crash
        return Outcome.ERROR, f"{check_id} raised {type(exc).__name__}: {exc}", {}


class _EvidenceBudget:
    def __init__(self, full: int = FULL_EVIDENCE):
        self.left = full

    def trim(self, evidence: dict) -> dict:
        if not evidence:
            return evidence
        if self.left > 0:
            self.left -= 1
            return evidence
        small = {k: v for k, v in evidence.items() if isinstance(v, (str, int, float, bool)) or v is None}
        small = {k: (v[:200] + "…" if isinstance(v, str) and len(v) > 200 else v) for k, v in small.items()}
        return {**small, "evidence_trimmed": f"id lists dropped after the first {FULL_EVIDENCE} findings"}


def _result(check_id: str, trace_label: str, where: str, call: Callable[[], str | None],
            budget: _EvidenceBudget) -> Result:
    started = time.perf_counter()
    outcome, reason, evidence = _run_one(check_id, call)
    evidence = {"record": where, **budget.trim(evidence)}
    return Result(check_id, trace_label, outcome, reason, time.perf_counter() - started, evidence)


def selected_checks(select: list[str] | None) -> list[str]:
    ids = list(TRACE_CHECKS)
    if not select:
        return ids
    return [c for c in ids if any(c == s or c.startswith(s.rstrip(".*") + ".") or c.startswith(s) for s in select)]


def run_traces(rows: Iterable[Row], tok: Tokenizer, mapping: Mapping, checks: list[str] | None = None,
               on_trace: Callable[[int], None] | None = None, select: Selection | None = None) -> Iterator[Result]:
    """Results, trace by trace, as the rows stream in; `select` (-k) names the (check, session/turn)
    results to produce, as verify's -k names (check, case)."""
    checks = checks or list(TRACE_CHECKS)
    wanted = (lambda check_id, label: True) if select is None else select.matches
    single = [TRACE_CHECKS[c] for c in checks if not TRACE_CHECKS[c].pair and not TRACE_CHECKS[c].store]
    store = [TRACE_CHECKS[c] for c in checks if TRACE_CHECKS[c].store]
    seen = Seen()  # store-wide: a duplicate may sit in another session
    pair = [TRACE_CHECKS[c] for c in checks if TRACE_CHECKS[c].pair]
    sessions: OrderedDict[str | None, _Session] = OrderedDict()
    budget = _EvidenceBudget()
    count = 0
    for row in rows:
        count += 1
        if on_trace:
            on_trace(count)
        if row.record is None:
            yield Result(RECORD_CHECK, f"{row.session_hint}/?" if row.session_hint else row.where, Outcome.ERROR,
                         f"{row.where}: the record cannot be read: {row.error}", 0.0, {"record": row.where})
            continue
        sid = session_of(row.record, mapping, row.session_hint)
        state = sessions.get(sid)
        if state is None:
            if row.session_hint is not None:
                sessions.clear()  # a store yields its sessions one after the other: the last one is done
            state = sessions[sid] = _Session()
            while len(sessions) > KEEP_SESSIONS:
                sessions.popitem(last=False)
        else:
            sessions.move_to_end(sid)
        trace = read_trace(row.record, mapping, where=row.where, session_hint=row.session_hint, turn=state.turns,
                           session=sid)
        state.turns += 1
        for chk in (c for c in single if wanted(c.id, trace.label)):
            yield _result(chk.id, trace.label, trace.where, lambda chk=chk: chk.fn(trace, tok, mapping), budget)
        earlier = seen.note(trace)
        for chk in (c for c in store if wanted(c.id, trace.label)):
            yield _result(chk.id, trace.label, trace.where, lambda chk=chk: chk.fn(trace, tok, mapping, earlier), budget)
        if pair and sid is not None:
            previous = next((p for p in reversed(state.recent) if continues(p, trace)), None)
            if previous is not None:
                missing = unstored_replies(previous, trace, state.reply_keys)
                for chk in (c for c in pair if wanted(c.id, trace.label)):
                    yield _result(chk.id, trace.label, trace.where,
                                  lambda chk=chk: chk.fn(previous, trace, tok, mapping, missing), budget)
        state.recent.append(_slim(trace))
        message = trace.get("message")
        if message is not MISSING and isinstance(message, dict):
            try:
                state.reply_keys.add(reply_key(stored_reply(message, None)))
            except Fail:
                pass
