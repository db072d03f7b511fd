"""What the client tokenizer (transformers) answered about a local model directory, kept on disk so
a run on the same files need not import transformers (about a second) or load the class (up to a
second more for a 150k vocabulary) before its first check.

The cache is keyed by the content of every file in the directory but the weights (by suffix or
size) and hidden ones (a git clone's .git), and by the versions of transformers, tokenizers and
jinja2: any change to a template, a tokenizer file or a
library is another key, so a hit is transformers' own answer for these very files. It holds the
tokenizer's facts (class, vocabulary size, special, EOS and BOS ids, how tokenizer.json differs from
the class, whether decoding is one call into the file's pipeline) and each chat-template render
and marker lookup it was asked for. Whatever it lacks is asked of transformers, loaded then, and
added. Only tokconf's own command uses it (conformance.cli.main sets ROOT); TOKCONF_CACHE_DIR
moves it, TOKCONF_CACHE_DIR=off turns it off.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

FORMAT = 2  # bump when what is stored, or how it is keyed, changes
# files a tokenizer never reads: weights (large; hashing them would cost more than it saves)
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf", ".onnx", ".msgpack", ".h5", ".ckpt")
MAX_FILE_BYTES = 256 << 20  # larger files are weights whatever their name (a 150k tokenizer.json is ~11 MiB)
LIBRARIES = ("transformers", "tokenizers", "jinja2")
MAX_BYTES = 16 << 20  # past this a cache file takes no more entries (a long trace run renders much)

# set by the `tokconf` command (conformance.cli.main): the cache directory, or None (no cache)
ROOT: Path | None = None


def default_root() -> Path | None:
    """TOKCONF_CACHE_DIR, or $XDG_CACHE_HOME/tokconf (~/.cache/tokconf); None when set to `off`."""
    value = os.environ.get("TOKCONF_CACHE_DIR", "").strip()
    if value.lower() in ("off", "0", "no", "false", "none"):
        return None
    if value:
        return Path(value).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tokconf"


def render_key(messages: list[dict], tools: list[dict] | None) -> str | None:
    """The key of one render. Key order is kept: a template may iterate a dict or dump it as JSON."""
    try:
        text = json.dumps([messages, tools], ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):  # not plain data: asked of transformers every time
        return None
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def directory_key(model_dir: Path) -> str | None:
    """A digest of the directory's non-weight files (names and contents) and the libraries'
    versions; None when they cannot all be read."""
    from importlib.metadata import PackageNotFoundError, version

    digest = hashlib.sha256(f"tokconf-client-cache {FORMAT}\n".encode())
    try:
        for lib in LIBRARIES:
            try:
                digest.update(f"{lib} {version(lib)}\n".encode())
            except PackageNotFoundError:
                digest.update(f"{lib} -\n".encode())
        # subdirectories count (transformers reads additional_chat_templates/), hidden ones not:
        # a git clone's .git/lfs holds the weights again, under no suffix
        for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
            name = path.relative_to(model_dir).as_posix()
            size = path.stat().st_size
            if path.name.endswith(WEIGHT_SUFFIXES) or size > MAX_FILE_BYTES or \
                    any(part.startswith(".") for part in name.split("/")):
                continue
            digest.update(f"{name} {size}\n".encode())
            digest.update(path.read_bytes())
    except OSError:
        return None
    return digest.hexdigest()


class ClientCache:
    """One model directory's entries: a JSONL file, appended to as transformers answers."""

    def __init__(self, path: Path):
        self.path = path
        self.facts: dict[str, Any] | None = None
        self._entries: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self._full = False
        self.added = 0  # entries this process wrote
        self._read()

    @classmethod
    def open(cls, model: str, root: Path | None) -> "ClientCache | None":
        """The cache of a local model directory under `root`; None for a hub id, without a root,
        or when the directory cannot be read."""
        if root is None:
            return None
        model_dir = Path(model).expanduser()
        if not model_dir.is_dir():
            return None  # a hub id: its files are found by transformers, not here
        key = directory_key(model_dir.resolve())
        return cls(root / "client" / f"{key}.jsonl") if key else None

    def _read(self) -> None:
        try:
            raw = self.path.read_bytes()
        except OSError:
            return
        self._full = len(raw) >= MAX_BYTES
        for line in raw.splitlines():
            try:  # a line cut by a crash or a concurrent writer is skipped: asked again
                entry = json.loads(line)
                kind, key, value = entry["kind"], entry["key"], entry["value"]
            except (ValueError, KeyError, TypeError):
                continue
            if kind == "facts" and isinstance(value, dict):
                self.facts = value
            else:
                self._entries[(kind, key)] = value

    def get(self, kind: str, key: str | None) -> Any:
        """The stored answer, or None."""
        return None if key is None else self._entries.get((kind, key))

    def put(self, kind: str, key: str | None, value: Any) -> None:
        if key is None:
            return
        with self._lock:
            if kind == "facts":
                self.facts = value
            elif self._full or self._entries.get((kind, key)) == value:
                return  # full: memory stays bounded too (a trace of a million rollouts renders each once)
            else:
                self._entries[(kind, key)] = value
            if self._full:
                return
            line = (json.dumps({"kind": kind, "key": key, "value": value}, ensure_ascii=False) + "\n").encode("utf-8")
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                # one write() of the whole line on an O_APPEND descriptor: runs sharing the file
                # interleave whole lines
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                try:
                    os.write(fd, line)
                    self._full = os.fstat(fd).st_size >= MAX_BYTES
                finally:
                    os.close(fd)
                self.added += 1
            except OSError:  # a read-only home: the run goes on without storing
                self._full = True
