"""One line that says what to do when an engine died loading its model (read from its log)."""
from __future__ import annotations

# (words an engine's log holds, what the user should do); first match wins
_KNOWN = [
    (("OfflineModeIsEnabled", "offline mode is enabled", "outgoing traffic has been disabled",
      "LocalEntryNotFoundError", "cannot find the requested files in the local cache"),
     "the engine could not find the model in the local Hugging Face cache while offline (HF_HUB_OFFLINE=1): "
     "unset HF_HUB_OFFLINE, download the model first, or give a local model directory"),
    (("couldn't connect to", "Failed to resolve", "Max retries exceeded", "ConnectionError", "Network is unreachable"),
     "the engine could not reach the Hugging Face hub to fetch the model: check the network (or a proxy), or "
     "give a local model directory"),
    (("Repository Not Found", "RepositoryNotFoundError", "is not a valid model identifier", "Repo id must be"),
     "the engine found no such model: check the hub id (org/name) or the local directory path; a gated model "
     "needs huggingface-cli login"),
    (("does not appear to have a file named", "no file named", "Can't load tokenizer", "Can't load the configuration"),
     "the engine found the model directory incomplete: it needs config.json, the weights and the tokenizer files"),
]


def model_load_hint(log_tail: str) -> str | None:
    low = log_tail.lower()
    for words, hint in _KNOWN:
        if any(w.lower() in low for w in words):
            return hint
    return None
