"""Each engine's tool-call parser is chosen by the model's markup family (its chat template's markers,
else config.json), from data (conformance/inputs/tool_markup.yaml); the user's --engine-arg replaces it. The argv is what is checked: no engine runs here."""
import json

import pytest

from conformance.engines.base import EngineOptions
from conformance.engines.dynamo import DynamoEngine
from conformance.engines.sglang import SglangEngine
from conformance.engines.registry import engine_kind
from conformance.engines.tool_parsers import load_table, tool_parser
from conformance.engines.vllm import VllmEngine
from conformance.errors import UsageError
from support import ROOT

FIXTURE = ROOT / "fixtures" / "tiny-chat"


def model_dir(tmp_path, template_file=None, template=None, **config):
    d = tmp_path / "model"
    d.mkdir()
    (d / "config.json").write_text(json.dumps(config))
    if template_file == "chat_template.jinja":
        (d / template_file).write_text(template, encoding="utf-8")
    elif template_file == "tokenizer_config.json":
        (d / template_file).write_text(json.dumps({"chat_template": template}), encoding="utf-8")
    return d


# the tool-call turn of DeepSeek-R1's template, which its Llama and Qwen distills carry
DEEPSEEK_TEMPLATE = ("{%- for tool in message['tool_calls'] %}{{'<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>' + tool['type'] "
                     "+ '<｜tool▁sep｜>' + tool['function']['name'] + '\\n' + '```json' + '\\n' + "
                     "tool['function']['arguments'] + '\\n' + '```' + '<｜tool▁call▁end｜>'}}{%- endfor %}")


def argv(engine, model, extra=(), tmp_path=None):
    opts = EngineOptions(model=model, served_model="m", python="py", port=1, extra_args=list(extra), work_dir=tmp_path)
    if engine == "vllm":
        return VllmEngine().launch_specs(opts)[0].argv
    if engine == "sglang":
        # the interpreter is not asked (no SGLang here): it has sglang and no sgl_kernel
        found = {"sglang": "/venv/lib/sglang/__init__.py", "sgl_kernel": None}
        return SglangEngine(gpu=False, inspect=lambda python, env: found).launch_specs(opts)[0].argv
    return DynamoEngine().launch_specs(opts)[0].argv  # the worker: Dynamo parses tools with its flag


def parsers_in(args, flag):
    return [args[i + 1] for i, a in enumerate(args) if a == flag] + [a.split("=", 1)[1] for a in args
                                                                      if a.startswith(flag + "=")]


@pytest.mark.parametrize("engine,expected", [("vllm", "hermes"), ("sglang", "qwen"), ("dynamo", "hermes")])
def test_the_fixture_model_gets_each_engines_qwen_parser(tmp_path, engine, expected):
    args = argv(engine, FIXTURE, tmp_path=tmp_path)
    assert parsers_in(args, engine_kind(engine).tool_parser_flag) == [expected]
    assert "qwen25" not in args  # SGLang's deprecated alias


@pytest.mark.parametrize("config,engine,expected", [
    ({"model_type": "llama", "architectures": ["LlamaForCausalLM"]}, "vllm", "llama3_json"),
    ({"model_type": "llama"}, "sglang", "llama3"),
    ({"model_type": "gpt_oss"}, "dynamo", "harmony"),
    ({"model_type": "gpt_oss"}, "vllm", "openai"),
    ({"model_type": "mistral"}, "sglang", "mistral"),
    ({"architectures": ["DeepseekV3ForCausalLM"]}, "sglang", "deepseekv3"),  # no model_type: architectures decide
    ({"model_type": "qwen3_moe"}, "sglang", "qwen"),
    ({"model_type": "some_new_family"}, "sglang", "qwen"),  # not in the table: the default
])
def test_the_model_family_decides(tmp_path, config, engine, expected):
    args = argv(engine, model_dir(tmp_path, **config), tmp_path=tmp_path)
    assert parsers_in(args, engine_kind(engine).tool_parser_flag) == [expected]


@pytest.mark.parametrize("template_file", ["chat_template.jinja", "tokenizer_config.json"])
@pytest.mark.parametrize("engine,expected", [("vllm", "deepseek_v3"), ("sglang", "deepseekv3"), ("dynamo", "deepseek_v3")])
def test_the_chat_template_decides_before_the_architecture(tmp_path, template_file, engine, expected):
    # DeepSeek-R1-Distill-Llama: a Llama architecture that writes DeepSeek tool-call markup
    model = model_dir(tmp_path, template_file, DEEPSEEK_TEMPLATE, model_type="llama", architectures=["LlamaForCausalLM"])
    assert parsers_in(argv(engine, model, tmp_path=tmp_path), engine_kind(engine).tool_parser_flag) == [expected]


def test_a_template_without_known_markup_leaves_the_choice_to_config_json(tmp_path):
    model = model_dir(tmp_path, "chat_template.jinja", "{{ messages[0]['content'] }}", model_type="llama")
    assert tool_parser("vllm", model) == "llama3_json"


def test_the_users_arg_wins_over_the_template(tmp_path):
    model = model_dir(tmp_path, "chat_template.jinja", DEEPSEEK_TEMPLATE, model_type="llama")
    args = argv("vllm", model, ["--tool-call-parser=hermes"], tmp_path=tmp_path)
    assert parsers_in(args, engine_kind("vllm").tool_parser_flag) == ["hermes"]


def test_a_model_given_by_name_or_with_a_broken_config_gets_the_default(tmp_path):
    assert tool_parser("sglang", "org/some-model") == "qwen"
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    assert tool_parser("vllm", broken) == "hermes"


@pytest.mark.parametrize("engine,user", [
    ("vllm", ["--tool-call-parser", "pythonic"]),
    ("vllm", ["--tool-call-parser=pythonic"]),
    ("sglang", ["--tool-call-parser=pythonic"]),
    ("dynamo", ["--dyn-tool-call-parser", "pythonic"]),
])
def test_the_users_engine_arg_replaces_the_choice(tmp_path, engine, user):
    args = argv(engine, FIXTURE, user, tmp_path=tmp_path)
    assert parsers_in(args, engine_kind(engine).tool_parser_flag) == ["pythonic"]  # theirs is the only one on the command line
    assert args[-len(user):] == user


def test_the_table_names_every_engine_and_rejects_unknown_keys(tmp_path):
    default, families = load_table()
    assert set(default) == {"vllm", "sglang", "dynamo"} and families
    bad = tmp_path / "t.yaml"
    bad.write_text("default_parsers: {vllm: a, sglang: b, dynamo: c}\nfamilies:\n  - {name: x, parsers: {vllm: a, sglang: b, dynamo: c}, model_typo: [x]}\n")
    with pytest.raises(UsageError, match="families\\[0\\]"):
        load_table(bad)
    bad.write_text("default_parsers: {vllm: a, sglang: b}\nfamilies: []\n")
    with pytest.raises(UsageError, match="default"):
        load_table(bad)


def test_every_vllm_name_is_registered_by_the_installed_vllm():
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("vllm")
    if spec is None or not spec.origin:
        pytest.skip("vLLM is not installed here")
    registry = (Path(spec.origin).parent / "tool_parsers" / "__init__.py").read_text(encoding="utf-8")
    default, families = load_table()
    for name in {default["vllm"], *(f["parsers"]["vllm"] for f in families)}:
        assert f'"{name}": (' in registry, name


def test_every_dynamo_name_is_registered_by_the_installed_dynamo():
    import subprocess

    python = ROOT / ".venv-dynamo" / "bin" / "python"
    if not python.exists():
        pytest.skip("no .venv-dynamo")
    out = subprocess.run([str(python), "-c", "from dynamo._core import get_tool_parser_names as g; print('\\n'.join(g()))"],
                         capture_output=True, text=True, timeout=120)
    registered = set(out.stdout.split())
    default, families = load_table()
    assert {default["dynamo"], *(f["parsers"]["dynamo"] for f in families)} <= registered


def test_every_sglang_name_is_registered_by_the_installed_sglang():
    found = sorted((ROOT / ".venv-sglang" / "lib").glob("python3*/site-packages/sglang/srt/function_call/function_call_parser.py"))
    if not found:
        pytest.skip("no .venv-sglang")
    registry = found[0].read_text(encoding="utf-8")
    default, families = load_table()
    for name in {default["sglang"], *(f["parsers"]["sglang"] for f in families)}:
        assert f'"{name}": ' in registry, name
