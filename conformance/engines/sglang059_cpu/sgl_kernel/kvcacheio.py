"""The names SGLang 0.5.9's srt/mem_cache/memory_pool_host.py imports from sgl_kernel.kvcacheio at
module level; each raises NotImplementedError naming itself if called (only the hierarchical cache,
--enable-hierarchical-cache, calls them)."""
from __future__ import annotations

from tokconf_standin import define_missing  # ../../standin_common, on the engine's path behind this folder

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

__all__ = define_missing(globals(), "sgl_kernel.kvcacheio", NAMES, ", or run without --enable-hierarchical-cache")
