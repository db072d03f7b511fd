"""Progress while requests are sent and checks run: line-based when not a terminal."""
import io

from rich.console import Console

from conformance.progress import BarProgress, LineProgress, run_progress
from conformance.running.runner import run_checks
from conformance.wire.store import LiveStore
from conformance.running.target import Target
from conformance.wire.transport import Sender
from replay_server import ReplayServer


def _console():
    buf = io.StringIO()
    return Console(file=buf, width=200), buf


def test_lines_for_requests_and_checks_against_a_server(vllm_recorded):
    console, buf = _console()
    with ReplayServer(vllm_recorded.exchanges()) as server:
        sender = Sender(server.base_url, concurrency=4)
        store = LiveStore(sender)
        with run_progress(console, interval=3600) as progress:
            assert isinstance(progress, LineProgress)  # a file is not a terminal
            # tokenin.followed: its requests are in no recording (the replay answers 404); abort.client_cancel
            # sends its own requests while it runs, outside the phases
            results = run_checks(Target(vllm_recorded.dialect, vllm_recorded.tokenizer, store, "tiny-chat"),
                                 vllm_recorded.cases, progress=progress,
                                 select="not check_tokenin_followed and not check_abort_client_cancel")
        sender.close()
    lines = buf.getvalue().splitlines()
    phases = phase_lines(lines)
    # the requests built from the cases, the follow-ups built from their replies (each sent as soon
    # as its base reply is in), and the checks, which run while requests are still in flight
    assert list(phases) == ["sending requests", "sending follow-ups", "running checks"]
    first, second = phases["sending requests"], phases["sending follow-ups"]
    assert 0 < first + second == store.requests_sent  # the determinism repeat is a follow-up
    assert phases["running checks"] == len(results)
    assert lines[-1].startswith(f"running checks: {len(results)}/{len(results)} in ")  # the last check ends the run
    assert len(lines) == 6  # quiet in between: the interval was not reached


def phase_lines(lines: list[str]) -> dict[str, int]:
    """Each phase's total, in the order the phases started; each says its start and end once."""
    totals = {}
    for line in lines:
        name, _, count = line.partition(": ")
        done, _, total = count.partition(" ")[0].partition("/")
        if done == "0":
            totals[name] = int(total)
    for name, total in totals.items():
        assert lines.count(f"{name}: 0/{total}") == 1, lines
        assert sum(line.startswith(f"{name}: {total}/{total} in ") for line in lines) == 1, lines
    return totals


def test_interval_lines_and_notes():
    console, buf = _console()
    p = LineProgress(console, interval=0)
    p.note("starting vllm (3s)")
    p.phase("running checks", 3)
    p.advance()
    p.advance()
    p.advance()
    out = buf.getvalue().splitlines()
    assert out[0] == "starting vllm (3s)" and out[1] == "running checks: 0/3"
    assert out[2].startswith("running checks: 1/3") and out[4].startswith("running checks: 3/3 in")


def test_a_terminal_gets_a_bar():
    console = Console(file=io.StringIO(), force_terminal=True)
    with run_progress(console) as progress:
        assert isinstance(progress, BarProgress)
        progress.note("starting")
        progress.phase("running checks", 2)
        progress.advance(2)
        task = progress.bar.tasks[-1]
        assert (task.description, task.completed, task.total) == ("running checks", 2, 2)


def test_behind_a_router_every_request_is_in_before_the_first_check(vllm_recorded):
    """A fleet's checks send requests that must reach given workers (the router's turn decides):
    nothing else may be in flight then, so the checks start once both phases are in."""
    console, buf = _console()
    with ReplayServer(vllm_recorded.exchanges()) as server:
        sender = Sender(server.base_url, concurrency=4)
        with run_progress(console, interval=3600) as progress:
            run_checks(Target(vllm_recorded.dialect, vllm_recorded.tokenizer, LiveStore(sender), "tiny-chat",
                              fleet_size=2), vllm_recorded.cases, select="exposure or multiturn", progress=progress)
        sender.close()
    lines = buf.getvalue().splitlines()
    checks = next(n for n, line in enumerate(lines) if line.startswith("running checks: 0/"))
    sends = [n for n, line in enumerate(lines) if line.startswith("sending requests: ")]
    assert len(sends) == 4 and max(sends) < checks, lines  # two phases, each ended before the checks began
    assert lines[max(sends)].endswith("s") and " in " in lines[max(sends)]
