"""Comparing several targets side by side (two stored reports are compared by
conformance.reporting.comparison, beside its renderers)."""
