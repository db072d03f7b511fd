"""The HTML report: self-contained, a row per result, outcome filters, and each token divergence
side by side with decoded tokens (no tokenizer at render time)."""
import copy
import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from conformance.reporting.html import render_html
from report_fixtures import every_outcome_report, recorded_report


class Tags(HTMLParser):
    def __init__(self, html):
        super().__init__()
        self.tags, self.text = [], []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def with_class(self, cls):
        return [(t, a) for t, a in self.tags if cls in (a.get("class") or "").split()]


@pytest.fixture(scope="module")
def report(vllm_recorded):
    return every_outcome_report(vllm_recorded)


@pytest.fixture(scope="module")
def dropped_ids(vllm_recorded):
    """The real detokenizer bug: ids dropped on the empty-delta chunks held back mid-emoji (haiku)."""
    return recorded_report(vllm_recorded, fault="stream.drop_ids_on_empty_delta", case="haiku")


def test_self_contained(report):
    page = Tags(render_html(report))
    assert not [t for t, a in page.tags if t in ("link", "img", "iframe")]
    assert not [a for t, a in page.tags if t == "script" and "src" in a]
    for _, attrs in page.tags:
        for key in ("src", "href"):
            assert not (attrs.get(key) or "").startswith(("http:", "https:", "//")), attrs


def test_a_row_per_result_and_a_filter_per_outcome(report):
    page = Tags(render_html(report))
    rows = page.with_class("r")
    assert sorted(a["data-outcome"] for _, a in rows) == sorted(r["outcome"] for r in report["results"])
    buttons = {a["data-outcome"] for t, a in page.tags if t == "button" and "data-outcome" in a}
    assert buttons == {"PASS", "FAIL", "SKIP", "INCONCLUSIVE", "ERROR"}
    text = "".join(page.text)
    for outcome, n in report["summary"].items():
        assert f"{outcome} {n}" in text


def test_divergence_side_by_side_with_decoded_tokens(dropped_ids, tokenizer):
    html = render_html(dropped_ids)
    parity = next(r for r in dropped_ids["results"] if r["check"] == "parity.stream_nonstream" and r["case"] == "haiku")
    ev = parity["evidence"]
    page = Tags(html)
    assert len(page.with_class("tokdiff")) == 1  # one token comparison failed
    chips = page.with_class("chip")
    # every id of both sequences is a chip, plus a gap chip where the stream lacks ids
    gaps = page.with_class("gap")
    assert len(chips) - len(gaps) == len(ev["left"]) + len(ev["right"]) and gaps
    assert [a["title"] for t, a in page.with_class("first") if t == "span"][0] == f"#{ev['first_divergence']} id {ev['left'][8]}"
    dropped = len(ev["left"]) - len(ev["right"])
    assert len([a for t, a in page.tags if t == "tr" and "delete" in (a.get("class") or "")]) == dropped
    text = "".join(page.text)
    assert f"first divergence at index {ev['first_divergence']}" in text
    assert "␣fall" in text  # decoded at build time: ' fall' with its space made visible
    assert tokenizer.token_text(ev["left"][0]) in text


def test_old_reports_without_decoded_tokens_still_render(dropped_ids):
    old = copy.deepcopy(dropped_ids)
    for r in old["results"]:
        r["evidence"].pop("left_tokens", None)
        r["evidence"].pop("right_tokens", None)
        r.pop("exchanges", None)
    page = Tags(render_html(old))
    assert len(page.with_class("tokdiff")) == 1 and "Cherry" in "".join(page.text)  # from the stored context


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(not CHROMIUM, reason="no chromium on PATH (apt-get install -y chromium; .ci/run installs it)")
def test_in_headless_chromium_failures_show_and_passes_are_filtered(dropped_ids, tmp_path):
    path = tmp_path / "report.html"
    path.write_text(render_html(dropped_ids), encoding="utf-8")
    res = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                          "--disable-background-networking", "--disable-component-update", "--disable-sync",
                          f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", path.as_uri()],
                         capture_output=True, text=True, timeout=120)
    page = Tags(res.stdout)  # the DOM after the script ran
    rows = page.with_class("r")
    assert rows and all(("hidden" in a["class"]) == (a["data-outcome"] == "PASS") for _, a in rows)
    on = {a["data-outcome"] for _, a in page.with_class("on")}
    assert on == {"FAIL", "ERROR", "INCONCLUSIVE", "SKIP"}
