"""BROKEN on purpose (a tokconf fault at the source): the agentcore overlay with ONE watermark
for all choice indices instead of one per index.

Bug class: with n>1, SGLang interleaves the outputs of the choices in one stream, each with its
own cumulative output_ids. Slicing choice 1's list past where choice 0 stopped (and back) skips
or repeats ids: each index's concatenated ids no longer equal that choice's tokens.
"""
from tokconf_overlays import agentcore

NAME = "agentcore-broken-shared-watermark"


class OneWatermark(agentcore.StreamIds):
    def new_ids(self, index, output_ids):
        if self.incremental:
            return list(output_ids)
        start = self.watermark.get(0, 0)  # BUG: index 0's watermark, whatever the index
        self.watermark[0] = len(output_ids)
        return list(output_ids[start:])


PATCHES = agentcore.patches(OneWatermark)
