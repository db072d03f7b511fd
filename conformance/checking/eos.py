"""Where the EOS id may stand in a reply's completion ids: one rule for an engine's replies
(suites/check_finish.py) and for stored traces (conformance/trace/checks.py)."""
from __future__ import annotations

from conformance.checking.api import Fail, Inconclusive
from conformance.checking.client_tokenizer import Tokenizer


def ends_with_eos(tok: Tokenizer, ids: list[int], where: str = "") -> bool:
    """Whether the last completion id is an EOS; Fail when an EOS sits anywhere before it (the
    reply went on after the turn ended). `where` prefixes the message ("stream: ")."""
    if not tok.eos_ids:
        raise Inconclusive("the tokenizer declares no EOS token")
    inside = [i for i, t in enumerate(ids[:-1]) if t in tok.eos_ids]
    if inside:
        raise Fail(f"{where}an EOS id sits inside the completion ids at {inside}, not only at the end", ids=ids)
    return bool(ids) and ids[-1] in tok.eos_ids


def require_declared_eos_end(tok: Tokenizer, ids: list[int], finish_reason: str, eos_in_completion_ids: bool,
                             declared_by: str, where: str = "") -> None:
    """A reply that stopped at the EOS ends with the EOS id, or without it, as `declared_by`
    (the dialect, the mapping) declares with eos_in_completion_ids."""
    ends = ends_with_eos(tok, ids, where)
    if eos_in_completion_ids and not ends:
        raise Fail(f"{where}finish_reason {finish_reason} but the completion ids do not end with the EOS "
                   f"{sorted(tok.eos_ids)} ({declared_by} declares eos_in_completion_ids: true); last ids {ids[-3:]}",
                   ids=ids)
    if not eos_in_completion_ids and ends:
        raise Fail(f"{where}the completion ids end with the EOS, but {declared_by} declares eos_in_completion_ids: "
                   "false", ids=ids)
