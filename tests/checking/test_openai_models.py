"""conformance.checking.openai_models: the SDK's chat models loaded from its own files without
its package __init__ validate every recorded engine response exactly as `import openai` does."""
import copy
import json
import subprocess
import sys

from conformance.wire.exchange import Exchange
from support import RECORDINGS, ROOT, load_records

# every recorded chat response and stream chunk of real engines, and a few broken copies of them;
# the SDK's models loaded both ways (in one process: the private copy first, then `import openai`)
SCRIPT = r"""
import copy, json, sys
from pydantic import ValidationError
from conformance.checking import openai_models
private = openai_models.chat_models()
assert "openai" not in sys.modules, "the private load imported the openai package"
assert private[0].__module__.startswith(openai_models.PRIVATE)
from openai.types.chat import ChatCompletion, ChatCompletionChunk
real = (ChatCompletion, ChatCompletionChunk)
assert openai_models.chat_models() == real  # once the SDK is imported, its own classes
def errors(model, body):
    try:
        model.model_validate(body, strict=True)
    except ValidationError as exc:
        return [(e["loc"], e["type"]) for e in exc.errors()]
    return []
bodies, chunks = json.loads(sys.stdin.read())
out = {"bodies": 0, "chunks": 0, "invalid": 0}
for kind, items in (("bodies", bodies), ("chunks", chunks)):
    i = 0 if kind == "bodies" else 1
    for item in items:
        a, b = errors(private[i], item), errors(real[i], item)
        assert a == b, (kind, item, a, b)
        out[kind] += 1
        out["invalid"] += bool(a)
print(json.dumps(out))
"""


def _broken(body):
    """The body with one field of a wrong type, and one without a required field."""
    wrong = copy.deepcopy(body)
    wrong["created"] = "yesterday"
    missing = copy.deepcopy(body)
    missing.pop("id", None)
    return [wrong, missing]


def test_the_private_load_validates_as_the_sdk_does():
    bodies, chunks = [], []
    for path in sorted(RECORDINGS.rglob("*.jsonl")):
        for rec in load_records(path):
            if not str(rec.get("path", "")).endswith("/chat/completions") or rec.get("status") != 200:
                continue
            ex = Exchange.from_record(rec)
            if ex.is_stream_request:
                chunks += [c for c in ex.stream.chunks if isinstance(c, dict) and "choices" in c]
            elif "choices" in ex.json:
                bodies.append(ex.json)
    assert len(bodies) > 50 and len(chunks) > 200, (len(bodies), len(chunks))
    bodies += [b for body in bodies[:5] for b in _broken(body)]
    chunks += [c for chunk in chunks[:5] for c in _broken(chunk)]
    res = subprocess.run([sys.executable, "-c", SCRIPT], input=json.dumps([bodies, chunks]), capture_output=True,
                         text=True, cwd=ROOT, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout)
    assert out["bodies"] == len(bodies) and out["chunks"] == len(chunks)
    assert out["invalid"] >= 20, out  # the broken copies fail both ways (and alike)
