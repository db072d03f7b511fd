"""Drive agent-style conversations through a gateway's session URLs (an agent's view: the
OpenAI API at /sessions/{id}/v1), keeping every body the agent received. Used to capture a
gateway store (scripts/capture_gateway_store.py) and by the engine tier.

Each catalogue case is a session: turn 1 is the case's request (non-stream, or stream with
usage), continued with its follow-up and more user turns the fixture model knows, the reply the
agent received appended as an agent appends it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from conformance.inputs.cases import Case

MORE_TURNS = ["Write a haiku with emoji.", "Send me a flower."]


@dataclass
class AgentLog:
    """What the agent received: whole non-stream bodies and stream chunks, with the request."""

    bodies: list[tuple[dict, dict]] = field(default_factory=list)  # (request, response)
    chunks: list[tuple[dict, list[dict]]] = field(default_factory=list)  # (request, chunks)


def _assemble(chunks: list[dict]) -> dict:
    content, calls, finish = "", {}, None
    for chunk in chunks:
        for c in chunk.get("choices") or []:
            delta = c.get("delta") or {}
            content += delta.get("content") or ""
            for tc in delta.get("tool_calls") or []:
                slot = calls.setdefault(tc.get("index", 0), {"id": None, "type": "function",
                                                             "function": {"name": "", "arguments": ""}})
                slot["id"] = tc.get("id") or slot["id"]
                fn = tc.get("function") or {}
                slot["function"]["name"] += fn.get("name") or ""
                slot["function"]["arguments"] += fn.get("arguments") or ""
            finish = c.get("finish_reason") or finish
    msg: dict[str, Any] = {"role": "assistant", "content": content or None}
    if calls:
        msg["tool_calls"] = [calls[k] for k in sorted(calls)]
    return {"message": msg, "finish_reason": finish}


def call(client: httpx.Client, session: str, body: dict, log: AgentLog) -> dict:
    """One request through the session URL: the assistant message and finish reason received."""
    url = f"/sessions/{session}/v1/chat/completions"
    if body.get("stream"):
        with client.stream("POST", url, json=body) as resp:
            resp.raise_for_status()
            chunks = [json.loads(line[6:]) for line in resp.iter_lines()
                      if line.startswith("data: ") and line != "data: [DONE]"]
        log.chunks.append((body, chunks))
        return _assemble(chunks)
    resp = client.post(url, json=body)
    resp.raise_for_status()
    data = resp.json()
    log.bodies.append((body, data))
    choice = data["choices"][0]
    return {"message": {k: v for k, v in choice["message"].items() if k in ("role", "content", "tool_calls")},
            "finish_reason": choice["finish_reason"]}


def conversation(client: httpx.Client, session: str, case: Case, served: str, stream: bool, log: AgentLog) -> None:
    client.post("/sessions", json={"session_id": session}).raise_for_status()
    messages = list(case.messages)
    body: dict[str, Any] = {"model": served, "messages": messages, **case.params}
    if case.tools:
        body["tools"] = case.tools
    if stream:
        body.update(stream=True, stream_options={"include_usage": True})
    later = [list(case.followup)] if case.followup else []
    if not case.has("length") and not case.params.get("stop"):
        later += [[{"role": "user", "content": text}] for text in MORE_TURNS]
    for turn in range(len(later) + 1):
        got = call(client, session, body, log)
        if turn == len(later) or got["finish_reason"] == "length":
            return
        reply = got["message"]
        follow = []
        for m in later[turn]:
            m = dict(m)
            if m["role"] == "tool":
                if not reply.get("tool_calls"):
                    return  # the model did not call the tool: the scripted follow-up does not apply
                m["tool_call_id"] = reply["tool_calls"][0]["id"]
            follow.append(m)
        messages = [*messages, reply, *follow]
        body = {**body, "messages": messages}


def n2_requests(client: httpx.Client, served: str, cases: list[Case], log: AgentLog) -> None:
    """n=2: on the haiku (a peaked model gives both choices alike) and, sampled at temperature 1.5,
    on a prompt the fixture model was not trained on (the choices differ)."""
    haiku = next(c for c in cases if c.id == "haiku")
    client.post("/sessions", json={"session_id": "haiku-n2"}).raise_for_status()
    call(client, "haiku-n2", {"model": served, "messages": haiku.messages, "n": 2, "temperature": 1.0, "seed": 7,
                              "max_tokens": 64}, log)
    sampled_n2(client, served, log)


def sampled_n2(client: httpx.Client, served: str, log: AgentLog) -> None:
    client.post("/sessions", json={"session_id": "random-n2"}).raise_for_status()
    call(client, "random-n2", {"model": served, "messages": [{"role": "user", "content": "Pick a random word."}],
                               "n": 2, "temperature": 1.5, "seed": 11, "max_tokens": 12}, log)


def run_catalogue(client: httpx.Client, cases: list[Case], served: str) -> AgentLog:
    log = AgentLog()
    for case in cases:
        conversation(client, case.id, case, served, False, log)
        conversation(client, f"{case.id}-stream", case, served, True, log)
    n2_requests(client, served, cases, log)
    client.post("/admin/flush")
    return log
