"""An interrupted command exits without the interpreter's shutdown (which waits for every
non-daemon thread, and once waited forever on a sending pool's half-started worker); any other
exit goes the normal way."""
import os
import subprocess
import sys

import pytest

from conformance.session import exits


class Left(Exception):
    pass


def app_exiting(code):
    def app(prog_name):
        raise SystemExit(code)
    return app


@pytest.mark.parametrize("code", [exits.EXIT_INTERRUPTED, exits.EXIT_TERMINATED])
def test_an_interrupted_command_leaves_at_once(monkeypatch, code):
    def left(c):
        raise Left(c)

    monkeypatch.setattr(os, "_exit", left)
    with pytest.raises(Left) as got:
        exits.run_command(app_exiting(code))
    assert got.value.args == (code,)


@pytest.mark.parametrize("code", [0, 1, 2, 3])
def test_other_exits_go_the_normal_way(monkeypatch, code):
    monkeypatch.setattr(os, "_exit", lambda c: pytest.fail("left without the interpreter's shutdown"))
    with pytest.raises(SystemExit) as got:
        exits.run_command(app_exiting(code))
    assert got.value.code == code


def test_a_thread_that_never_ends_does_not_hold_an_interrupted_exit():
    """A non-daemon thread blocked forever: the normal shutdown would wait for it; leave_now does not."""
    program = ("import threading, sys\n"
               "from conformance.session.exits import run_command, EXIT_TERMINATED\n"
               "threading.Thread(target=threading.Event().wait).start()\n"
               "def app(prog_name):\n"
               "    print('terminated', file=sys.stderr)\n"
               "    raise SystemExit(EXIT_TERMINATED)\n"
               "run_command(app)\n")
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert done.returncode == exits.EXIT_TERMINATED and done.stderr.strip() == "terminated"
