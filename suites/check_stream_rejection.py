"""Streaming rejection: a dialect that cannot stream ids must refuse, not stream without them."""
from conformance.checking.api import FaultProof, check
from conformance.checking.rejection import field_names, require_alone, require_names, require_rejection


@check("stream.rejected", needs=["stream_nonstream_optin"], requires=["stream.rejected"],
       caught_by=[
           FaultProof("rejection.as_server_error", "hello", "HTTP 500", on="miles"),
           FaultProof("rejection.as_success", "french", "HTTP 200: served although", on="miles"),
           FaultProof("rejection.html_error_page", "haiku", "not a JSON error object", on="miles"),
           FaultProof("rejection.names_another_field", "hello", "names none of ['return_meta_info']", on="miles"),
           FaultProof("rejection.names_no_field", "french", "names none of ['return_meta_info']", on="miles"),
       ])
def check_stream_rejected(target, case):
    """`stream: true` with the ids opt-in gets a 4xx with a JSON error body: not a 500, and not a
    200 stream that silently lacks the ids the client asked for. The error names, as a word, the
    field under test (the profile's `rejects.stream`; without a declaration any field of the
    opt-in), and the request carries that one refused field (two refused flags prove nothing
    about either)."""
    d = target.dialect
    ex = target.exchange(case, "stream_nonstream_optin")
    what = "stream with the ids opt-in"
    require_rejection(ex, what)
    declared = set(d.rejects_stream)
    if declared:
        require_alone(ex.request, declared, declared, what)
    require_names(ex, what, declared or field_names(d.request_fields))
