"""Running the suites: the pytest plugin (and the evidence it attaches), the runner, the
determinism pre-check, repeats; and the other commands that send requests to a server:
`tokconf probe` (probe.py) and `tokconf baseline record` (baseline.py)."""
