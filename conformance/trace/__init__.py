"""`tokconf trace`: verify recorded rollouts, the ids training actually reads.

mapping (where each field sits in a stored record, as data) -> sources (stream records out of a
gateway's SQLite store, its HTTP API, or JSONL) -> checks (pure functions over one trace, or two
consecutive turns of a session) -> runner (results, the same report document as `verify`).
"""
