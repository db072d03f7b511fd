"""The openai SDK's own ChatCompletion and ChatCompletionChunk models, for vanilla.openai_schema.

`import openai` runs the package's __init__, which imports the types of every API the SDK covers
(about 0.4 s of a run's CPU, on a machine where the engine shares the cores). The two models need
a few dozen of the SDK's modules: those are executed from the SDK's own files under a private
package name, so the classes, their fields and their validation are the installed SDK's, and the
`openai` name stays untouched (a later `import openai` gets the whole package as usual). Where the
SDK is imported already, or its layout is not the one this expects, the normal import is used.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types
from typing import Any

PRIVATE = "_tokconf_openai_sdk"
# the SDK's packages whose __init__ is skipped: each would import far more than the chat models
SKIPPED_INITS = ("", ".types", ".types.chat")
_lock = threading.Lock()


def chat_models() -> tuple[Any, Any]:
    """(ChatCompletion, ChatCompletionChunk) of the installed openai SDK; ImportError without it."""
    if "openai.types.chat" in sys.modules:
        return _normal()
    with _lock:
        try:
            return _from_sdk_files()
        except Exception:  # another SDK layout: the whole package, as the SDK means it to be imported
            for name in [m for m in sys.modules if m == PRIVATE or m.startswith(PRIVATE + ".")]:
                del sys.modules[name]
            return _normal()


def _normal() -> tuple[Any, Any]:
    from openai.types.chat import ChatCompletion, ChatCompletionChunk

    return ChatCompletion, ChatCompletionChunk


def _from_sdk_files() -> tuple[Any, Any]:
    done = sys.modules.get(f"{PRIVATE}.types.chat.chat_completion_chunk")
    if done is not None:
        return sys.modules[f"{PRIVATE}.types.chat.chat_completion"].ChatCompletion, done.ChatCompletionChunk
    spec = importlib.util.find_spec("openai")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the openai package is not installed")
    root = list(spec.submodule_search_locations)[0]
    for suffix in SKIPPED_INITS:  # bare packages: their modules load on demand, their __init__ never runs
        package = types.ModuleType(PRIVATE + suffix)
        package.__path__ = [root + suffix.replace(".", "/")]
        package.__package__ = PRIVATE + suffix
        sys.modules.setdefault(PRIVATE + suffix, package)
    completion = importlib.import_module(f"{PRIVATE}.types.chat.chat_completion")
    chunk = importlib.import_module(f"{PRIVATE}.types.chat.chat_completion_chunk")
    return completion.ChatCompletion, chunk.ChatCompletionChunk
