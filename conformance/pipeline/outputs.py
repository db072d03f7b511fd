"""The output options of a reporting command (`--json PATH`, `--junit-xml PATH`, ...): one per
registered report format (conformance.reporting.formats), so a new format needs no CLI edit."""
from __future__ import annotations

import functools
import inspect
from pathlib import Path
from typing import Annotated, Optional, get_type_hints

import typer

from conformance.reporting.formats import formats


def report_outputs(fn):
    """Add one `--FLAG PATH` option per report format to a Typer command; the command receives
    them as `outputs`, format name -> path (None where not asked for)."""
    sig = inspect.signature(fn)
    hints = get_type_hints(fn, include_extras=True)
    own = [p.replace(annotation=hints.get(p.name, p.annotation)) for p in sig.parameters.values() if p.name != "outputs"]
    fmts = list(formats().values())
    added = [inspect.Parameter(f.param, inspect.Parameter.KEYWORD_ONLY, default=None,
                               annotation=Annotated[Optional[Path], typer.Option(f.flag, help=f.help)]) for f in fmts]

    @functools.wraps(fn)
    def command(**kwargs):
        outputs = {f.name: kwargs.pop(f.param, None) for f in fmts}
        return fn(outputs=outputs, **kwargs)

    command.__signature__ = sig.replace(parameters=[*own, *added])
    command.__annotations__ = {p.name: p.annotation for p in [*own, *added]}
    return command


def output_flags(outputs: dict[str, Path | None]) -> dict[str, Path | None]:
    """flag -> path, as check_outputs names them in its messages."""
    known = formats()
    return {known[name].flag: path for name, path in outputs.items()}


def on_stdout(outputs: dict[str, Path | None]) -> bool:
    return any(str(p) == "-" for p in outputs.values() if p)
