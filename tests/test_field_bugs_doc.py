"""docs/field-bugs.md, the field's bugs as the yardstick: one row per bug of the reference list
(22), every check it names is registered, every test it names is one pytest collects."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

from support import ROOT

DOC = ROOT / "docs" / "field-bugs.md"
STATUSES = ("covered", "not yet", "out of scope")


def rows(section: str) -> list[list[str]]:
    """The cells of the table under `## section` (header and rule rows left out)."""
    text = DOC.read_text(encoding="utf-8").split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    lines = [ln for ln in text.splitlines() if ln.startswith("| ") and not ln.startswith("|---")][1:]
    return [[c.strip() for c in re.split(r"(?<!\\)\|", ln)[1:-1]] for ln in lines]


def all_rows() -> list[list[str]]:
    return rows("The 22 field bugs") + rows("Stored-data mechanisms (`tokconf trace`)") + \
        rows("Gaps our own probes found (issue 18 item 9)")


def ticked(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def test_one_row_per_field_bug_with_a_status():
    table = rows("The 22 field bugs")
    assert [r[0] for r in table] == [str(n) for n in range(1, 23)]
    for r in table:
        assert len(r) == 6, r
        assert r[5].startswith(STATUSES), r
        # a covered row names a check and a test; a gap says why in its status
        if r[5].startswith("covered"):
            assert ticked(r[3]) and ticked(r[4]), r
        else:
            assert " because" in r[5] or ":" in r[5], r


def test_every_named_check_is_registered():
    from conformance.checking.catalog import load_catalog
    from conformance.trace.checks import TRACE_CHECKS

    known = {i.id for i in load_catalog()} | set(TRACE_CHECKS)
    named = {c for r in all_rows() for c in ticked(r[-3])}
    assert named and named <= known, sorted(named - known)


def test_every_named_test_is_collected():
    named = sorted({t for r in all_rows() for t in ticked(r[-2])})
    assert named and all("::" in t for t in named)
    files = sorted({t.split("::")[0] for t in named})
    for f in files:
        assert (ROOT / f).is_file(), f
    res = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *files],
                         capture_output=True, text=True, cwd=ROOT, timeout=600)
    collected = set(res.stdout.split())
    functions = {c.split("[")[0] for c in collected}  # a parametrized test named without its parameters
    missing = [t for t in named if t not in collected and ("[" in t or t not in functions)]
    assert not missing, (missing, res.stderr[-2000:])


@pytest.mark.parametrize("cell", ["`a.b`, `c.d`", "—"])
def test_ticked_reads_the_cells(cell):
    assert ticked(cell) == ([] if cell == "—" else ["a.b", "c.d"])
