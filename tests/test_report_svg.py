"""The report's SVG charts: scales, ticks, number formats and what each chart draws."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import pytest

from steerdsl.report import svg

NS = "{http://www.w3.org/2000/svg}"


def parse(s: str) -> ET.Element:
    return ET.fromstring(s)  # every chart must be well-formed XML


def test_nice_ticks_are_round_and_cover_the_range():
    assert svg.nice_ticks(0, 1) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert svg.nice_ticks(0, 0.63) == [0, 0.2, 0.4, 0.6]
    assert svg.nice_ticks(-1, 1) == [-1.0, -0.5, 0, 0.5, 1.0]
    assert svg.nice_ticks(1, 16) == [5, 10, 15]
    assert svg.nice_ticks(3, 3) == [3]


def test_number_formats():
    assert svg.tick(0.2) == "0.2"
    assert svg.tick(1.0) == "1"
    assert svg.fmt(0.2857142857) == "0.286"
    assert svg.fmt(1509.0, 4) == "1509"
    assert svg.fmt(4.083060625e-08) == "4.08e-08"
    assert svg.fmt(None) == "–"
    assert svg.fmt(float("nan")) == "–"
    assert svg.fmt(0.0) == "0"


def test_ramp_runs_light_to_dark_and_clips():
    assert svg.ramp(0.0) == "#fde725"
    assert svg.ramp(1.0) == "#440154"
    assert svg.ramp(-3) == svg.ramp(0.0) and svg.ramp(7) == svg.ramp(1.0)


def test_scale_maps_ends_and_flips_y():
    s = svg.Scale(0, 1, 200, 20)
    assert (s(0), s(1), s(0.5)) == (200, 20, 110)


def test_box_plot_draws_one_box_violin_and_median_per_group():
    boxes = [svg.Box(f"m{k} / i", svg.color(k), 10, 0.1, 0.2, 0.3, 0.0, 0.5,
                     [0, 0.25, 0.5], [3, 7]) for k in range(3)]
    root = parse(svg.box_plot(boxes, title="steering error", ylabel="SE", ylim=(0, 0.6)))
    assert len(root.findall(f"{NS}rect")) == 3
    assert len(root.findall(f"{NS}polygon")) == 3
    texts = [t.text for t in root.iter(f"{NS}text")]
    assert texts.count("n=10") == 3 and "m2" in texts and "i" in texts
    assert root.find(f"{NS}title").text == "steering error"


def test_heatmap_colours_cells_prints_values_and_greys_missing_ones():
    root = parse(svg.heatmap([[None, 0.4], [0.1, None]], rows=["a", "b"], cols=["a", "b"],
                             title="t", vmax=0.4, row_title="requested",
                             col_title="not requested"))
    fills = [r.get("fill") for r in root.iter(f"{NS}rect")]
    assert fills.count("#f0f0f0") == 2
    assert svg.ramp(1.0) in fills and svg.ramp(0.25) in fills
    texts = [t.text for t in root.iter(f"{NS}text")]
    assert "0.40" in texts and "0.10" in texts
    # the value on the darkest cell is printed in white, on a light one in black
    inks = {t.text: t.get("fill") for t in root.iter(f"{NS}text") if t.text in ("0.40", "0.10")}
    assert inks == {"0.40": "#fff", "0.10": "#111"}


def test_flow_draws_each_movement_and_field_arrows_with_heads():
    arrows = [svg.Arrow(0.5, 0.5, 0.9, 0.5), svg.Arrow(0.1, 0.1, 0.1, 0.3)]
    out = svg.flow(arrows, [svg.Arrow(0.5, 0.5, 0.7, 0.5)], title="x × y", xlabel="x",
                   ylabel="y")
    root = parse(out)
    path = next(p for p in root.iter(f"{NS}path"))
    assert path.get("d").count("M") == 2
    assert len(root.findall(f"{NS}polygon")) == 1  # one arrowhead for one field arrow
    assert "<marker" not in out and "id=" not in out  # no ids to clash between figures


def test_labels_are_escaped():
    out = svg.scatter([0.1], [0.2], title="<b>&", xlabel="x", ylabel="y", xlim=(-1, 1),
                      ylim=(-1, 1))
    assert "<b>&" not in out and "&lt;b&gt;&amp;" in out
    parse(out)


def test_line_chart_and_bars_draw_every_series():
    series = [svg.Series("a", "#000", [1, 2, 3], [0.3, 0.2, 0.1]),
              svg.Series("b", "#111", [1, 2, 3], [0.4, None, 0.2])]
    root = parse(svg.line_chart(series, title="t", xlabel="N", ylabel="median"))
    assert len(root.findall(f"{NS}polyline")) == 2
    assert len(root.findall(f"{NS}circle")) == 5
    root = parse(svg.bars(["g1", "g2", "g3"], series, title="t", ylabel="y"))
    bars = [r for r in root.iter(f"{NS}rect") if r.get("fill") in ("#000", "#111")]
    assert len(bars) == 5 + 2  # 5 values (one None) + 2 legend swatches


def test_coordinates_are_rounded_to_keep_the_html_small():
    out = svg.scatter([1 / 3], [2 / 3], title="t", xlabel="x", ylabel="y", xlim=(0, 1),
                      ylim=(0, 1))
    coords = re.findall(r' (?:cx|cy|x1|y1|x2|y2|x|y)="([^"]+)"', out)
    assert coords and all(re.fullmatch(r"-?\d+(\.\d)?", c) for c in coords)
    assert 'cx="114"' in out  # 44 + 210 / 3


def test_color_scale_runs_from_zero_to_vmax():
    root = parse(svg.color_scale(0.4, label="mean"))
    fills = [r.get("fill") for r in root.iter(f"{NS}rect")]
    assert len(fills) == 20 and fills[0] == svg.ramp(0.025) and fills[-1] == svg.ramp(0.975)
    assert [t.text for t in root.iter(f"{NS}text")] == ["0", "0.40", "mean"]


# Text boxes as the layout assumes them: svg.text_width wide (test_report_chromium checks it
# bounds the rendered widths), svg.ASCENT_EM above the baseline and svg.DESCENT_EM below.


def text_box(t: ET.Element) -> list[tuple[float, float]]:
    """The corners of a text element's box, rotated as its transform says."""
    x, y, size = float(t.get("x")), float(t.get("y")), float(t.get("font-size"))
    width = svg.text_width(t.text, size, bold=t.get("font-weight") == "bold")
    x0 = {"start": x, "middle": x - width / 2, "end": x - width}[t.get("text-anchor")]
    up, down = svg.ASCENT_EM * size, svg.DESCENT_EM * size
    corners = [(x0, y - up), (x0 + width, y - up), (x0 + width, y + down), (x0, y + down)]
    m = re.fullmatch(r"rotate\((\S+) (\S+) (\S+)\)", t.get("transform", "rotate(0 0 0)"))
    a, cx, cy = (float(v) for v in m.groups())
    cos, sin = math.cos(math.radians(a)), math.sin(math.radians(a))
    return [(cx + (px - cx) * cos - (py - cy) * sin, cy + (px - cx) * sin + (py - cy) * cos)
            for px, py in corners]


def overlap(p: list[tuple[float, float]], q: list[tuple[float, float]]) -> bool:
    """Two convex polygons overlap unless an edge normal of one separates them."""
    for poly in (p, q):
        for (x1, y1), (x2, y2) in zip(poly, poly[1:] + poly[:1]):
            nx, ny = y2 - y1, x1 - x2
            a = [nx * x + ny * y for x, y in p]
            b = [nx * x + ny * y for x, y in q]
            if max(a) <= min(b) or max(b) <= min(a):
                return False
    return True


def test_overlap_check_sees_overlaps():
    a = [(0, 0), (10, 0), (10, 4), (0, 4)]
    assert overlap(a, [(9, 3), (20, 3), (20, 9), (9, 9)])
    assert not overlap(a, [(11, 0), (20, 0), (20, 4), (11, 4)])
    # two tilted strips: their bounding boxes overlap, the strips do not
    assert not overlap([(0, 0), (10, 10), (9, 11), (-1, 1)], [(3, 0), (13, 10), (12, 11), (2, 1)])


GOAL_NAMES = ["reading_difficulty", "formality", "textual_diversity", "text_length"]
# Group names and series counts of bar charts: the report's goals, long and short names, the
# comparison section's "model / intervention" groups.
BAR_CASES = [
    (GOAL_NAMES, 1),
    (GOAL_NAMES, 3),
    (["a_very_long_goal_name_for_the_formality_of_a_text", "b", "another_long_name_x", "c"], 1),
    (["WWW_MMM_wide", "mmmmmmmm", "Übersetzungsqualität", "中文目标"], 1),
    (["gpt-4o-mini / best_of_8", "smollm2-135m / direct", "m / i"], 2),
    (["a", "b", "c"], 1),
    (["ab", "cd"], 4),
    (["aa bb cc dd ee ff gg hh ii jj kk ll mm nn", "i"], 4),  # more than three lines
]


def bar_chart(names: list[str], n_series: int) -> str:
    series = [svg.Series(f"model {k} / intervention", svg.color(k), [],
                         [0.1 * (g + 1) for g in range(len(names))]) for k in range(n_series)]
    return svg.bars(names, series, title="movement when requested",
                    ylabel="mean |output − source|")


@pytest.mark.parametrize("names,n_series", BAR_CASES)
def test_bar_labels_do_not_overlap_and_stay_on_the_chart(names, n_series):
    root = parse(bar_chart(names, n_series))
    _, _, width, height = (float(v) for v in root.get("viewBox").split())
    texts = list(root.iter(f"{NS}text"))
    for word in " ".join(names).replace(" / ", " ").split():
        assert any(word in t.text for t in texts), word
    boxes = [(t.text, text_box(t)) for t in texts]
    for i, (a, p) in enumerate(boxes):
        assert all(0 <= x <= width and 0 <= y <= height for x, y in p), (a, p, width, height)
        for b, q in boxes[i + 1:]:
            assert not overlap(p, q), (a, b)
