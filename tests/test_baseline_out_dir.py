"""`tokconf baseline record NAME` writes ./NAME.json by default: run from a checkout it used to write
fixtures/baselines/NAME.json, overwriting the tracked, shipped baseline of the same name."""
import subprocess
import sys

from support import ROOT, vllm_records
from replay_server import ReplayServer
from conformance.wire.exchange import Exchange


def test_default_out_dir_is_the_current_folder_not_the_shipped_baselines(tmp_path):
    shipped = ROOT / "fixtures" / "baselines" / "vllm-0.32.0-cpu.json"
    before = shipped.read_bytes()
    (tmp_path / "fixtures").symlink_to(ROOT / "fixtures")  # as if run from the checkout
    with ReplayServer([Exchange.from_record(r) for r in vllm_records()]) as server:
        res = subprocess.run([sys.executable, "-m", "conformance", "baseline", "record", "vllm-0.32.0-cpu",
                              "--base-url", server.base_url, "--model", "tiny-chat", "--tokenizer",
                              str(ROOT / "fixtures" / "tiny-chat"), "--report-dir", str(tmp_path / "reports")],
                             cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    assert (tmp_path / "vllm-0.32.0-cpu.json").is_file()
    assert shipped.read_bytes() == before
