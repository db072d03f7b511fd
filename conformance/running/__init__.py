"""Running the suites: the pytest plugin, the runner, the determinism pre-check, repeats."""
