"""What the fuzz tests share: a fixed, derandomized budget in the fast tier, a long random one in
the soak (`make fuzz-soak`: TOKCONF_FUZZ_EXAMPLES=N), and mutations of the shipped input files
(random values alone mostly die at the first key check; mutants of a valid file reach the
deeper rules)."""
from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

SOAK = int(os.environ.get("TOKCONF_FUZZ_EXAMPLES", "0"))
FUZZ = settings(max_examples=SOAK or 40, deadline=None, derandomize=not SOAK, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.data_too_large])

scalars = (st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(allow_nan=True)
           | st.text(max_size=40) | st.sampled_from(["", "-1", "stream", "nonstream", "[DONE]", "null", "\x00"]))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=12)


def paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a node of a JSON-like value (the root included)."""
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += paths(v, prefix + (i,))
    return out


def _replace(value: Any, path: tuple, new: Any, how: str) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        value = dict(value)
        if not rest and how == "drop":
            value.pop(head, None)
        elif not rest and how == "add":
            value[f"{head}_x"] = new
        else:
            value[head] = _replace(value[head], rest, new, how)
    else:
        value = list(value)
        if not rest and how == "drop":
            del value[head]
        else:
            value[head] = _replace(value[head], rest, new, how)
    return value


@st.composite
def mutants(draw, base: Any, rounds: int = 3) -> Any:
    """`base` with up to `rounds` nodes replaced, dropped, or given an unknown sibling."""
    value = base
    for _ in range(draw(st.integers(1, rounds))):
        where = draw(st.sampled_from(paths(value)))
        value = _replace(value, where, draw(json_values), draw(st.sampled_from(["set", "drop", "add"])))
    return value


raw_bytes = (st.binary(max_size=300)
             | st.sampled_from([b"\xff\xfe\x00garbage", b"\x1f\x8b\x08\x00gzipped", b"", b"\n\n", b"- [\n",
                                b"{" * 500, b"a: &x [*x]\n", b"!!python/object:os.system {}\n"]))
