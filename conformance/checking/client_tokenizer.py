"""The client-side tokenizer: decode ids, know the vocabulary and EOS, render the chat template."""
from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

from conformance.errors import UsageError


class Tokenizer:
    def __init__(self, hf_tokenizer: Any, source: str):
        self.hf = hf_tokenizer
        self.source = source

    @classmethod
    def load(cls, name_or_path: str | Path) -> "Tokenizer":
        import os

        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tokconf never downloads: a missing local path is an error
        from transformers import AutoTokenizer

        try:
            return cls(AutoTokenizer.from_pretrained(str(name_or_path)), str(name_or_path))
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot load a tokenizer from {name_or_path!r}: {exc}") from exc

    @cached_property
    def vocab_size(self) -> int:
        """Every id below this is a token the tokenizer knows (base vocabulary + added tokens)."""
        return len(self.hf)

    @cached_property
    def special_ids(self) -> frozenset[int]:
        return frozenset(self.hf.all_special_ids)

    @cached_property
    def eos_ids(self) -> frozenset[int]:
        ids = {self.hf.eos_token_id} if self.hf.eos_token_id is not None else set()
        return frozenset(ids)

    def decode(self, ids: list[int], skip_special_tokens: bool = True) -> str:
        return self.hf.decode(ids, skip_special_tokens=skip_special_tokens, clean_up_tokenization_spaces=False)

    def token_text(self, token_id: int) -> str:
        """One token as readable text (its own decode; byte pieces show as the replacement char)."""
        return self.decode([token_id], skip_special_tokens=False)

    def render_prompt(self, messages: list[dict], tools: list[dict] | None) -> str:
        return self.hf.apply_chat_template(messages, tools=tools, add_generation_prompt=True, tokenize=False)

    def prompt_ids(self, messages: list[dict], tools: list[dict] | None) -> list[int]:
        return self.hf.encode(self.render_prompt(messages, tools), add_special_tokens=False)
