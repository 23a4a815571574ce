"""The self-contained HTML report: no outside assets, escaped user text, inline SVG charts that match the data."""

from __future__ import annotations

import base64
import hashlib
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from preflight.report import render_html
from preflight.report.html import contributions_svg, cost_band_svg

VOID = {"meta", "br", "hr", "img", "input", "link", "col", "area", "base", "wbr", "source"}
SVG_NS = "{http://www.w3.org/2000/svg}"


class Structure(HTMLParser):
    """Start tags, attributes, and whether every non-void element was closed in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []
        self.stack: list[str] = []
        self.mismatches: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += attrs
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += attrs

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.mismatches.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> Structure:
    structure = Structure()
    structure.feed(page)
    structure.close()
    return structure


def svgs(page: str) -> list[ET.Element]:
    return [ET.fromstring(m) for m in re.findall(r"<svg\b.*?</svg>", page, flags=re.S)]


def test_self_contained_and_well_formed(sample: dict[str, Any]) -> None:
    page = render_html(sample)
    structure = parse(page)
    assert structure.mismatches == [] and structure.stack == []
    assert not {"link", "img", "iframe", "object", "embed"} & set(structure.tags)
    assert structure.tags.count("script") == 1  # ours, inline, allowed by its hash and nothing else
    names = {name for name, _ in structure.attributes}
    assert "src" not in names and not any(n.startswith("on") for n in names)
    assert "url(" not in page and "@import" not in page
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    script = re.search(r"<script>(.*?)</script>", page, flags=re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in page and "unsafe-inline'; img" in page
    assert "fetch(" not in script and "XMLHttpRequest" not in script and "innerHTML" not in script
    hrefs = [v for n, v in structure.attributes if n == "href"]
    assert hrefs and all(h.startswith("https://") for h in hrefs)  # only the policies' documentation links


def test_sections_and_colours(sample: dict[str, Any]) -> None:
    page = render_html(sample)
    for anchor in (
        'id="gate"',
        'id="overrides"',
        'id="findings"',
        'id="remediations"',
        'id="predictions"',
        'id="supply-chain"',
    ):
        assert anchor in page
    assert '<section class="card gate block"' in page and "Gate: BLOCK" in page
    findings = page[page.index('id="findings-table"'):]
    rows = re.findall(r'<tr class="sev-(\w+)" data-order', findings)
    assert rows == ["critical", "high", "high", "high", "medium", "medium", "low"]
    assert page.index('id="gate"') < page.index('id="fixes"') < page.index('id="findings"')
    assert 'style="background:#8b0000">critical<' in page
    assert '<span class="del">-retentionInDays: 0</span><span class="add">+retentionInDays: 90</span>' in page
    assert "maria.chen@apexlogic.com" in page
    assert "✘ not verified" in page and "2 high, 5 medium, 11 low" in page
    assert 'title="sha256:4b0c2a61a1f5a6b3a8e2f6b1f1d8d0c9b4e6f3a2c1d0e9f8a7b6c5d4e3f2a1b0"' in page


def test_clean_report(clean: dict[str, Any]) -> None:
    page = render_html(clean)
    assert '<section class="card gate pass"' in page and "Gate: PASS" in page
    assert "No policy violations." in page
    assert "<svg" not in page and 'id="overrides"' not in page
    assert parse(page).mismatches == []


def test_cost_bands_match_the_numbers(sample: dict[str, Any]) -> None:
    svg = ET.fromstring(cost_band_svg(sample["predictions"]))
    axis = next(svg.iter(f"{SVG_NS}line"))
    label_w, plot_w = float(axis.get("x1")), float(axis.get("x2")) - float(axis.get("x1"))
    assert label_w >= 6 * max(len(s) for s in sample["predictions"])  # the longest service name fits
    bars = {r.find(f"{SVG_NS}title").text.split(":")[0]: r for r in svg.iter(f"{SVG_NS}rect")}
    assert set(bars) == set(sample["predictions"])
    largest = max(p["cost_usd_month"]["p90"] for p in sample["predictions"].values())
    for service, rect in bars.items():
        band = sample["predictions"][service]["cost_usd_month"]
        start, width = float(rect.get("x")), float(rect.get("width"))
        assert abs(start - (label_w + band["p10"] / largest * plot_w)) < 0.1
        assert abs(start + width - (label_w + band["p90"] / largest * plot_w)) < 0.1 or width == 2
    ticks = [float(line.get("x1")) for line in svg.iter(f"{SVG_NS}line")][1:]
    expected = sorted(label_w + p["cost_usd_month"]["p50"] / largest * plot_w
                      for p in sample["predictions"].values())
    assert sorted(ticks) == [round(t, 1) for t in expected]


def test_contribution_bars_follow_sign_and_size() -> None:
    svg = ET.fromstring(contributions_svg("cost", {"a": 0.5, "b": -0.25, "c": 0.1, "bias": 7.0}))
    rects = list(svg.iter(f"{SVG_NS}rect"))
    assert [r.find(f"{SVG_NS}title").text for r in rects] == ["a: +0.500", "b: -0.250", "c: +0.100"]
    widths = [float(r.get("width")) for r in rects]
    assert widths[0] == 110.0 and widths[1] == 55.0 and widths[2] == 22.0
    assert [r.get("fill") for r in rects] == ["#d1242f", "#1a7f37", "#d1242f"]
    zero = float(next(svg.iter(f"{SVG_NS}line")).get("x1"))
    assert float(rects[0].get("x")) == zero and float(rects[1].get("x")) == zero - 55
    assert contributions_svg("cost", {"bias": 1.0}) == ""


def test_all_svgs_parse_as_xml(sample: dict[str, Any]) -> None:
    charts = svgs(render_html(sample))
    assert len(charts) == 1 + 3 + 2 + 1  # cost bands + cost/capacity/change charts per service


def test_user_text_is_escaped_everywhere(sample: dict[str, Any]) -> None:
    attack = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
    sample["violations"][0]["message"] = attack
    sample["violations"][0]["resource_name"] = attack
    sample["predictions"][attack] = sample["predictions"].pop("invoice-parser")
    sample["predictions"][attack]["contributions"] = {attack: 0.3, "bias": 1.0}
    sample["supply_chain"][0]["artifact"] = attack
    sample["overrides"][0]["reason"] = attack
    page = render_html(sample)
    structure = parse(page)
    assert structure.tags.count("script") == 1 and "img" not in structure.tags
    assert not any(name.startswith("on") for name, _ in structure.attributes)
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 6
    for chart in svgs(page):  # still well-formed XML with the attack inside
        assert chart.tag == f"{SVG_NS}svg"


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(message=st.text(min_size=1, max_size=120).filter(lambda s: s.strip() != ""))
def test_any_message_adds_no_markup(clean: dict[str, Any], message: str) -> None:
    doc = dict(clean)
    violation = {
        "policy": "p",
        "pack": "guardrails",
        "severity": "low",
        "enforcement": "advisory",
        "resource_urn": None,
        "resource_name": None,
        "file": None,
        "line": None,
    }
    baseline = parse(render_html(dict(doc, violations=[dict(violation, message="plain")])))
    page = parse(render_html(dict(doc, violations=[dict(violation, message=message)])))
    assert page.tags == baseline.tags
    assert page.attributes == baseline.attributes


def test_long_feature_names_are_not_clipped() -> None:
    name = "requests_per_month: peak_concurrency_p10_log10"
    svg = ET.fromstring(contributions_svg("cost", {name: 0.4, "short": -0.2}))
    label = next(t for t in svg.iter(f"{SVG_NS}text") if t.text == name)
    # right-aligned at x: the text starts at x - width, which must stay inside the picture (6.6 px a character)
    assert float(label.get("x")) - 6.6 * len(name) >= 0


def test_locations_link_to_the_repository(sample: dict[str, Any]) -> None:
    base = "https://github.com/apexlogic/serverless-guardrails/blob/0123abc/"
    page = render_html(sample, source_base=base)
    assert f'href="{base}services/functions.yaml#L38"' in page
    assert 'href="https://github.com/apexlogic/serverless-guardrails/blob/0123abc/(stack)' not in page
    assert "services/functions.yaml#L" not in render_html(sample)  # no URL known: plain text


def test_dark_mode_print_and_narrow_screens_are_styled(sample: dict[str, Any]) -> None:
    page = render_html(sample)
    assert "@media (prefers-color-scheme: dark)" in page
    assert "@media print" in page and "break-inside: avoid" in page
    assert "@media (max-width: 700px)" in page and 'data-label="Message"' in page
