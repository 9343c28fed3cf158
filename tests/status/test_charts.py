"""The SVG charts scale to their box and stay readable (issue 15, item 16): x-axis labels are
thinned so they never overlap, even at the larger size they are drawn on a phone, and a chart
of whole counts has whole steps on its y-axis."""

import re

from app.status import charts

LABEL = re.compile(r'<text x="([\d.]+)" y="[\d.]+" text-anchor="(middle|end)"[^>]*>([^<]*)</text>')


def _labels(svg: str, anchor: str) -> list[tuple[float, str]]:
    return [(float(x), text) for x, a, text in LABEL.findall(svg) if a == anchor]


def test_a_chart_has_a_viewbox_and_no_fixed_size():
    svg = str(charts.line_chart("c", "Title", "Desc", [("GB", [("a", 1.0), ("b", 2.0)])]))
    assert 'viewBox="0 0 900 280"' in svg
    assert "width=" not in svg.split(">", 1)[0]


def test_thirty_one_daily_labels_are_thinned_to_five_that_do_not_overlap():
    days = [(f"2026-11-{day:02d}", float(day)) for day in range(1, 31)]
    days.append(("2026-12-01", 31.0))
    svg = str(charts.line_chart("usage", "Storage", "Per day", [("GB", days)]))
    shown = _labels(svg, "middle")
    assert [text for _, text in shown] == [
        "2026-11-01",
        "2026-11-08",
        "2026-11-15",
        "2026-11-22",
        "2026-11-29",
    ]
    widest = 10 * charts.LABEL_CHAR  # ten characters at the phone's size
    gaps = [b - a for (a, _), (b, _) in zip(shown, shown[1:], strict=False)]
    assert min(gaps) > widest


def test_whole_counts_get_whole_steps_on_the_y_axis():
    svg = str(charts.bar_chart("orders", "Orders", "Per month", ["Oct", "Nov"], [("n", [1, 3])]))
    assert [text for _, text in _labels(svg, "end")] == ["0", "1", "2", "3"]
    zero = str(charts.bar_chart("none", "Orders", "Per month", ["Oct"], [("n", [0])]))
    assert [text for _, text in _labels(zero, "end")] == ["0", "1"]


def test_fractions_keep_fine_steps():
    svg = str(charts.line_chart("gb", "GB", "Per day", [("GB", [("a", 0.4), ("b", 0.9)])]))
    assert [text for _, text in _labels(svg, "end")] == ["0", "0.25", "0.5", "0.75", "1"]
