"""The report in a real browser: headless Chromium, offline, loads it without console errors,
renders every figure, and paints a page that is not blank. The screenshot is kept as
test-artifacts/report.png.

Needs Debian's `chromium` package (`apt-get install -y chromium`); skipped where it is absent.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import numpy as np
import pytest

from steerdsl.report import write_report
from support.synthetic_store import write_synthetic_store

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SVG_NS = "{http://www.w3.org/2000/svg}"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium not installed (Debian: apt-get install -y chromium)")


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--disable-extensions", f"--user-data-dir={profile}",
           # no network: every host resolves nowhere and there is no usable proxy
           "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
           "--enable-logging=stderr", "--v=0", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def console_errors(stderr: str) -> list[str]:
    """Console messages and failed loads that Chromium logs with --enable-logging."""
    return [line for line in stderr.splitlines()
            if re.search(r"CONSOLE|Uncaught|Failed to load resource|net::ERR_", line)]


def png_pixels(path: Path) -> np.ndarray:
    """Decode an 8-bit RGB/RGBA PNG (what Chromium writes) into a height x width x 3 array."""
    blob = path.read_bytes()
    assert blob[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(blob):
        (length,) = struct.unpack(">I", blob[pos:pos + 4])
        kind, body = blob[pos + 4:pos + 8], blob[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6)
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    stride = width * bpp
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(height, stride + 1)
    out = np.zeros((height, stride), np.uint8)
    prev = np.zeros(stride, np.uint8)
    for y in range(height):
        f, line = raw[y, 0], raw[y, 1:].copy()
        if f == 1:  # sub: a running sum per channel
            line = (line.reshape(width, bpp).astype(np.int64).cumsum(axis=0) % 256
                    ).astype(np.uint8).ravel()
        elif f == 2:  # up
            line = line + prev
        elif f in (3, 4):  # average, Paeth: sequential within the row
            row = line.tolist()
            up = prev.tolist()
            for i in range(stride):
                a = row[i - bpp] if i >= bpp else 0
                b = up[i]
                if f == 3:
                    row[i] = (row[i] + (a + b) // 2) & 255
                    continue
                c = up[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                row[i] = (row[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
            line = np.array(row, np.uint8)
        out[y] = line
        prev = line
    return out.reshape(height, width, bpp)[:, :, :3]


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("chromium")
    store = folder / "synthetic.duckdb"
    write_synthetic_store(store, n_sources=6, per_source=8, seed=5)
    return write_report([store], folder / "report.html")


def test_the_report_renders_every_figure_without_console_errors(report, tmp_path):
    page = report.read_text(encoding="utf-8")
    figures = page.count("<svg")
    assert figures > 20
    run = chromium(tmp_path, "--dump-dom", report.as_uri())
    assert run.returncode == 0, run.stderr[-2000:]
    assert console_errors(run.stderr) == []
    dom = run.stdout
    svgs = re.findall(r"<svg\b[^>]*>(.*?)</svg>", dom, re.S)
    assert len(svgs) == figures
    # every figure has drawn content: shapes besides its title
    assert all(len(re.findall(r"<(?:line|rect|polygon|polyline|circle|path)\b", s)) >= 3
               for s in svgs)
    assert "Headline" in dom and "Best-of-N" in dom


def test_the_console_check_catches_errors(tmp_path):
    # the check above would pass vacuously if Chromium logged nothing: show that it logs
    bad = tmp_path / "bad.html"
    bad.write_text("<html><body><img src='http://example.com/x.png'>"
                   "<script>console.error('boom')</script></body></html>")
    run = chromium(tmp_path, "--dump-dom", bad.as_uri())
    assert any("boom" in line for line in console_errors(run.stderr))


def test_screenshot_is_not_blank(report, tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    shot.unlink(missing_ok=True)
    run = chromium(tmp_path, "--hide-scrollbars", "--window-size=1200,2400",
                   f"--screenshot={shot}", report.as_uri())
    assert run.returncode == 0 and shot.exists(), run.stderr[-2000:]
    pixels = png_pixels(shot).astype(np.int64)
    assert pixels.shape == (2400, 1200, 3)
    ink = (pixels.sum(axis=2) < 600).mean()  # clearly darker than the white page
    colour = ((pixels.max(axis=2) - pixels.min(axis=2)) > 60).mean()  # not grey
    assert ink > 0.03  # text, tables and charts
    assert colour > 0.003  # the coloured charts rendered


def test_the_report_prints(report, tmp_path):
    pdf = tmp_path / "report.pdf"
    run = chromium(tmp_path, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", report.as_uri())
    assert run.returncode == 0 and pdf.exists(), run.stderr[-2000:]
    pages = len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf.read_bytes()))
    assert 5 <= pages <= 60


def test_label_widths_the_layout_assumes_bound_the_rendered_ones(tmp_path):
    # The bar charts place their labels by svg.text_width (test_report_svg checks the boxes do
    # not overlap); the browser, with the report's fonts, must draw no text wider than that.
    from test_report_svg import BAR_CASES, bar_chart

    from steerdsl.report import svg
    from steerdsl.report.render import CSS

    charts = "".join(bar_chart(names, n) for names, n in BAR_CASES)
    page = tmp_path / "labels.html"
    page.write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><style>{CSS}</style></head><body>"
        f"{charts}<script>document.body.insertAdjacentHTML('beforeend', '<pre id=widths>' + "
        "JSON.stringify([...document.querySelectorAll('svg text')].map(t => "
        "[t.textContent, t.getComputedTextLength()])) + '</pre>')</script></body></html>",
        encoding="utf-8")
    run = chromium(tmp_path, "--dump-dom", page.as_uri())
    assert run.returncode == 0, run.stderr[-2000:]
    widths = json.loads(html.unescape(re.search(r"<pre id=\"widths\">(.*?)</pre>",
                                                run.stdout, re.S).group(1)))
    root_texts = [t for names, n in BAR_CASES
                  for t in ET.fromstring(bar_chart(names, n)).iter(f"{SVG_NS}text")]
    assert [w[0] for w in widths] == [t.text for t in root_texts]
    too_wide = [(t.text, rendered) for t, (_, rendered) in zip(root_texts, widths)
                if rendered > svg.text_width(t.text, float(t.get("font-size")),
                                             bold=t.get("font-weight") == "bold")]
    assert too_wide == []
