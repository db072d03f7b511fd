"""What the commands run, outside the CLI: cli.py declares options and calls these.

outputs: the report-format options every reporting command takes, built from the format registry.
inputs: dialect, cases, baseline, expectations, -k selection and tokenizer, loaded before a run.
verify: plan -> exchanges -> checks -> report document -> outputs -> exit code.
prepare: before a live run (verify, selftest): plan, inputs, -k, preflight, tokenizer.
baseline: `baseline record`, planned and launched as verify is, sending vanilla requests.
"""
