"""The report formats: each is one module of this package (or a plugin, conformance.plugins) that
calls `register_format` when imported. verify's and trace's output flags (`--junit-xml PATH` ...)
and `tokconf report -f`'s choices are built from this registry, so a new format is one file."""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

Report = dict[str, Any]


@dataclass(frozen=True)
class ReportFormat:
    name: str                       # `tokconf report -f NAME`
    flag: str                       # the output option of verify and trace, e.g. "--junit-xml"
    help: str                       # that option's help
    render: Callable[[Report], str]  # the document as text
    # how a file is written, when more than the rendered text (Markdown also goes to the CI summary)
    write: Callable[[Report, Path], Any] | None = None
    rank: int = 100                 # where its flag is listed in --help (the shipped ones first)

    @property
    def param(self) -> str:
        """The command parameter behind the flag."""
        return f"{self.name.replace('-', '_')}_out"

    def write_to(self, report: Report, path: Path) -> None:
        if self.write is not None:
            self.write(report, path)
            return
        from conformance.reporting.sink import write_text

        write_text(path, self.render(report))


_FORMATS: dict[str, ReportFormat] = {}
_discovered = False


def register_format(fmt: ReportFormat) -> ReportFormat:
    taken = {f.flag: f.name for f in _FORMATS.values() if f.name != fmt.name}
    if fmt.flag in taken:
        raise ValueError(f"report format {fmt.name}: flag {fmt.flag} is {taken[fmt.flag]}'s")
    _FORMATS[fmt.name] = fmt
    return fmt


def formats() -> dict[str, ReportFormat]:
    """Every format, by rank, then in the order they registered."""
    global _discovered
    if not _discovered:
        _discovered = True
        for mod in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
            importlib.import_module(f"{__name__}.{mod.name}")
        from conformance.plugins import load

        load()
    return {f.name: f for f in sorted(_FORMATS.values(), key=lambda f: f.rank)}  # sorted() is stable


def get_format(name: str) -> ReportFormat:
    from conformance.errors import UsageError

    known = formats()
    if name not in known:
        raise UsageError(f"unknown report format {name!r}; one of {', '.join(known)}")
    return known[name]


def write_outputs(report: Report, outputs: dict[str, Path | None]) -> list[Path]:
    """The document in every format asked for: format name -> path ('-': stdout)."""
    written = []
    for name, path in outputs.items():
        if path:
            get_format(name).write_to(report, path)
            written.append(path)
    return written
