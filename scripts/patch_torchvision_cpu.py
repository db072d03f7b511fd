"""Let PyPI's CUDA torchvision import next to CPU torch (needed by Dynamo's vLLM worker).

Dynamo 1.6.1's vLLM worker imports transformers' Qwen2-VL image processor, which imports
torchvision. No CPU torchvision wheel is on PyPI, and the CUDA one fails at import time in
`_meta_registrations.py` because `register_fake("torchvision::nms"/"qnms")` needs operators
that only its compiled extension provides. Text models never call those ops, so the two
registrations are made conditional on the extension being loaded. Idempotent.

Usage: python scripts/patch_torchvision_cpu.py   (with the target venv's python)
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

GUARD = "if torchvision.extension._has_ops() else (lambda fn: fn))"


def patch(path: Path) -> bool:
    text = path.read_text()
    if GUARD in text:
        return False
    for op in ("nms", "qnms"):
        old = f'@torch.library.register_fake("torchvision::{op}")'
        new = f'@(torch.library.register_fake("torchvision::{op}") {GUARD}'
        if old not in text:
            raise SystemExit(f"{path}: expected {old!r}; torchvision changed, re-check this patch")
        text = text.replace(old, new)
    path.write_text(text)
    return True


def main() -> None:
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        print("torchvision not installed; nothing to patch")
        return
    path = Path(next(iter(spec.submodule_search_locations))) / "_meta_registrations.py"
    print(("patched " if patch(path) else "already patched ") + str(path))


if __name__ == "__main__":
    sys.exit(main())
