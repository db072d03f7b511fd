"""tokconf: conformance checks for token-in / token-out behaviour of inference engines."""

__version__ = "0.1.0"
