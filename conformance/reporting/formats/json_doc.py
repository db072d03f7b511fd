"""JSON: the report document itself (what `tokconf report` and `compare` read back)."""
import json

from conformance.reporting.formats import ReportFormat, register_format

register_format(ReportFormat(
    "json", "--json", "Write the JSON report here ('-': stdout).",
    render=lambda report: json.dumps(report, indent=2, ensure_ascii=False) + "\n", rank=0))
