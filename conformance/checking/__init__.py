"""What checks use: the verdicts (verdicts.py, no pytest), the check API and catalogue, the reply
model and a dialect's reply (dialect_replies.py), id sequences, drift."""
