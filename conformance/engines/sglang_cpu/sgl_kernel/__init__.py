"""tokconf's CPU stand-in for `sgl_kernel`, SGLang's compiled kernel package (not on PyPI for CPU).

With SGLANG_USE_CPU_ENGINE=1, SGLang 0.5.23 imports these eight names from `sgl_kernel` at module
level (`if _is_cpu: from sgl_kernel import ...`). None of them is called for a dense model without
speculative decoding: SGLang's own torch paths do the work. tokconf's launcher puts the folder
holding this package on the engine's PYTHONPATH only when the engine's interpreter has no real
`sgl_kernel` and no GPU is present, and says so in the report's run info. Anything that does call
one of these gets a NotImplementedError naming it, never a silent wrong result (../../standin_common).

Nothing here registers `torch.ops.sgl_kernel.*`: SGLang gates every use of those ops on AMX
support, detected through `convert_weight_packed`, so without it it takes its native torch paths.
"""
from __future__ import annotations

from tokconf_standin import define_missing  # ../../standin_common, on the engine's path behind this folder

STANDIN = True  # lets a caller tell this package from the real one

NAMES = (
    "copy_all_layer_kv_cache_cpu",  # sglang/kernels/ops/kvcache/cache_move.py
    "assign_req_to_token_pool_cpu",  # sglang/srt/mem_cache/allocation.py
    "build_tree_kernel_efficient_cpu",  # sglang/kernels/ops/speculative/spec_tree.py
    "verify_tree_greedy_cpu",  # sglang/kernels/ops/speculative/spec_tree.py
    "assign_draft_cache_locs_contiguous_cpu",  # sglang/kernels/ops/speculative/cache_locs.py
    "assign_extend_cache_locs_cpu",  # sglang/kernels/ops/speculative/cache_locs.py
    "fill_accept_out_cache_loc_cpu",  # sglang/kernels/ops/speculative/eagle.py
    "fill_bonus_tokens_cpu",  # sglang/kernels/ops/speculative/eagle.py
)

__all__ = define_missing(globals(), "sgl_kernel", NAMES,
                         " for this machine, or serve a dense model without speculative decoding")
