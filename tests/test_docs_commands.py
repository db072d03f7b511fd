"""Every command the documentation shows works: console blocks run (no engine) with the exit code
they state, and every tokconf line in any block names a subcommand and options that exist.
The convention is in tests/docs_commands.py and README.md ("Docs are tested")."""
import pytest
import typer

from conformance.cli import app
from docs_commands import ROOT, all_commands, commands, doc_pages, run, scratch_checkout

PAGES = [p for p in doc_pages() if any(c.run and not c.engine for c in commands(p))]


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_console_commands_run_with_the_exit_code_shown(page, tmp_path):
    """In page order, in one scratch folder: a later command may read what an earlier one wrote."""
    cwd = scratch_checkout(tmp_path / "checkout")
    for cmd in commands(page):
        if cmd.run and not cmd.engine:
            res = run(cmd, cwd)
            assert res.returncode == cmd.exit_code, f"{cmd}\nexit {res.returncode}\n{res.stderr[-3000:]}"


def _known_options():
    root = typer.main.get_command(app)
    table = {}

    def walk(cmd, path):
        opts = {o for p in cmd.params for o in (*p.opts, *p.secondary_opts)} | {"--help", "-h"}
        table[path] = opts
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, (*path, name))
    walk(root, ())
    return table


def test_every_documented_tokconf_command_uses_real_subcommands_and_options():
    table = _known_options()
    problems = []
    for cmd in all_commands():
        words = [w.strip("[]") for w in cmd.words[1:]]
        path = ()
        while words and (*path, words[0]) in table:
            path, words = (*path, words[0]), words[1:]
        if not path and not (words and words[0].startswith("-")):
            problems.append(f"{cmd}: no such subcommand")
            continue
        used = {w.split("=", 1)[0] for w in words if w.startswith("-") and w != "-" and not w[1:2].isdigit()}
        unknown = sorted(used - table[path])
        if unknown:
            problems.append(f"{cmd}: unknown option(s) {', '.join(unknown)}")
    assert not problems, "\n".join(problems)


def test_the_convention_finds_commands_in_readme_and_docs():
    found = all_commands()
    pages = {c.page for c in found}
    assert "README.md" in pages and any(p.startswith("docs/") for p in pages)
    readme = [c for c in found if c.page == "README.md"]
    assert any(c.run and not c.engine for c in readme) and any(c.engine for c in readme)
    assert any(c.exit_code == 3 for c in readme)  # the preflight example: nothing listening


def test_ci_runs_the_command_the_readme_names():
    """README's Tests section says `make test` is what .ci/run calls, and what make test runs."""
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    makefile = (ROOT / "Makefile").read_text()
    assert "`make test` (what `.ci/run` calls)" in readme
    assert "\nmake test\n" in ci
    recipe = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert "$(PY) -m pytest -q -ra" in recipe and "`.venv/bin/python -m pytest -q -ra`" in readme
    fast = makefile.split("\ntest-fast:", 1)[1].split("\n\n", 1)[0]
    assert '-m "not engine"' in fast and '`make test-fast` skips the real-engine tier (`-m "not engine"`)' in readme


def test_the_parser_reads_continuations_exit_codes_and_the_engine_mark(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("""text
```console
$ tokconf list \\
    --json
some output
$ tokconf verify --base-url http://127.0.0.1:1 --model m   # exit 3
```

<!-- docs-test: engine -->
```console
$ tokconf verify
```

```bash
tokconf verify --replay x.jsonl  # shown, not run
make demo
```
""")
    found = commands(page)
    assert [(c.text, c.run, c.engine, c.exit_code) for c in found] == [
        ("tokconf list --json", True, False, 0),
        ("tokconf verify --base-url http://127.0.0.1:1 --model m   # exit 3", True, False, 3),
        ("tokconf verify", True, True, 0),
        ("tokconf verify --replay x.jsonl  # shown, not run", False, False, 0)]
