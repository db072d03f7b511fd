"""A divergence between two id lists is named by its shape where it has a plain one: the bug
classes of a token-id stream (an EOS never flushed, ids dropped while a parser held its text,
cumulative lists sent as deltas, ids from elsewhere inserted)."""
import pytest

from conformance.checking.id_sequences import _cumulative, describe_divergence, divergence_shape


class Tok:
    def token_text(self, i):
        return f"t{i}"

    def decode(self, ids, skip_special_tokens=True):
        return "".join(self.token_text(i) for i in ids)


WHOLE = [5, 6, 7, 8, 2]


@pytest.mark.parametrize("got, words", [
    ([5, 6, 7, 8], "stream lacks the last 1 id(s): 2 't2'"),
    ([5, 6, 7, 8, 2, 2], "stream has 1 extra id(s) at the end: 2 't2'"),
    ([5, 5, 6, 5, 6, 7, 8, 5, 6, 7, 8, 2], "stream repeats earlier ids: cumulative lists sent as deltas"),
    ([5, 8, 2], "stream lacks 2 id(s) from inside the sequence (dropped ids)"),
    ([5, 6, 90, 91, 7, 8, 2], "stream has 2 id(s) inserted that non-stream does not have"),
    ([2, 8, 7, 6, 5], "the same ids in another order"),
    ([90, 6, 7, 2], "stream holds 1 id(s) that non-stream does not contain at all (ids from elsewhere): 90 't90'"),
    ([6, 5, 7, 8, 8, 2], ""),  # reordered and repeated, nothing foreign: no plain shape
])
def test_shapes(got, words):
    assert divergence_shape(Tok(), "non-stream", WHOLE, "stream", got) == words


def test_the_description_keeps_the_first_divergence_and_adds_the_shape():
    text = describe_divergence(Tok(), "non-stream", WHOLE, "stream", WHOLE[:-1])
    assert text.startswith("non-stream (5 ids) and stream (4 ids) first differ at index 4")
    assert text.endswith("; stream lacks the last 1 id(s): 2 't2'")


def test_cumulative_needs_growing_prefixes_ending_in_the_whole_list():
    assert _cumulative([1, 2], [1, 1, 2])
    assert not _cumulative([1, 2], [1, 2, 1])  # ends short of the whole list
    assert not _cumulative([1, 2], [1, 2, 1, 2])  # the same prefix twice does not grow
    assert _cumulative([1, 1], [1, 1, 1])
    assert not _cumulative([1], [1] * 30000)  # past the limit: not examined
