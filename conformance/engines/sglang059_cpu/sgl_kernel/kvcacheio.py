"""The names SGLang 0.5.9's srt/mem_cache/memory_pool_host.py imports from sgl_kernel.kvcacheio at
module level; each raises NotImplementedError naming itself if called (only the hierarchical cache,
--enable-hierarchical-cache, calls them)."""
from __future__ import annotations

NAMES = (
    "transfer_kv_all_layer",
    "transfer_kv_all_layer_direct_lf_pf",
    "transfer_kv_all_layer_lf_pf",
    "transfer_kv_all_layer_lf_ph",
    "transfer_kv_all_layer_mla",
    "transfer_kv_all_layer_mla_lf_pf",
    "transfer_kv_direct",
    "transfer_kv_per_layer",
    "transfer_kv_per_layer_direct_pf_lf",
    "transfer_kv_per_layer_mla",
    "transfer_kv_per_layer_mla_pf_lf",
    "transfer_kv_per_layer_pf_lf",
    "transfer_kv_per_layer_ph_lf",
)


def _missing(name: str):
    def kernel(*args, **kwargs):
        raise NotImplementedError(
            f"sgl_kernel.kvcacheio.{name} was called, but this is tokconf's CPU stand-in for sgl_kernel, which "
            f"has no kernels: install a real sgl_kernel build, or run without --enable-hierarchical-cache")

    kernel.__name__ = kernel.__qualname__ = name
    return kernel


for _name in NAMES:
    globals()[_name] = _missing(_name)
del _name

__all__ = list(NAMES)
