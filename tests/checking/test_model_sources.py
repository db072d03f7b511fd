"""Models by path or hub id: tokconf never forces offline mode, and every way a model source can
be wrong is one line that says what to do (exit 2 on the client side, 3 on the engine side)."""
import os
import subprocess
import sys

import pytest

from conformance.checking.client_tokenizer import Tokenizer, _load_failure, looks_local, model_source_problem
from conformance.engines.model_errors import model_load_hint
from conformance.errors import UsageError
from support import ROOT


def test_hub_ids_and_paths_are_told_apart(tmp_path):
    assert not looks_local("Qwen/Qwen3-8B") and not looks_local("gpt2")
    assert looks_local("/models/qwen") and looks_local("./qwen") and looks_local("a/b/c") and looks_local("qwen/")
    assert looks_local(str(ROOT / "fixtures" / "tiny-chat"))
    assert model_source_problem("Qwen/Qwen3-8B") is None
    assert model_source_problem(str(ROOT / "fixtures" / "tiny-chat")) is None


def test_loading_does_not_switch_offline_mode_on(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    Tokenizer.load(ROOT / "fixtures" / "tiny-chat")
    assert "HF_HUB_OFFLINE" not in os.environ


def test_what_to_do_when_the_hub_cannot_be_reached(monkeypatch):
    exc = OSError("We couldn't connect to 'https://huggingface.co' to load the files, and couldn't find them.")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    online = _load_failure("Qwen/Qwen3-8B", exc)
    assert "cannot fetch the tokenizer of 'Qwen/Qwen3-8B' from the Hugging Face hub" in online
    assert "give a local model directory" in online and "\n" not in online
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    offline = _load_failure("Qwen/Qwen3-8B", exc)
    assert "HF_HUB_OFFLINE=1 forbids downloading" in offline and "huggingface-cli download Qwen/Qwen3-8B" in offline


def _verify(tmp_path, model, env=None):
    return subprocess.run([sys.executable, "-m", "conformance", "verify", "--engine", "vllm", "--model", model,
                           "--report-dir", str(tmp_path / "reports")], capture_output=True, text=True, cwd=ROOT,
                          timeout=120, env={**os.environ, **(env or {})})


@pytest.mark.parametrize("make, words", [
    (lambda d: str(d / "no-such-dir" / "model"), "no such model directory"),
    (lambda d: (d / "config.json").write_text("{}") and str(d), "holds no tokenizer"),
    (lambda d: (d / "weights.bin").write_bytes(b"x") and str(d / "weights.bin"), "is a file, not a model directory"),
    (lambda d: "tokconf-test/no-such-model", "HF_HUB_OFFLINE=1 forbids downloading"),
])
def test_a_bad_model_source_is_one_line_and_exit_2(tmp_path, make, words):
    src = tmp_path / "src"
    src.mkdir()
    res = _verify(tmp_path, make(src), {"HF_HUB_OFFLINE": "1"})
    assert res.returncode == 2, res.stdout[-2000:] + res.stderr[-2000:]
    text = " ".join(res.stderr.split())
    assert words in text and "Traceback" not in res.stderr + res.stdout
    assert res.stderr.strip().startswith("error:")
    assert not list((tmp_path / "reports").glob("*/*.log"))  # refused before any engine started


def test_engine_side_model_failures_get_one_line_hint():
    assert "local Hugging Face cache while offline" in model_load_hint(
        "huggingface_hub.errors.LocalEntryNotFoundError: Cannot find the requested files in the local cache")
    assert "could not reach the Hugging Face hub" in model_load_hint(
        "OSError: We couldn't connect to 'https://huggingface.co' to load this file")
    assert "no such model" in model_load_hint("huggingface_hub.errors.RepositoryNotFoundError: 401 Client Error")
    assert model_load_hint("RuntimeError: CUDA out of memory") is None


def _fake_hub_cache(root, repo: str):
    """A Hugging Face cache holding `repo` (tiny-chat's tokenizer files), laid out as the hub library writes it."""
    repo_dir = root / ("models--" + repo.replace("/", "--"))
    snap = repo_dir / "snapshots" / ("0" * 40)
    snap.mkdir(parents=True)
    for f in (ROOT / "fixtures" / "tiny-chat").iterdir():
        if f.is_file() and not f.name.endswith((".safetensors", ".bin")):
            (snap / f.name).write_bytes(f.read_bytes())
    (repo_dir / "refs").mkdir()
    (repo_dir / "refs" / "main").write_text("0" * 40)


@pytest.mark.parametrize("cached", [False, True], ids=["not-cached", "cached"])
def test_an_unreachable_hub_is_told_at_once_and_a_cached_id_still_loads(tmp_path, cached):
    """Offline without HF_HUB_OFFLINE, the hub library retried five times with a backoff (about 50 s
    and 22 lines of retries): one look at the hub decides, and a cached id loads from the cache."""
    repo = "tokconf-test/cached-model"
    if cached:
        _fake_hub_cache(tmp_path / "hub", repo)
    env = {**os.environ, "HF_ENDPOINT": "http://127.0.0.1:9", "HF_HUB_CACHE": str(tmp_path / "hub")}
    env.pop("HF_HUB_OFFLINE", None)
    res = subprocess.run([sys.executable, "-c", f"from conformance.checking.client_tokenizer import Tokenizer\n"
                          f"print(Tokenizer.load({repo!r}).prompt_ids([{{'role': 'user', 'content': 'hi'}}], None))"],
                         capture_output=True, text=True, cwd=ROOT, timeout=60, env=env)
    assert "Retrying" not in res.stderr
    if cached:
        assert res.returncode == 0 and res.stdout.strip().startswith("["), res.stderr[-2000:]
    else:
        assert res.returncode == 1 and "UsageError" in res.stderr
        assert "the Hugging Face hub (http://127.0.0.1:9) cannot be reached" in res.stderr
        assert "not in the local cache" in res.stderr
