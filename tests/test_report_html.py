"""The HTML report: self-contained (no network reference, every image a data: URI that decodes
to the size the page states), the expected sections, escaping, the failure cap and image budget,
the array-to-picture rules (layouts, channel orders, dtypes, heatmap), and a real browser:
headless Chromium renders it with no console error."""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conformance.report.html import render_html, write_html
from conformance.report.images import (COLORMAP, MIN_DISPLAY, ChannelState, channel_state, colormap,
                                       heatmap, picture, value_map)
from conformance.score import score_results

from report_fixtures import NASTY, synthetic_scores, tiny_run

DATA_PNG = "data:image/png;base64,"
SECTIONS = ("summary", "lenient", "errors", "failures", "failing-cases")


class _Tags(HTMLParser):
    """Every start tag with its attributes, and the page's text."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def _parse(html: str) -> _Tags:
    p = _Tags()
    p.feed(html)
    return p


def _png(uri: str) -> np.ndarray:
    assert uri.startswith(DATA_PNG)
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(uri[len(DATA_PNG):]))).convert("RGB"))


@pytest.fixture(scope="module")
def tiny_scores(tmp_path_factory):
    return score_results(tiny_run(tmp_path_factory)[1])


@pytest.fixture(scope="module")
def tiny_html(tiny_scores, tmp_path_factory) -> Path:
    return write_html(tiny_scores, tmp_path_factory.mktemp("html") / "report.html")


# -- the page -----------------------------------------------------------------------------------

def test_sections_and_self_contained(tiny_html, tiny_scores):
    html = tiny_html.read_text("utf-8")
    page = _parse(html)
    ids = {a.get("id") for _, a in page.tags}
    assert set(SECTIONS) <= ids and {"matrix-isolated", "matrix-chained"} <= ids
    assert "http://" not in html and "https://" not in html
    for tag, attrs in page.tags:
        for name in ("src", "href", "srcset", "data", "action", "poster"):
            if name in attrs:
                assert attrs[name].startswith((DATA_PNG, "#")), (tag, name, attrs[name][:80])
        assert tag not in ("link", "iframe", "object", "embed", "base")
    assert "url(" not in html, "no CSS references to other resources"
    text = " ".join(page.text)
    for name in tiny_scores.harnesses:
        assert name in text
    assert "t.opencv_chw__syn.colour_bars.24x40" in text and "neg.bad_crc" in text
    n_fail = tiny_scores.counts()["fail"]
    assert f"Failing steps ({n_fail} shown of {n_fail})" in text


def test_every_image_is_a_png_of_the_stated_size(tiny_html):
    imgs = [a for t, a in _parse(tiny_html.read_text("utf-8")).tags if t == "img"]
    assert imgs
    for a in imgs:
        px = _png(a["src"])
        assert (px.shape[1], px.shape[0]) == (int(a["width"]), int(a["height"])), a["alt"]
        assert max(px.shape[:2]) >= MIN_DISPLAY, "tiny vectors are enlarged"


def test_chained_layout_failure_is_drawn_as_images(tiny_html):
    """The CHW + batch float tensor of a layout step is drawn (reference, output, heatmap)."""
    html = tiny_html.read_text("utf-8")
    article = re.search(r'<article class="failure downstream" id="failure-\d+">\s*<h3>opencv · chained · '
                        r't\.opencv_chw__syn\.colour_bars\.24x40 · step 3 layout</h3>.*?</article>', html, re.S)
    assert article, "the chained layout failure is shown"
    block = article.group(0)
    assert block.count(DATA_PNG) == 3
    assert "CHW shown as an image" in block and "BGR shown as RGB" in block
    assert "float32 values mapped from the reference&#39;s" in block
    assert "amplified ×" in block


def test_failure_cap_and_image_budget(tiny_scores, tmp_path):
    n_fail = tiny_scores.counts()["fail"]
    html = render_html(tiny_scores, max_failures=3)
    assert html.count('<article class="failure') == 3
    assert f"{n_fail - 3} failing step(s) not shown here" in html
    html = render_html(tiny_scores, image_budget=1)
    ops = {s.op for c in tiny_scores.cases for s in c.steps if s.verdict == "fail"}
    assert len(ops) > 1
    assert html.count(DATA_PNG) == 3 * len(ops), "each op's worst failing step is drawn, no more"
    assert f"{n_fail - len(ops)} of the steps shown have no images" in html


def test_without_bundle_the_report_is_text_and_escaped(tmp_path):
    path = write_html(synthetic_scores(), tmp_path / "r.html")
    html = path.read_text("utf-8")
    assert "the bundle cannot be read, so no images are shown" in html
    assert "<img" not in html
    assert "<b>" not in html and "&lt;b&gt;&#34;input&#34;&lt;/b&gt; &amp; &#39;quote&#39;" in html
    assert "\x00" not in html and "\\x00\\x07" in html
    page = _parse(html)
    assert "p.resize__in.a" in " ".join(page.text)
    assert NASTY not in html


# -- arrays to pictures -------------------------------------------------------------------------

def test_channel_state_follows_decode_color_and_layout():
    steps = [{"op": "decode", "output": "bgr"}, {"op": "resize"},
             {"op": "color", "conversion": "bgr_to_rgb"},
             {"op": "layout", "layout": "chw", "batch": True, "channel_order": "reverse"}]
    assert channel_state(steps, 0) == ChannelState(False, False, "bgr")
    assert channel_state(steps, 1) == ChannelState(False, False, "bgr")
    assert channel_state(steps, 2) == ChannelState(False, False, "rgb")
    assert channel_state(steps, 3) == ChannelState(True, True, "bgr")
    assert channel_state([{"op": "decode", "output": "gray"}], 0).order == "gray"
    assert channel_state([{"op": "decode"}, {"op": "color", "conversion": "rgb_to_ycbcr"}], 1).order == "ycbcr"


def test_layouts_and_channel_orders_draw_the_same_picture():
    rng = np.random.default_rng(0)
    hwc = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    vm = value_map(hwc)
    base = picture(hwc, ChannelState(), vm).uri
    assert picture(np.ascontiguousarray(hwc.transpose(2, 0, 1)), ChannelState(True, False), vm).uri == base
    assert picture(hwc.transpose(2, 0, 1)[None], ChannelState(True, True), vm).uri == base
    assert picture(hwc[:, :, ::-1], ChannelState(order="bgr"), vm).uri == base
    # A harness output that ignored the layout step is drawn by its shape, and says so.
    p = picture(hwc, ChannelState(True, True), vm)
    assert p.uri == base and "laid out as HWC by its shape" in p.notes
    px = _png(base)
    k = -(-MIN_DISPLAY // 7)  # enlarged by the smallest integer reaching MIN_DISPLAY: 14
    assert px.shape == (5 * k, 7 * k, 3)
    assert np.array_equal(px[::k, ::k], hwc)


def test_value_maps_for_uint16_float_and_gray():
    v16 = (np.arange(12, dtype=np.uint16).reshape(3, 4, 1) * 257 * 20)
    p = picture(v16, ChannelState(order="gray"), value_map(v16))
    assert "uint16 shown scaled by 255/65535" in p.notes
    k = -(-MIN_DISPLAY // 4)
    assert np.array_equal(_png(p.uri)[::k, ::k, 0], (np.arange(12) * 20).reshape(3, 4))
    f = np.array([[[-2.0], [0.0], [2.0]]], dtype=np.float32)  # (1, 3, 1)
    p = picture(f, ChannelState(order="gray"), value_map(f))
    assert _png(p.uri)[0, ::-(-MIN_DISPLAY // 3), 0].tolist() == [0, 128, 255]
    assert any("mapped from the reference's [-2, 2] to 0..255" in n for n in p.notes)
    # The harness output is drawn with the reference's map: values outside it clip.
    p = picture(f * 2, ChannelState(order="gray"), value_map(f))
    assert _png(p.uri)[0, ::-(-MIN_DISPLAY // 3), 0].tolist() == [0, 128, 255]


def test_heatmap_amplifies_the_largest_error_to_full_intensity():
    expected = np.zeros((10, 12, 3), np.uint8)
    got = expected.copy()
    got[4, 5, 1] = 3
    got[0, 0, 0] = 1
    h = heatmap(expected, got, ChannelState(), value_map(expected))
    assert "amplified ×85: an error of 3 is full intensity" in h.notes
    k = -(-MIN_DISPLAY // 12)
    px = _png(h.uri)[::k, ::k]
    assert px[4, 5].tolist() == COLORMAP[-1, 1:].tolist()
    assert px[0, 0].tolist() == colormap(np.array([1 / 3]))[0].tolist()
    assert px[9, 11].tolist() == COLORMAP[0, 1:].tolist()
    assert heatmap(expected, got[:, :, :1], ChannelState(), value_map(expected)).uri is None


def test_large_images_are_reduced_and_a_single_bad_pixel_stays_visible():
    expected = np.zeros((600, 400, 3), np.uint8)
    got = expected.copy()
    got[301, 7, 2] = 200
    h = heatmap(expected, got, ChannelState(), value_map(expected))
    assert "shown 1/3 (block max)" in h.notes and (h.height, h.width) == (200, 134)
    px = _png(h.uri)
    assert px[100, 2].tolist() == COLORMAP[-1, 1:].tolist()
    assert colormap(np.array([0.0, 0.5, 1.0])).tolist() == COLORMAP[[0, 2, 4], 1:].tolist()


# -- a real browser -----------------------------------------------------------------------------

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

# Injected into a copy of the page before its Content-Security-Policy (which forbids scripts in
# the report itself): collects script errors, console.error calls, failed resource loads, CSP
# violations and images the browser could not decode, and writes them into <pre id=test-errors>
# when the page has loaded, so --dump-dom shows them.
ERROR_HOOK = """<script>
(function () {
  var errors = [];
  function report(kind, text) { errors.push(kind + ": " + text); }
  window.addEventListener("error", function (e) {
    var t = e.target;
    if (t && t !== window && t.tagName) { report("resource", t.tagName + " " + (t.alt || "")); }
    else { report("error", e.message); }
  }, true);
  var original = console.error;
  console.error = function () {
    report("console.error", Array.prototype.join.call(arguments, " "));
    original.apply(console, arguments);
  };
  document.addEventListener("securitypolicyviolation", function (e) {
    report("csp", e.violatedDirective + " " + e.blockedURI);
  });
  window.addEventListener("load", function () {
    for (var i = 0; i < document.images.length; i++) {
      var img = document.images[i];
      if (!img.complete || img.naturalWidth === 0) { report("image not decoded", img.alt); }
    }
    var out = document.createElement("pre");
    out.id = "test-errors";
    out.setAttribute("data-images", String(document.images.length));
    out.textContent = errors.join("\\n");
    document.body.appendChild(out);
  });
})();
</script>
"""


def _browser() -> str:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    reason = f"no headless browser: none of {', '.join(BROWSERS)} is on PATH"
    if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
        pytest.fail(f"{reason}, and CI is set: the test set-up must install chromium")
    pytest.skip(f"{reason} (install chromium to run this test; under CI=true it fails instead)")


def _dump_dom(browser: str, page: Path, profile: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [browser, "--headless", "--disable-gpu", "--no-sandbox", "--enable-logging=stderr", "--v=0",
         "--no-first-run", f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=180)


def _with_hook(html: str) -> str:
    anchor = '<meta charset="utf-8">\n'
    assert anchor in html and html.index(anchor) < html.index("Content-Security-Policy")
    return html.replace(anchor, anchor + ERROR_HOOK, 1)


def _errors(dom: str) -> tuple[str, int]:
    m = re.search(r'<pre id="test-errors" data-images="(\d+)">(.*?)</pre>', dom, re.S)
    assert m, "the error hook ran and reported"
    return m.group(2), int(m.group(1))


def test_chromium_renders_the_report_without_console_errors(tiny_html, tmp_path):
    browser = _browser()
    html = tiny_html.read_text("utf-8")
    page = tmp_path / "report.html"
    page.write_text(_with_hook(html), "utf-8")
    run = _dump_dom(browser, page, tmp_path / "profile")
    assert run.returncode == 0, run.stderr[-2000:]
    dom = run.stdout
    assert '<table class="matrix" id="matrix-isolated">' in dom
    assert "Failing steps" in dom
    errors, n_images = _errors(dom)
    assert errors == ""
    assert n_images == html.count("<img ") > 0
    console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []


def test_the_browser_check_catches_a_remote_image_and_a_script_error(tiny_html, tmp_path):
    """The hook and the CSP are not vacuous: a page that fetches or fails is reported."""
    browser = _browser()
    html = _with_hook(tiny_html.read_text("utf-8")).replace(
        "</body>", '<img src="https://example.invalid/x.png" alt="remote"></body>')
    page = tmp_path / "bad.html"
    page.write_text(html, "utf-8")
    run = _dump_dom(browser, page, tmp_path / "profile")
    errors, _ = _errors(run.stdout)
    assert "csp: img-src https://example.invalid/x.png" in errors
    assert "image not decoded: remote" in errors
