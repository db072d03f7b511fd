"""Where and by what a run was made, as every report's run info says it (verify, compare, trace)."""
from __future__ import annotations

import datetime as dt
import platform
from typing import Any

from conformance import __version__


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def provenance(argv: list[str] | None) -> dict[str, Any]:
    """The host, its Python, tokconf's command line (`argv`, already redacted; None: a part of a
    run whose document carries the command line once, as compare's targets) and version, the start."""
    return {"host": platform.node(), "python": platform.python_version(), "platform": platform.platform(),
            **({"tokconf_argv": argv} if argv is not None else {}), "tokconf_version": __version__,
            "started_at": now()}
