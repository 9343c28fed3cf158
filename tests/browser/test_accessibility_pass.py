"""The accessibility pass itself: a violation and an overflow on a page are reported with the
rule, the element and the URL; a state already checked is not checked twice."""

import pytest

pytestmark = pytest.mark.browser

BREAK_THE_PAGE = """() => {
  const img = document.createElement("img");
  img.src = "/static/favicon.svg";
  document.querySelector("main").append(img);
  const wide = document.createElement("div");
  wide.id = "too-wide";
  wide.style.width = "2000px";
  wide.style.height = "1px";
  document.querySelector("main").append(wide);
}"""


def test_a_missing_alt_and_a_wide_element_are_reported_with_rule_element_and_url(
    page, accessibility_pass
):
    page.goto("/login")
    page.get_by_label("E-mail").fill("someone@example.test")  # the checks of the load run
    checked = accessibility_pass.checks
    assert checked >= 1 and accessibility_pass.findings == []
    accessibility_pass.check(page)  # the same state again: not checked twice
    assert accessibility_pass.checks == checked

    page.evaluate(BREAK_THE_PAGE)
    accessibility_pass.check(page)
    findings = accessibility_pass.findings
    url = f"{page.url} at 1280x900"
    assert f"image-alt: img (Images must have alternative text) — {url}" in findings
    assert any(
        f.startswith("overflow: document is ") and "div#too-wide" in f and f.endswith(url)
        for f in findings
    ), findings
    findings.clear()  # what this test broke on purpose does not fail it
