"""The client-side tokenizer: decode ids, know the vocabulary and EOS, render the chat template."""
from __future__ import annotations

import json
import os
import sys
import threading
from functools import cached_property
from pathlib import Path
from typing import Any

from conformance.checking import client_cache
from conformance.inputs.chat_template_files import chat_template_in, template_text
from conformance.errors import UsageError


# the parts of a tokenizer pipeline that decide how a text is split before the BPE model sees it
SPLITTING_COMPONENTS = ("normalizer", "pre_tokenizer")
# what decides how ids decode to text: each id's token (the model's vocabulary or an added token,
# with its special flag for skip_special_tokens), then the decoder; the model's other settings
# (continuing_subword_prefix, dropout, ...) act on encoding only
def _decoding_parts(spec: dict) -> tuple:
    model = spec.get("model") or {}
    return model.get("type"), model.get("vocab"), spec.get("decoder"), spec.get("added_tokens")


class Tokenizer:
    def __init__(self, hf_tokenizer: Any, source: str, file_tokenizer: Any = None):
        self._hf = hf_tokenizer
        self.source = source
        # tokenizer.json read by `tokenizers` alone, as engines that load the file directly do
        # (SGLang restores its components, Dynamo's Rust frontend): None when not found locally
        self._file = file_tokenizer
        self._loading: threading.Thread | None = None
        self._load_error: BaseException | None = None
        # what transformers answered for these files before (conformance.checking.client_cache)
        self._cache: client_cache.ClientCache | None = None
        self._loaded_late = False  # the cache's facts started the run; transformers was needed later
        self._hf_lock = threading.Lock()

    @classmethod
    def load(cls, name_or_path: str | Path) -> "Tokenizer":
        """A local model directory, or a hub id (`Qwen/Qwen3-8B`) fetched or read from the cache
        as transformers does: offline only when the environment says so (HF_HUB_OFFLINE=1).
        Whatever goes wrong is one UsageError line that says what to do."""
        return cls.load_in_background(name_or_path).ready()

    @classmethod
    def load_in_background(cls, name_or_path: str | Path) -> "Tokenizer":
        """load(), on a thread: importing transformers costs seconds, during which requests can
        be in flight or an engine can start. What a path's shape tells is checked at once; the
        rest of a failure is raised (a UsageError) by ready() or the first use."""
        problem = model_source_problem(str(name_or_path))
        if problem:
            raise UsageError(problem)
        tok = cls(None, str(name_or_path))

        def run():
            try:
                cache = tok._cache = client_cache.ClientCache.open(str(name_or_path), client_cache.ROOT)
                if cache is None or cache.facts is None:  # transformers now; with the cache, when needed
                    tok._hf = _load_transformers(str(name_or_path))
                tok._file = _load_tokenizer_json(name_or_path)
                if cache is not None and cache.facts is None:
                    cache.put("facts", "facts", tok._facts())
            except BaseException as exc:  # raised in the caller's thread by ready()
                tok._load_error = exc

        tok._loading = threading.Thread(target=run, name="tokconf-tokenizer", daemon=True)
        tok._loading.start()
        return tok

    def ready(self) -> "Tokenizer":
        """Wait for a background load; raise what it raised."""
        thread = self._loading
        if thread is not None:
            thread.join()
            self._loading = None
        if self._load_error is not None:
            raise self._load_error
        return self

    @property
    def hf(self) -> Any:
        """The transformers tokenizer: it defines the client (its chat template, encode, decode)."""
        if self._hf is None:
            self.ready()
        if self._hf is None:  # the cache's facts started the run: this needs transformers itself
            with self._hf_lock:
                if self._hf is None:
                    self._hf = _load_transformers(self.source)
                    self._loaded_late = True
        return self._hf

    @property
    def cache_state(self) -> str:
        """off (no cache), miss (transformers loaded at the start), hit (never loaded), or partial
        (loaded later, for something the cache did not hold): run_info.client_cache."""
        self.ready()
        if self._cache is None:
            return "off"
        if self._loaded_late:
            return "partial"
        return "hit" if self._hf is None else "miss"

    def _fact(self, name: str) -> Any:
        """A fact from the cache, or None (then it is asked of transformers)."""
        self.ready()
        facts = self._cache.facts if self._cache is not None else None
        return facts.get(name) if facts else None

    def _facts(self) -> dict[str, Any]:
        """What the cache keeps about the loaded tokenizer (see the properties that read it)."""
        hf = self._hf
        mine = json.loads(self._file.to_str()) if self._file is not None else None
        theirs = json.loads(hf.backend_tokenizer.to_str()) if getattr(hf, "backend_tokenizer", None) else None
        via_file = self._plain_backend is not None and mine is not None and theirs is not None and \
            _decoding_parts(mine) == _decoding_parts(theirs)
        return {"class_name": type(hf).__name__, "vocab_size": len(hf), "special_ids": sorted(hf.all_special_ids),
                "eos_id": hf.eos_token_id, "bos_id": hf.bos_token_id, "decode_via_file": via_file,
                "file_differences": {k: list(v) for k, v in _differences(mine, theirs).items()}}

    @property
    def file_tokenizer(self) -> Any:
        if self._loading is not None:
            self.ready()
        return self._file

    @property
    def class_name(self) -> str:
        """The class transformers picked (it may replace tokenizer.json's normalizer and pre-tokenizer)."""
        return self._fact("class_name") or type(self.hf).__name__

    def file_ids(self, text: str) -> list[int] | None:
        """The text's ids from tokenizer.json's own pipeline through `tokenizers`; None without the file."""
        if self.file_tokenizer is None:
            return None
        return self.file_tokenizer.encode(text, add_special_tokens=False).ids

    @cached_property
    def file_differences(self) -> dict[str, tuple[str, str]]:
        """Splitting components where tokenizer.json and transformers' class differ: name -> (file's, class's)."""
        known = self._fact("file_differences")
        if known is not None:
            return {name: tuple(pair) for name, pair in known.items()}
        backend = getattr(self.hf, "backend_tokenizer", None)
        if self.file_tokenizer is None or backend is None:
            return {}
        return _differences(json.loads(self.file_tokenizer.to_str()), json.loads(backend.to_str()))

    @cached_property
    def vocab_size(self) -> int:
        """Every id below this is a token the tokenizer knows (base vocabulary + added tokens)."""
        return self._fact("vocab_size") or len(self.hf)

    @cached_property
    def special_ids(self) -> frozenset[int]:
        known = self._fact("special_ids")
        return frozenset(known if known is not None else self.hf.all_special_ids)

    @cached_property
    def eos_id(self) -> int | None:
        """The tokenizer's own EOS (tokenizer.eos_token_id): the end the chat template renders."""
        if self._fact("class_name"):  # facts are stored whole: eos_id None means no EOS token
            return self._fact("eos_id")
        return self.hf.eos_token_id

    @cached_property
    def bos_id(self) -> int | None:
        """The tokenizer's BOS id (tokenizer.bos_token_id), None for a model without one."""
        self.ready()
        facts = self._cache.facts if self._cache is not None else None
        if facts and "bos_id" in facts:  # stored whole: None means no BOS token
            return facts["bos_id"]
        return self.hf.bos_token_id

    @cached_property
    def eos_ids(self) -> frozenset[int]:
        """Every id that ends generation: the tokenizer's EOS and each of generation_config.json's
        eos_token_id (an int or a list: Qwen2.5 lists two, Llama-3 adds <|eot_id|>, <|eom_id|>),
        which engines stop at as they do at the tokenizer's."""
        ids = set(generation_eos_ids(self.source))
        if self.eos_id is not None:
            ids.add(self.eos_id)
        return frozenset(ids)

    def decode(self, ids: list[int], skip_special_tokens: bool = True) -> str:
        backend = self._decoder
        if backend is not None and isinstance(ids, list) and all(type(i) is int for i in ids):
            return backend.decode(ids, skip_special_tokens=skip_special_tokens)
        return self.hf.decode(ids, skip_special_tokens=skip_special_tokens, clean_up_tokenization_spaces=False)

    @cached_property
    def _decoder(self) -> Any:
        """The `tokenizers` object that decodes exactly as transformers does, or None: the class's
        own backend (_plain_backend), or, when the cache says its decoding parts equal the file's,
        tokenizer.json's pipeline (so decoding needs no transformers)."""
        if self._fact("class_name") and self._hf is None:
            return self.file_tokenizer if self._fact("decode_via_file") else None
        return self._plain_backend

    @cached_property
    def _plain_backend(self) -> Any:
        """The `tokenizers` object behind transformers' decode, where that decode is exactly one call
        to it: a class that keeps transformers' own decode/_decode (TokenizersBackend) does
        `backend.decode(ids, skip_special_tokens)` and, with clean-up off, nothing else. None for
        any class that overrides them (decoding then goes through transformers)."""
        try:
            from transformers.tokenization_utils_base import PreTrainedTokenizerBase
            from transformers.tokenization_utils_tokenizers import TokenizersBackend
        except ImportError:  # another transformers layout: no claim of equality
            return None
        cls = type(self.hf)
        if not isinstance(self.hf, TokenizersBackend) or cls.decode is not PreTrainedTokenizerBase.decode \
                or cls._decode is not TokenizersBackend._decode:
            return None
        return self.hf.backend_tokenizer

    def marker_id(self, text: str) -> int | None:
        """The id of a marker that is one token in this vocabulary (`<think>`), else None."""
        known = self._cached("marker", text)
        if known is not None:
            return known["id"]
        ids = self.hf.encode(text, add_special_tokens=False)
        found = ids[0] if len(ids) == 1 else None
        self._store("marker", text, {"id": found})
        return found

    def token_text(self, token_id: int) -> str:
        """One token as readable text (its own decode; byte pieces show as the replacement char)."""
        return self.decode([token_id], skip_special_tokens=False)

    @cached_property
    def chat_template(self) -> str | None:
        """The chat template's text (named templates joined), to tell its tool-call markup family:
        from a local model directory's files, else as transformers loaded it."""
        if looks_local(self.source):
            found = chat_template_in(self.source)
            if found is not None:
                return found
        return template_text(getattr(self.hf, "chat_template", None))

    def render_prompt(self, messages: list[dict], tools: list[dict] | None) -> str:
        return self._render(messages, tools)["text"]

    def prompt_ids(self, messages: list[dict], tools: list[dict] | None) -> list[int]:
        return self._render(messages, tools)["ids"]

    def prompt_ids_with_special_tokens(self, messages: list[dict], tools: list[dict] | None) -> list[int]:
        """The rendered prompt tokenized with add_special_tokens=True: the template's ids plus what the
        tokenizer itself adds (its post-processor: a BOS on Llama-3), as a server does that is asked for
        add_special_tokens on a chat request."""
        key = client_cache.render_key(messages, tools) if self._cache_ready() else None
        known = self._cached("render_special", key)
        if known is not None:
            return known
        ids = self.hf.encode(self.render_prompt(messages, tools), add_special_tokens=True)
        self._store("render_special", key, ids)
        return ids

    @cached_property
    def adds_special_tokens(self) -> bool:
        """Encoding with add_special_tokens=True adds ids of the tokenizer's own (a BOS, an EOS)."""
        known = self._cached("adds_special", "x")
        if known is not None:
            return known["adds"]
        adds = self.hf.encode("x", add_special_tokens=True) != self.hf.encode("x", add_special_tokens=False)
        self._store("adds_special", "x", {"adds": adds})
        return adds

    def _render(self, messages: list[dict], tools: list[dict] | None) -> dict[str, Any]:
        """The chat template's text for a generation prompt and its ids, as transformers gives them."""
        key = client_cache.render_key(messages, tools) if self._cache_ready() else None
        known = self._cached("render", key)
        if known is not None:
            return known
        text = self.hf.apply_chat_template(messages, tools=tools, add_generation_prompt=True, tokenize=False)
        rendered = {"text": text, "ids": self.hf.encode(text, add_special_tokens=False)}
        self._store("render", key, rendered)
        return rendered

    def _cache_ready(self) -> bool:
        self.ready()
        return self._cache is not None

    def _cached(self, kind: str, key: str | None) -> Any:
        return self._cache.get(kind, key) if self._cache_ready() else None

    def _store(self, kind: str, key: str | None, value: Any) -> None:
        if self._cache is not None:
            self._cache.put(kind, key, value)


# Set by tokconf's own entry point (conformance.cli.main): a process that runs checks and launches
# engines only as subprocesses never needs torch, and transformers without torch imports in a
# quarter of the time. Off for a library caller (a test process may load models in-process).
WITHOUT_TORCH = False


def _load_transformers(name: str) -> Any:
    # transformers logs at import ("PyTorch was not found ..." on an install without torch):
    # tokens need no model, and a library's notice must not be the first line of every run
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    hide = WITHOUT_TORCH and "torch" not in sys.modules and "transformers" not in sys.modules
    if hide:  # None in sys.modules is Python's own "not installed" (find_spec says None, import fails)
        sys.modules["torch"] = None  # type: ignore[assignment]
    try:
        from transformers import AutoTokenizer  # a lazy module: from_pretrained imports the rest

        return AutoTokenizer.from_pretrained(name, **_hub_reach(name))
    except (OSError, ValueError) as exc:
        raise UsageError(_load_failure(name, exc)) from exc
    finally:
        if hide:
            del sys.modules["torch"]


HUB_PROBE_TIMEOUT = 3.0  # seconds: the hub answers in well under that when it can be reached


def _hub_reach(name: str) -> dict[str, Any]:
    """from_pretrained's extra arguments for a hub id, after one quick look at the hub: the hub
    library retries an unreachable host five times with a backoff (about 50 s and 22 lines of
    retries) before transformers says what is wrong. Unreachable: read the local cache only, or
    say so at once."""
    if looks_local(name) or _offline():
        return {}
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
    problem = _unreachable(endpoint)
    if problem is None:
        return {}
    if _cached(name):
        return {"local_files_only": True}
    raise UsageError(f"cannot fetch the tokenizer of {name!r}: the Hugging Face hub ({endpoint}) cannot be reached "
                     f"({problem}) and it is not in the local cache; give a local model directory, or download it "
                     f"where the hub is reachable (huggingface-cli download {name})")


def _unreachable(endpoint: str) -> str | None:
    """Why `endpoint` cannot be reached, or None when it answers at all (any HTTP status)."""
    import httpx

    try:
        httpx.head(endpoint, timeout=HUB_PROBE_TIMEOUT)
    except httpx.TimeoutException:
        return f"no answer in {HUB_PROBE_TIMEOUT:.0f}s"
    except httpx.HTTPError as exc:
        return str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
    return None


def model_file(name_or_path: str | Path, filename: str) -> Path | None:
    """`filename` of a local model directory, or of a hub id in the local hub cache; None when
    neither holds it (nothing is downloaded)."""
    path = Path(name_or_path) / filename
    if path.is_file():
        return path
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(str(name_or_path), filename)
    except Exception:  # not a hub id, or no cache
        return None
    return Path(cached) if isinstance(cached, str) else None


def _cached(name: str) -> bool:
    return any(model_file(name, f) is not None for f in ("tokenizer_config.json", "tokenizer.json"))


def generation_eos_ids(name_or_path: str | Path) -> list[int]:
    """eos_token_id of the model's generation_config.json (a local directory, or the local hub
    cache for a hub id), as a list; [] when there is none or it cannot be read."""
    path = model_file(name_or_path, "generation_config.json")
    if path is None:
        return []
    try:
        value = json.loads(path.read_text(encoding="utf-8")).get("eos_token_id")
    except (OSError, ValueError, AttributeError):  # unreadable, or not a JSON object
        return []
    values = value if isinstance(value, list) else [value]
    return [v for v in values if type(v) is int]


def _load_tokenizer_json(name_or_path: str | Path) -> Any:
    """tokenizer.json of a local model directory (or the local hub cache) through `tokenizers`, or None."""
    path = model_file(name_or_path, "tokenizer.json")
    if path is None:  # nothing to compare with
        return None
    from tokenizers import Tokenizer as RawTokenizer

    try:
        return RawTokenizer.from_file(str(path))
    except Exception:  # a file `tokenizers` cannot read: transformers loaded the tokenizer another way
        return None


def _differences(mine: dict | None, theirs: dict | None) -> dict[str, tuple[str, str]]:
    """Splitting components where tokenizer.json (mine) and the class's pipeline differ."""
    if mine is None or theirs is None:
        return {}
    out = {}
    for name in SPLITTING_COMPONENTS:
        a, b = _without_offsets(mine.get(name)), _without_offsets(theirs.get(name))
        if a != b:
            short = (_component(a), _component(b))
            out[name] = short if short[0] != short[1] else (json.dumps(a), json.dumps(b))
    return out


def _without_offsets(spec: Any) -> Any:
    """A component's settings without `trim_offsets`, which moves offsets, never ids."""
    if isinstance(spec, dict):
        return {k: _without_offsets(v) for k, v in spec.items() if k != "trim_offsets"}
    if isinstance(spec, list):
        return [_without_offsets(v) for v in spec]
    return spec


def _component(spec: Any) -> str:
    """A pipeline component as a short readable name: ByteLevel, NFC, Sequence[Split, ByteLevel], none."""
    if not spec:
        return "none"
    parts = spec.get("pretokenizers") or spec.get("normalizers")
    if spec.get("type") == "Sequence" and parts:
        return "Sequence[" + ", ".join(_component(p) for p in parts) + "]"
    return str(spec.get("type"))
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json")


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def looks_local(name: str) -> bool:
    """A path, not a hub id: hub ids are `name` or `org/name`, never absolute or relative paths."""
    return name.startswith(("/", "./", "../", "~")) or name.count("/") > 1 or name.endswith("/") or \
        Path(name).exists() or "\\" in name


def model_source_problem(name: str) -> str | None:
    """What is wrong with a model given by path before anything is loaded, or None."""
    if not looks_local(name):
        return None
    path = Path(name).expanduser()
    if not path.exists():
        return (f"no such model directory {name!r}: give a local model directory (with config.json and the "
                "tokenizer files) or a hub id such as Qwen/Qwen3-8B")
    if not path.is_dir():
        return f"{name!r} is a file, not a model directory: give the directory that holds config.json and the tokenizer"
    if not any((path / f).exists() for f in TOKENIZER_FILES):
        return (f"{name!r} holds no tokenizer (none of {', '.join(TOKENIZER_FILES)}): copy the model's tokenizer "
                "files into it, or give --tokenizer DIR_OR_HUB_ID")
    return None


def _load_failure(name: str, exc: Exception) -> str:
    first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
    if looks_local(name):
        return f"cannot load a tokenizer from {name!r}: {first}"
    if _offline():
        return (f"{name!r} is not in the local Hugging Face cache and HF_HUB_OFFLINE=1 forbids downloading it: "
                "unset HF_HUB_OFFLINE, or download it first (huggingface-cli download " + name + "), or give a "
                "local directory")
    return (f"cannot fetch the tokenizer of {name!r} from the Hugging Face hub (no network, no such repo, or a "
            "gated one: log in with huggingface-cli login); check the id, or give a local model directory "
            f"({first})")
