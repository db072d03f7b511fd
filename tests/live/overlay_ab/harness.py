"""Engine-free run of SGLang's /v1/chat/completions code on scripted engine outputs (runs in an
ENGINE's interpreter: `python harness.py SCENARIOS.yaml OUT.json`; needs SGLang and PyYAML only).

SGLang's real OpenAIServingChat is built over a stand-in for its TokenizerManager whose
`generate_request` yields the scenario's outputs instead of asking a scheduler, so no model is
loaded and no process is started. Whatever the interpreter's SGLang is (as installed, patched
on disk by a fork's own patch put first on PYTHONPATH, or overlaid by tokconf's sitecustomize
hook) is what runs: this file neither patches nor knows which contract is in force.

The stand-in shapes each output the way that SGLang release's TokenizerManager does
(_handle_batch_output, _wait_one_response, _stream_batch_responses):
  text         cumulative, except 0.5.23's incremental streaming (--incremental-streaming-output),
               which sends each step's new text; 0.5.9's --stream-output keeps text cumulative
  output_ids   cumulative, except a stream with the incremental flag: that step's new ids
  index        set on each output of an n>1 stream; a non-stream n>1 request gets one list
  meta_info    id (one per choice), finish_reason, prompt_tokens, completion_tokens, cached_tokens
  prompt_token_ids   on every output when the request asked for it (GenerateReqInput's
               return_prompt_token_ids, 0.5.23 only), as tokenized
It runs GenerateReqInput.normalize_batch_and_arguments() first, as generate_request does (n>1
turns the request into a batch there).

What an overlay patches in sglang.srt.managers.tokenizer_manager is applied to the stand-in too,
the way the hook applies it to the real module (the stand-in takes TokenizerManager's place).

Output: {scenario name: {"stream": [SSE events as JSON, "[DONE]"], "nonstream": body}}, plus
"_meta" (SGLang's version, the overlay in force, the patched files' origin).
"""
import asyncio
import inspect
import json
import os
import sys
import types

import yaml

os.environ.setdefault("SGLANG_USE_CPU_ENGINE", "1")

import sglang  # noqa: E402
from sglang.srt.managers.io_struct import GenerateReqInput  # noqa: E402
from sglang.srt.managers.tokenizer_manager import TokenizerManager  # noqa: E402
from sglang.srt.server_args import ServerArgs  # noqa: E402

try:  # 0.5.23 publishes server args to a process-wide context read by get_serving()
    from sglang.srt.runtime_context import publish
except ImportError:  # 0.5.9 reads tokenizer_manager.server_args
    publish = None
try:
    from sglang.srt.parser.template_manager import TemplateManager
except ImportError:
    from sglang.srt.managers.template_manager import TemplateManager
from sglang.srt.entrypoints.openai.protocol import ChatCompletionRequest  # noqa: E402
from sglang.srt.entrypoints.openai.serving_chat import OpenAIServingChat  # noqa: E402

SERVER_FIELDS = set(inspect.signature(ServerArgs).parameters)
# the server flag that makes streamed outputs deltas: renamed between releases
INCREMENTAL_FLAG = next(f for f in ("incremental_streaming_output", "stream_output") if f in SERVER_FIELDS)


def overlay_module():
    """The overlay tokconf's sitecustomize hook loaded into this interpreter (None: none)."""
    return getattr(sys.modules.get("sitecustomize"), "_overlay", None)


class EngineStandIn:
    """TokenizerManager's place in OpenAIServingChat, with the scheduler replaced by a script.
    Anything not scripted (tokenizer, model_config, server_args, config_value) is a real
    TokenizerManager's, initialised by its own init_model_config / init_tokenizer_and_processor."""

    def __init__(self, real: TokenizerManager, incremental: bool):
        self._real = real
        self.incremental = incremental
        self.steps: list[dict] = []
        self.prompt: list[int] | None = None  # the prompt ids the engine was given (as tokenized)
        self.prompt_form: str | None = None

    def __getattr__(self, name):
        return getattr(self._real, name)

    def create_abort_task(self, obj):
        return None  # no engine request to abort

    async def generate_request(self, obj, request=None):
        obj.normalize_batch_and_arguments()
        input_ids = obj.input_ids
        self.prompt_form = "text" if input_ids is None else "input_ids"  # what the chat layer handed over
        if isinstance(input_ids, list) and input_ids and isinstance(input_ids[0], list):
            input_ids = input_ids[0]  # n>1: the same prompt once per choice
        if input_ids is None:
            text = obj.text[0] if isinstance(obj.text, list) else obj.text
            input_ids = self._real.tokenizer.encode(text)
        prompt = self.prompt = list(input_ids)
        with_prompt = bool(getattr(obj, "return_prompt_token_ids", False))
        stream = bool(obj.stream)
        n = max(s.get("index", 0) for s in self.steps) + 1
        ids = {i: [] for i in range(n)}
        text = {i: "" for i in range(n)}

        def output(i, new_ids, new_text, finish):
            meta = {"id": f"req-{i}", "finish_reason": finish, "prompt_tokens": len(prompt),
                    "completion_tokens": len(ids[i]), "cached_tokens": 0,
                    "weight_version": self._real.server_args.weight_version}
            delta = stream and self.incremental
            out = {"text": new_text if delta and INCREMENTAL_FLAG == "incremental_streaming_output" else text[i],
                   "output_ids": list(new_ids) if delta else list(ids[i]), "meta_info": meta}
            if with_prompt:
                out["prompt_token_ids"] = prompt
            return out

        last = {}
        for step in self.steps:
            i = step.get("index", 0)
            ids[i].extend(step["ids"])
            text[i] += step["text"]
            last[i] = out = output(i, step["ids"], step["text"], step.get("finish"))
            if stream:
                if n > 1:
                    out["index"] = i
                yield out
                await asyncio.sleep(0)
        if not stream:
            yield last[0] if n == 1 else [last[i] for i in range(n)]


def server_args(model: str, server: dict) -> ServerArgs:
    kwargs = {"model_path": model, "device": "cpu", INCREMENTAL_FLAG: bool(server.get("incremental"))}
    for key in ("tool_call_parser", "reasoning_parser"):
        if server.get(key):
            kwargs[key] = server[key]
    return ServerArgs(**kwargs)


def real_tokenizer_manager(args: ServerArgs) -> TokenizerManager:
    """A TokenizerManager with only its model config, tokenizer and request logger initialised (no IPC,
    no event loop, no scheduler)."""
    if publish is not None:
        publish(args, role="tokenizer")
    tm = TokenizerManager.__new__(TokenizerManager)
    tm.server_args = args
    tm.init_model_config()
    tm.init_tokenizer_and_processor()
    tm.init_request_logging_and_dumping()  # the chat code reads request_logger (off by default)
    return tm


def stand_in_class():
    """A fresh EngineStandIn subclass with the overlay's tokenizer-manager patch applied to it."""
    cls = type("EngineStandIn", (EngineStandIn,), {})
    overlay = overlay_module()
    patch = getattr(overlay, "PATCHES", {}).get("sglang.srt.managers.tokenizer_manager")
    if patch is not None:
        patch(types.SimpleNamespace(TokenizerManager=cls))
    return cls


def events(raw: str) -> list:
    """One SSE event string as the client parses it: data as JSON, [DONE] kept as is."""
    out, name = [], None
    for line in raw.splitlines():
        if line.startswith("event: "):
            name = line[len("event: "):]
        elif line.startswith("data: "):
            data = line[len("data: "):]
            data = data if data == "[DONE]" else json.loads(data)
            out.append({"event": name, "data": data} if name else data)
            name = None
    return out


async def body_json(response) -> dict:
    if hasattr(response, "model_dump"):  # a pydantic response, as FastAPI serialises it
        return json.loads(response.model_dump_json())
    if hasattr(response, "body_iterator"):
        raise TypeError("a stream where a JSON body was expected")
    return json.loads(response.body)


def no_error(name: str, body: dict) -> dict:
    # SGLang turns any exception into an error body: a scaffolding gap must not pass as a result
    if body.get("object") == "error" or "error" in body:
        raise RuntimeError(f"{name}: SGLang answered with an error: {body}")
    return body


async def run_scenario(scenario: dict, model: str, cache: dict) -> dict:
    server = scenario.get("server") or {}
    key = json.dumps(server, sort_keys=True)
    if key not in cache:
        cache[key] = real_tokenizer_manager(server_args(model, server))
    real = cache[key]
    real.model_config.is_multimodal = bool((scenario.get("model") or {}).get("is_multimodal"))
    if publish is not None:
        publish(real.server_args, role="tokenizer")
    template_manager = TemplateManager()
    template_manager.initialize_templates(tokenizer_manager=real, model_path=model)
    result = {}
    for stream in (True, False):
        stand_in = stand_in_class()(real, bool(server.get("incremental")))
        stand_in.steps = scenario["steps"]
        chat = OpenAIServingChat(stand_in, template_manager)
        body = {"model": "tiny-chat", "messages": [{"role": "user", "content": "Hello"}],
                **(scenario.get("request") or {}), "stream": stream}
        response = await chat.handle_request(ChatCompletionRequest(**body), None)
        if stream:
            if not hasattr(response, "body_iterator"):
                raise RuntimeError(f"{scenario['name']}: no stream: {await body_json(response)}")
            chunks = []
            async for raw in response.body_iterator:
                chunks.extend(events(raw if isinstance(raw, str) else raw.decode()))
            for chunk in chunks:
                if isinstance(chunk, dict):
                    no_error(scenario["name"], chunk)
            result["stream"] = chunks
            result["stream_prompt"] = stand_in.prompt
            result["prompt_form"] = stand_in.prompt_form
        else:
            result["nonstream"] = no_error(scenario["name"], await body_json(response))
            result["nonstream_prompt"] = stand_in.prompt
    return result


async def main(scenarios_path: str, model: str) -> dict:
    with open(scenarios_path) as f:
        scenarios = yaml.safe_load(f)["scenarios"]
    only = set(filter(None, os.environ.get("TOKCONF_AB_ONLY", "").split(",")))
    cache: dict = {}
    out = {}
    for scenario in scenarios:
        if not only or scenario["name"] in only:
            out[scenario["name"]] = await run_scenario(scenario, model, cache)
    overlay = overlay_module()
    out["_meta"] = {"sglang": sglang.__version__, "incremental_flag": INCREMENTAL_FLAG,
                    "overlay": getattr(overlay, "NAME", None),
                    "serving_chat": sys.modules[OpenAIServingChat.__module__].__file__}
    return out


if __name__ == "__main__":
    scenarios_file, model_dir, out_file = sys.argv[1:4]
    result = asyncio.run(main(scenarios_file, model_dir))
    with open(out_file, "w") as f:
        json.dump(result, f, ensure_ascii=False, indent=1)
