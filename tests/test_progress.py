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
            results = run_checks(Target(vllm_recorded.dialect, vllm_recorded.tokenizer, store, "tiny-chat"),
                                 vllm_recorded.cases, progress=progress)
        sender.close()
    lines = buf.getvalue().splitlines()
    # two sending phases: the requests built from the cases, then the follow-ups built from their replies
    first, second = int(lines[0].rpartition("/")[2]), int(lines[2].rpartition("/")[2])
    prefetched = first + second  # checks may send a few more later (e.g. repeats); those are not prefetched
    assert lines[0] == f"sending requests: 0/{first}" and 0 < prefetched <= store.requests_sent
    assert lines[1].startswith(f"sending requests: {first}/{first} in ")
    assert lines[2] == f"sending requests: 0/{second}" and lines[3].startswith(f"sending requests: {second}/{second} in ")
    assert lines[4] == f"running checks: 0/{len(results)}"
    assert lines[5].startswith(f"running checks: {len(results)}/{len(results)} in ")
    assert len(lines) == 6  # quiet in between: the interval was not reached


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
