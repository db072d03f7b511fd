"""The refusal rule: the error names the field under test as a word, and the request carries it alone."""
import pytest

from conformance.checking.rejection import names_word, require_alone
from conformance.checking.verdicts import Inconclusive


def test_a_name_counts_as_a_word_only():
    body = {"object": "error", "message": "Invalid request\nn must be 1 with `nvext.extra_fields=[\"completion_token_ids\"]`"}
    assert names_word(body, "n") and names_word(body, "completion_token_ids")
    assert not names_word({"message": "Invalid request: validation failed."}, "n")  # used to pass: "n" in "Invalid"
    assert not names_word({"message": "return_token_ids_in_sglext is not supported"}, "return_token_ids")
    assert names_word({"detail": {"return_meta_info": "not with stream"}}, "return_meta_info")  # keys count


def test_a_request_must_carry_the_field_under_test_and_no_other_refused_one():
    require_alone({"stream": True, "return_meta_info": True, "logprobs": True}, ["return_meta_info"],
                  ["return_meta_info"], "stream")
    with pytest.raises(Inconclusive, match="carries none of"):
        require_alone({"stream": True, "logprobs": True}, ["return_meta_info"], ["return_meta_info"], "stream")
    with pytest.raises(Inconclusive, match="proves nothing about either"):
        require_alone({"stream": True, "return_meta_info": True, "return_hidden_states": True}, ["return_meta_info"],
                      ["return_meta_info", "return_hidden_states"], "stream")
    # the prompt is not a flag: a message saying "return_meta_info" does not carry the field
    with pytest.raises(Inconclusive):
        require_alone({"messages": [{"role": "user", "content": "return_meta_info"}]}, ["return_meta_info"],
                      ["return_meta_info"], "stream")
