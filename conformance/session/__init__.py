"""One engine session for every command that launches or attaches (verify, selftest, baseline
record, compare's targets, probe), written once:

- options.py    the shared command-line options (Annotated aliases) and SessionOptions, their bundle
- plan.py       options checked and resolved: launch (which engine, argv, env) or attach
- secrets.py    what must never be printed or written (API key, secret engine args and env values)
- preflight.py  before any check: the server answers and serves the model, else exit 3
- launch.py     launch or attach, wait, preflight, always tear down
- exits.py      exit codes, SIGTERM and Ctrl-C, one-line errors
- console.py    stdout/stderr consoles; status progress while an engine starts

A new launching command takes the aliases from options.py as its parameters, builds a
SessionOptions from them (`SessionOptions.pick(locals())`), and runs inside `exits.guard()` and
`launch.engine_session(...)`. A new option shared by every launching command is one alias and one
SessionOptions field.
"""
