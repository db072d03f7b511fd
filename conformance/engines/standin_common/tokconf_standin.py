"""What tokconf's `sgl_kernel` stand-ins (sglang_cpu/ for SGLang 0.5.23, sglang059_cpu/ for 0.5.9)
share: a kernel that, if anything calls it, raises NotImplementedError naming itself and saying
what to do instead, never a silent wrong result. tokconf's launcher puts this folder on the
engine's PYTHONPATH right behind the release's stand-in folder (conformance/engines/sglang.py)."""
from __future__ import annotations

from typing import Iterable


def missing_kernel(module: str, name: str, instead: str):
    """A stand-in for `module.name`; `instead`: what the user can do (it follows "install a real
    sgl_kernel build")."""

    def kernel(*args, **kwargs):
        raise NotImplementedError(
            f"{module}.{name} was called, but this is tokconf's CPU stand-in for sgl_kernel, which has no "
            f"kernels: install a real sgl_kernel build{instead}")

    kernel.__name__ = kernel.__qualname__ = name
    return kernel


def define_missing(namespace: dict, module: str, names: Iterable[str], instead: str) -> list[str]:
    """Put a missing_kernel for each name in `namespace` (a stand-in module's globals()); returns
    the names, for its __all__."""
    names = list(names)
    for name in names:
        namespace[name] = missing_kernel(module, name, instead)
    return names
