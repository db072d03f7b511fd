from conformance.cli import app

app(prog_name="tokconf")
