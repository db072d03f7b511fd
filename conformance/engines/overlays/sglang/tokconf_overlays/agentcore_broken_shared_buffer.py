"""BROKEN on purpose (a tokconf fault at the source): the agentcore overlay keeping its pending
buffer on the server object, shared by every request, instead of one per stream.

Bug class: per-request state stored on a long-lived object (the original patch kept
`_pending_token_ids` next to the serving code). With two streams in flight, one stream's
chunk claims ids the other generated: ids cross between concurrent requests. A lone request
is fine, so this shows only when requests run concurrently.
"""
from tokconf_overlays import agentcore

NAME = "agentcore-broken-shared-buffer"
_SHARED_PENDING: dict[int, list[int]] = {}  # BUG: one buffer for the whole server


class SharedBuffer(agentcore.StreamIds):
    def __init__(self, incremental):
        super().__init__(incremental)
        self.pending = _SHARED_PENDING


PATCHES = agentcore.patches(SharedBuffer)
