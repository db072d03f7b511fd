"""BROKEN on purpose (a tokconf fault at the source): the agentcore overlay with its pending
buffer never flushed onto the finish chunk.

Bug class: ids are attached only to chunks that carry text or a tool call. The EOS (and a
matched stop string's token) has no text, so it sits in the buffer until the stream ends and
is lost: the streamed ids miss their last id, while the non-stream `token_ids` end in the EOS.
"""
from tokconf_overlays import agentcore

NAME = "agentcore-broken-no-flush"


class NoFlushOnFinish(agentcore.StreamIds):
    def claim(self, index, finishing):
        if finishing:
            return []  # BUG: the finish chunk does not take what is still pending
        return super().claim(index, finishing)


PATCHES = agentcore.patches(NoFlushOnFinish)
