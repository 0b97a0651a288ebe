"""Small inline-SVG charts: the report's figures without a plotting library or any script.

Every chart is a function from plain numbers to an SVG string (a viewBox that scales to the
page width): `box_plot`, `heatmap` (with its `color_scale`), `scatter`, `flow`, `line_chart`,
`bars` and `curve` (a value over training steps), drawn on the shared `canvas`.
"""

from steerdsl.report.svg.box import Box, box_plot
from steerdsl.report.svg.canvas import (FONT, PALETTE, Canvas, Scale, color, fmt, nice_ticks,
                                        ramp, tick)
from steerdsl.report.svg.curve import curve
from steerdsl.report.svg.heatmap import color_scale, heatmap
from steerdsl.report.svg.scatter import Arrow, Layer, flow, scatter
from steerdsl.report.svg.series import Series, bars, line_chart
from steerdsl.report.svg.text import (ASCENT_EM, BOLD_FACTOR, DESCENT_EM, LABEL_ANGLE,
                                      GroupLabels, group_labels, text_width)

__all__ = ["ASCENT_EM", "BOLD_FACTOR", "DESCENT_EM", "FONT", "LABEL_ANGLE", "PALETTE", "Arrow",
           "Box", "Canvas", "GroupLabels", "Layer", "Scale", "Series", "bars", "box_plot", "color",
           "color_scale", "curve", "fmt", "flow", "group_labels", "heatmap", "line_chart",
           "nice_ticks", "ramp", "scatter", "text_width", "tick"]
