"""tokconf's CPU stand-in for `sgl_kernel` as SGLang 0.5.9 imports it (not on PyPI for CPU).

SGLang 0.5.9 differs from 0.5.23 here (the 0.5.23 stand-in in ../sglang_cpu does not fit): with
SGLANG_USE_CPU_ENGINE=1 it needs `import sgl_kernel` to succeed and imports thirteen names from
`sgl_kernel.kvcacheio` at module level (srt/mem_cache/memory_pool_host.py), called only with
--enable-hierarchical-cache. None of 0.5.23's eight `*_cpu` names is imported. Measured in
../shared/reference/engines-on-cpu.md ("The real agentcore token-ids patch on SGLang 0.5.9").

As in 0.5.23, nothing here registers `torch.ops.sgl_kernel.*`: SGLang gates those on AMX support,
detected through `convert_weight_packed`, and takes its native torch paths without them.
"""
from __future__ import annotations

STANDIN = True  # lets a caller tell this package from the real one
