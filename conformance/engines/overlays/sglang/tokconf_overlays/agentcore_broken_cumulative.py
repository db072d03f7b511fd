"""BROKEN on purpose (a tokconf fault at the source): the agentcore overlay sending SGLang's
cumulative `output_ids` as if they were deltas.

Bug class: SGLang streams cumulative output_ids unless --incremental-streaming-output is on (the
flag was renamed from --stream-output; code still reading the old name silently sees "off" or
"on" wrongly, Dynamo PR #7642). Without the slice past the watermark every chunk repeats all
ids so far, and a client concatenating the deltas gets a far too long, repeating id list.
"""
from tokconf_overlays import agentcore

NAME = "agentcore-broken-cumulative"


class CumulativeAsDelta(agentcore.StreamIds):
    def new_ids(self, index, output_ids):
        return list(output_ids)  # BUG: assumes incremental streaming output; nothing is sliced


PATCHES = agentcore.patches(CumulativeAsDelta)
