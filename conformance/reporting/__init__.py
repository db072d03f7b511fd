"""Report formats. Every renderer reads the JSON report document (report.build_report), so a
stored report re-renders exactly like a live run (tokconf report)."""
