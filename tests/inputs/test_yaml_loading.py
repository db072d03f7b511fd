"""Input YAML goes through libyaml where PyYAML has it (conformance.inputs.schema.load_yaml): every
shipped YAML file parses to the same data as with yaml.safe_load, and a broken document is reported
with the pure loader's own words."""
from pathlib import Path

import pytest
import yaml

from conformance.errors import UsageError
from conformance.inputs.schema import load_yaml, read_document
from support import ROOT

SHIPPED = sorted(p for d in ("conformance", "fixtures") for p in (ROOT / d).rglob("*.yaml") if "__pycache__" not in p.parts)


def test_there_are_shipped_yaml_files():
    assert len(SHIPPED) > 10


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shipped_yaml_file_parses_as_safe_load_does(path: Path):
    text = path.read_text(encoding="utf-8")
    assert load_yaml(text) == yaml.safe_load(text)


def test_a_broken_document_is_reported_in_the_pure_loaders_words(tmp_path):
    bad = tmp_path / "cases.yaml"
    bad.write_text("cases:\n  - id: a\n   x: [1\n", encoding="utf-8")
    with pytest.raises(yaml.YAMLError) as pure:
        yaml.safe_load(bad.read_text())
    with pytest.raises(UsageError) as exc:
        read_document(bad, "cases")
    assert f"line {pure.value.problem_mark.line + 1}: {pure.value.problem}" in str(exc.value)
