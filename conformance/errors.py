"""Errors that map to tokconf's exit codes (see conformance.cli)."""


class UsageError(Exception):
    """Bad input from the user: a file that does not parse, an unknown dialect. Exit code 2."""


class EngineError(Exception):
    """The engine failed to start, or died. Exit code 3. Carries the engine log's tail.
    `started=False`: it could not even be started (no interpreter): there is no log to speak of."""

    def __init__(self, message: str, log_tail: str = "", exit_code: int | None = None, started: bool = True):
        super().__init__(message)
        self.log_tail = log_tail
        self.exit_code = exit_code
        self.started = started


class PreflightError(Exception):
    """The server is not there, or does not serve the model: nothing was checked. Exit code 3."""
