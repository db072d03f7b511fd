"""The catalogue: a check id declared twice is an error, not a silent overwrite."""
import pytest

from conformance.checking.catalog import load_catalog
from conformance.errors import UsageError

SUITE = '''
from conformance.checking.api import check


@check("{id}", needs=["nonstream"])
def {fn}(target, case):
    """A check."""
'''


def test_a_duplicate_check_id_names_both_places(tmp_path):
    (tmp_path / "check_a.py").write_text(SUITE.format(id="exposure.nonstream", fn="check_one"))
    (tmp_path / "check_b.py").write_text(SUITE.format(id="exposure.nonstream", fn="check_two"))
    with pytest.raises(UsageError, match=r"'exposure.nonstream' is declared twice: check_a.py:check_one and check_b.py:check_two"):
        load_catalog(tmp_path)


def test_a_check_requiring_a_feature_outside_the_registry_is_refused(tmp_path):
    (tmp_path / "check_a.py").write_text(SUITE.format(id="x.y", fn="check_one").replace(
        'needs=["nonstream"]', 'needs=["nonstream"], requires=["ids.nonstrem"]'))
    with pytest.raises(UsageError, match=r"check 'x.y' \(check_a.py\) requires unknown feature\(s\) ids.nonstrem"):
        load_catalog(tmp_path)


def test_the_shipped_catalogue_has_unique_ids():
    ids = [i.id for i in load_catalog()]
    assert len(ids) == len(set(ids)) > 20
