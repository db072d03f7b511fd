"""The commands the documentation shows, read from README.md, CONTRIBUTING.md and docs/**/*.md.

The convention (README.md, "Docs are tested"):
- in a ```console block, each line starting `$ ` is a command (a trailing backslash continues it);
  it must be a `tokconf` command; it is run and must exit 0, or N when the line ends `# exit N`;
- a ```console block right after the line `<!-- docs-test: engine -->` needs an engine: it is run in
  the engine tier only (tests/live/test_docs_engine_commands.py);
- in any other block (```bash, ```text, ...) a line starting `tokconf ` is not run, but its
  subcommand and options must exist.
Commands run in a scratch folder that links the checkout's top-level folders (fixtures/, tests/,
conformance/, ...), so paths in the docs resolve as from a checkout and what they write
(`--json out.json`, reports/) stays out of it."""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENGINE_MARK = "<!-- docs-test: engine -->"
FENCE = re.compile(r"^(\s*)(```+)\s*([\w+-]*)")
EXIT = re.compile(r"#\s*exit\s+(\d+)")


@dataclass
class DocCommand:
    page: str  # path relative to the checkout
    line: int
    text: str  # the command as written (continuations joined), without `$ `
    run: bool  # in a console block: run it
    engine: bool  # in a console block marked as needing an engine

    @property
    def words(self) -> list[str]:
        return shlex.split(self.text, comments=True)

    @property
    def exit_code(self) -> int:
        m = EXIT.search(self.text)
        return int(m.group(1)) if m else 0

    def __str__(self) -> str:
        return f"{self.page}:{self.line}: {self.text}"


def doc_pages() -> list[Path]:
    pages = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").rglob("*.md"))]
    return [p for p in pages if p.exists()]


def commands(page: Path) -> list[DocCommand]:
    rel = str(page.relative_to(ROOT)) if page.is_relative_to(ROOT) else page.name
    out: list[DocCommand] = []
    lines = page.read_text(encoding="utf-8").splitlines()
    fence = None  # (marker, info, engine) of the open block
    previous = ""  # the last non-blank line outside a block
    pending: tuple[int, str] | None = None
    for n, line in enumerate(lines, 1):
        m = FENCE.match(line)
        if fence is None:
            if m:
                fence = (m.group(2), m.group(3), previous.strip() == ENGINE_MARK)
            elif line.strip():
                previous = line
            continue
        if m and m.group(2) == fence[0] and not m.group(3):
            fence, previous = None, ""
            continue
        marker, info, engine = fence
        body = line.strip()
        if pending is not None:
            start, text = pending[0], pending[1] + " " + body
        elif info == "console" and body.startswith("$ "):
            start, text = n, body[2:]
        elif info != "console" and body.startswith("tokconf "):
            start, text = n, body
        else:
            continue
        if text.endswith("\\"):
            pending = (start, text[:-1].rstrip())
        else:
            pending = None
            out.append(DocCommand(rel, start, text.strip(), info == "console", engine))
    return out


def all_commands() -> list[DocCommand]:
    return [c for p in doc_pages() for c in commands(p)]


def scratch_checkout(folder: Path) -> Path:
    """A folder where the docs' relative paths resolve: each top-level entry of the checkout linked
    in, but reports/ and hidden ones."""
    folder.mkdir(parents=True, exist_ok=True)
    for entry in ROOT.iterdir():
        if entry.name.startswith(".") or entry.name == "reports" or (folder / entry.name).exists():
            continue
        (folder / entry.name).symlink_to(entry)
    return folder


def run(cmd: DocCommand, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    words = cmd.words
    assert words[:1] == ["tokconf"], f"{cmd}: a console block holds tokconf commands only"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    env.pop("GITHUB_STEP_SUMMARY", None)  # a docs example's --markdown must not append to a CI job's summary
    return subprocess.run([sys.executable, "-m", "conformance", *words[1:]], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)
