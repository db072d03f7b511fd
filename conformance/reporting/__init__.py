"""Report formats. Every renderer reads the JSON report document (report.build_report), so a
stored report re-renders exactly like a live run (tokconf report). comparison.py compares two
stored reports (tokconf compare A B); compare_*.py render that and the targets' comparison."""
