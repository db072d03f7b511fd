"""Inputs users write: cases, expectations, baselines (each with one schema)."""
