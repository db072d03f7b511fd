"""BROKEN on purpose (a tokconf fault at the source): the agentcore overlay that drops the ids
of engine outputs for which the tool-call parser yields no chunk.

Bug class: with tools on the request, the tool parser buffers `<tool_call>{"name": ...` and
yields nothing until it can emit a whole piece. Ids kept only for the step that produced them
(the buffer replaced, not extended) are lost for every silent step: the streamed ids of a tool
call, and of any text answer to a request with tools, are shorter than the non-stream ones.
"""
from tokconf_overlays import agentcore

NAME = "agentcore-broken-tool-drop"


class DropWhenParserSilent(agentcore.StreamIds):
    def on_output(self, content, tools_active):
        if not tools_active:
            return super().on_output(content, tools_active)
        index = content.get("index", 0)
        # BUG: the tool-call path keeps only this step's ids; a step the parser swallowed is forgotten
        self.pending[index] = self.new_ids(index, content.get("output_ids") or [])


PATCHES = agentcore.patches(DropWhenParserSilent)
