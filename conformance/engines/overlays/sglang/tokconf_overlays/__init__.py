"""tokconf's overlays for SGLang 0.5.23: the forks' token-id contracts on the real engine.

Each module is one contract, written to be read as its reference. A module names the SGLang
modules it patches in `PATCHES` ({module name: function(module)}); sitecustomize.py in the
folder above applies them when SGLang imports those modules.

  agentcore   agentcore-rl-toolkit's always-on chat ids (prompt_token_ids, choices[i].token_ids,
              per-chunk delta ids with a pending buffer)
  llm360      LLM360's return_completion_token_ids (non-stream only)
  miles       Miles' chat logprobs.content[*].token_id
  agentcore_broken_*   the agentcore overlay with one real bug each (tokconf's faults at the source)
"""
