"""The terminal report: readable at 80 columns, SKIPs folded by reason, lines whole off a terminal."""
import io

from rich.console import Console

from conformance.outcomes import Outcome, Result
from conformance.reporting.document import print_terminal


def render(results, width):
    buf = io.StringIO()
    print_terminal(results, Console(file=buf, width=width, soft_wrap=False), 1.0, "tokconf verify: vllm / dialect vllm")
    return buf.getvalue()


def test_at_80_columns_the_matrix_keeps_whole_ids_and_names_every_case(vllm_recorded, cases):
    results = vllm_recorded.run()
    text = render(results, 80)
    table = text.split("cases: ")[0].splitlines()
    assert max(len(line.rstrip()) for line in table) <= 80
    for check in {r.check for r in results}:
        assert any(line.startswith(check + " ") for line in table), check  # never cut to one letter
    legend = " ".join(text.split("cases: ")[1].split())
    for n, case in enumerate(dict.fromkeys(r.case for r in results if r.case), 1):
        assert f"{n} {case}" in legend
    wide = render(results, 400)
    header = next(line for line in wide.splitlines() if " check " in line)
    assert not any(line.startswith("cases: ") for line in wide.splitlines())  # named columns when they fit
    assert all(f" {case} " in header for case in dict.fromkeys(r.case for r in results if r.case))


def test_skips_that_share_a_reason_are_one_line(vllm_recorded):
    results = vllm_recorded.run()
    skips = [r for r in results if r.outcome.value == "SKIP"]
    reasons = {r.reason for r in skips}
    assert len(skips) > len(reasons) >= 1
    lines = [line for line in render(results, 400).splitlines() if line.startswith("SKIP")]
    assert len(lines) == len(reasons)
    common = max(reasons, key=lambda why: sum(r.reason == why for r in skips))
    n = sum(r.reason == common for r in skips)
    assert n > 1 and any(f"{n} results of" in line and line.endswith(common) for line in lines), lines


def test_a_request_the_engine_refuses_names_its_case_and_the_message_once():
    """A case whose request an engine refuses (HTTP 400) errs every check of that case: one line,
    the case and the engine's message, not one line per check."""
    refused = "POST /v1/chat/completions returned HTTP 400: {'error': 'max_tokens must be at least 1, got -3'}"
    checks = ["decode.roundtrip.nonstream", "ids.nonstream.present", "parity.stream_nonstream", "finish.reason",
              "eos.present"]
    results = [Result(c, "short_budget", Outcome.ERROR, refused, 0.0) for c in checks]
    results += [Result("ids.nonstream.present", "hello", Outcome.PASS, "", 0.0),
                Result("finish.reason", "hello", Outcome.ERROR, "the engine went away", 0.0)]
    lines = [line for line in render(results, 400).splitlines() if line.startswith("ERROR")]
    assert len(lines) == 2, lines
    assert lines[0].endswith("5 results of 5 checks (decode.roundtrip.nonstream, ids.nonstream.present, "
                             "parity.stream_nonstream, ...) on short_budget: " + refused)
    assert "finish.reason[hello]: the engine went away" in lines[1]
