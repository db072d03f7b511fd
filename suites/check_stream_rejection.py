"""Streaming rejection: a dialect that cannot stream ids must refuse, not stream without them."""
from conformance.checking.api import check
from conformance.checking.rejection import require_rejection


@check("stream.rejected", needs=["stream_nonstream_optin"], requires=["stream.rejected"])
def check_stream_rejected(target, case):
    """`stream: true` with the ids opt-in gets a 4xx with a JSON error body: not a 500, and not a
    200 stream that silently lacks the ids the client asked for."""
    require_rejection(target.exchange(case, "stream_nonstream_optin"), "stream with the ids opt-in")
