"""Comparing: several targets side by side, and two stored reports."""
