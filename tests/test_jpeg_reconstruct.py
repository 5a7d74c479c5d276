"""JPEG reconstruction pieces on tiny hand-checkable inputs (reference/jpeg/upsample.py,
colorconvert.py, smoothing.py). Library comparisons are in tests/test_jpeg_decode.py."""

from __future__ import annotations

import numpy as np
import pytest

from conformance.errors import UnsupportedFeature
from conformance.reference.jpeg import colorconvert as cc
from conformance.reference.jpeg import smoothing
from conformance.reference.jpeg.model import ZIGZAG, Component, JpegImage
from conformance.reference.jpeg.upsample import h1v2_fancy, h2v1_fancy, h2v2_fancy, ratio, upsample

# ------------------------------------------------------------------------------------------
# Upsampling
# ------------------------------------------------------------------------------------------


def test_h2v1_fancy_by_hand():
    p = np.array([[0, 40, 100, 20]], dtype=np.int32)
    # out[2i] = (3p[i] + p[i-1] + 1) >> 2, out[2i+1] = (3p[i] + p[i+1] + 2) >> 2, edges replicated
    want = [(0 + 0 + 1) >> 2, (0 + 40 + 2) >> 2,          # 0, 10
            (120 + 0 + 1) >> 2, (120 + 100 + 2) >> 2,      # 30, 55
            (300 + 40 + 1) >> 2, (300 + 20 + 2) >> 2,      # 85, 80
            (60 + 100 + 1) >> 2, (60 + 20 + 2) >> 2]       # 40, 20
    assert h2v1_fancy(p)[0].tolist() == want


def test_h1v2_fancy_by_hand():
    p = np.array([[10], [50], [200]], dtype=np.int32)
    want = [10, (30 + 50 + 2) >> 2, (150 + 10 + 1) >> 2, (150 + 200 + 2) >> 2,
            (600 + 50 + 1) >> 2, 200]
    assert h1v2_fancy(p)[:, 0].tolist() == want


def test_h2v2_fancy_by_hand():
    p = np.array([[0, 100, 30], [60, 8, 255]], dtype=np.int32)
    # column sums for output row 0 (row above = row 0 itself): 4·p[0]
    s = 4 * p[0]
    row0 = [(4 * s[0] + 8) >> 4, (3 * s[0] + s[1] + 7) >> 4, (3 * s[1] + s[0] + 8) >> 4,
            (3 * s[1] + s[2] + 7) >> 4, (3 * s[2] + s[1] + 8) >> 4, (4 * s[2] + 7) >> 4]
    # output row 1: 3·p[0] + p[1]
    t = 3 * p[0] + p[1]
    row1 = [(4 * t[0] + 8) >> 4, (3 * t[0] + t[1] + 7) >> 4, (3 * t[1] + t[0] + 8) >> 4,
            (3 * t[1] + t[2] + 7) >> 4, (3 * t[2] + t[1] + 8) >> 4, (4 * t[2] + 7) >> 4]
    out = h2v2_fancy(p)
    assert out[0].tolist() == row0 and out[1].tolist() == row1


def test_fancy_never_reads_the_block_padding():
    """jdmainct/jdsample use dw x dh real samples; the rest of the IDCT block is ignored."""
    rng = np.random.Generator(np.random.PCG64(7))
    plane = rng.integers(0, 256, size=(16, 16), dtype=np.uint8)
    other = plane.copy()
    dw, dh = 5, 3
    other[dh:, :] = 0
    other[:, dw:] = 255
    for hx, vx in [(2, 1), (1, 2), (2, 2), (4, 1), (1, 1)]:
        w, h = dw * hx, dh * vx
        a = upsample(plane, dw, dh, hx, vx, w, h, "fancy")
        b = upsample(other, dw, dh, hx, vx, w, h, "fancy")
        assert np.array_equal(a, b), (hx, vx)
    # zune reads the padded plane: the padding changes its last column (3·p[4] + p[5] + 2) >> 2
    assert not np.array_equal(upsample(plane, dw, dh, 2, 1, 10, 3, "zune"),
                              upsample(other, dw, dh, 2, 1, 10, 3, "zune"))


def test_narrow_components_and_other_ratios_replicate():
    p = np.array([[10, 200]], dtype=np.uint8)  # dw = 2 <= 2: jdsample.c uses h2v1_upsample
    assert upsample(p, 2, 1, 2, 1, 4, 1, "fancy").tolist() == [[10, 10, 200, 200]]
    q = np.array([[10, 200, 30]], dtype=np.uint8)
    assert upsample(q, 3, 1, 4, 1, 11, 1, "fancy").tolist() == [[10] * 4 + [200] * 4 + [30] * 3]
    assert upsample(q, 3, 1, 2, 1, 6, 1, "nearest").tolist() == [[10, 10, 200, 200, 30, 30]]
    with pytest.raises(UnsupportedFeature):
        ratio(2, 1, 3, 1)


def test_zune_upsampling_by_hand():
    p = np.array([[0, 40, 100]], dtype=np.uint8)
    # bias 2 on both outputs: (3p[i] + p[i∓1] + 2) >> 2
    assert upsample(p, 3, 1, 2, 1, 6, 1, "zune").tolist() == [[0, 10, 30, 55, 85, 100]]
    q = np.array([[0], [40]], dtype=np.uint8)
    assert upsample(q, 1, 2, 1, 2, 1, 4, "zune")[:, 0].tolist() == [0, (0 + 40 + 2) >> 2,
                                                                   (120 + 0 + 2) >> 2, 40]

# ------------------------------------------------------------------------------------------
# Colour
# ------------------------------------------------------------------------------------------


def test_ycc_fixed_tables_by_hand():
    y, cb, cr = (np.array([v], dtype=np.uint8) for v in (100, 30, 220))
    # cr = 92: R = 100 + ((91881·92 + 32768) >> 16) = 100 + 129 = 229
    # cb = −98: B = 100 + ((116130·(−98) + 32768) >> 16) = 100 + floor(−173.2) = −74 -> 0
    # G = 100 + ((−22554·(−98) + 32768 − 46802·92) >> 16) = 100 + (−2062724 >> 16) = 100 − 32 = 68
    r, g, b = cc.ycc_to_rgb(y, cb, cr, "libjpeg_fixed")
    assert (int(r[0]), int(g[0]), int(b[0])) == (229, 68, 0)
    # float (T.871): R = 100 + 1.402·92 = 228.98 -> 229; G = 100 + 0.344136·98 − 0.714136·92
    # = 68.02 -> 68; B = 100 − 173.656 -> 0
    assert tuple(int(v[0]) for v in cc.ycc_to_rgb(y, cb, cr, "float")) == (229, 68, 0)
    # zune 14-bit: R = (1638400 + 8191 + 22970·92) >> 14 = 3759831 >> 14 = 229 (229.48);
    # G = (1646591 − 11700·92 + 5638·98) >> 14 = 1122715 >> 14 = 68 (68.52); B < 0 -> 0
    assert tuple(int(v[0]) for v in cc.ycc_to_rgb(y, cb, cr, "zune_fixed14")) == (229, 68, 0)


def test_ycc_fixed_equals_libjpeg_formula_on_all_inputs():
    """The tables against the per-pixel formula over every (Y, Cb, Cr) with Y on a grid."""
    yy, cb, cr = np.meshgrid(np.arange(0, 256, 17), np.arange(256), np.arange(256), indexing="ij")
    y8, cb8, cr8 = (a.astype(np.uint8) for a in (yy, cb, cr))
    r, g, b = cc.ycc_to_rgb(y8, cb8, cr8, "libjpeg_fixed")
    x, z = cb.astype(np.int64) - 128, cr.astype(np.int64) - 128
    assert np.array_equal(r, np.clip(yy + ((91881 * z + 32768) >> 16), 0, 255))
    assert np.array_equal(g, np.clip(yy + ((-22554 * x + 32768 - 46802 * z) >> 16), 0, 255))
    assert np.array_equal(b, np.clip(yy + ((116130 * x + 32768) >> 16), 0, 255))


def test_cmyk_formulas_by_hand():
    raw = np.array([[[55, 255, 0, 155]]], dtype=np.uint8)  # libjpeg samples c, m, y, k
    ink = cc.to_ink(raw, "adobe_inverted")
    assert ink.tolist() == [[[200, 0, 255, 100]]]
    # nk = 155: pillow R = 155 − round(200·155/255) = 155 − 122 = 33 (121.57), G = 155, B = 0
    assert cc.cmyk_to_rgb(ink, "pillow").tolist() == [[[33, 155, 0]]]
    # opencv R = 155 − (200·155 >> 8) = 155 − 121 = 34, G = 155, B = 155 − (255·155 >> 8) = 1
    assert cc.cmyk_to_rgb(ink, "opencv").tolist() == [[[34, 155, 1]]]
    assert cc.to_ink(raw, "plain") is raw


def test_pillow_cmyk_equals_zune_blinn_on_raw_samples():
    """zune-jpeg's blinn(c, k) on raw samples = Pillow's formula on inverted ink, all c, k."""
    c, k = np.meshgrid(np.arange(256), np.arange(256), indexing="ij")
    t = c * k + 128
    blinn = (t + (t >> 8)) >> 8
    raw = np.stack([c, c, c, k], axis=2).astype(np.uint8)
    ours = cc.cmyk_to_rgb(cc.to_ink(raw, "adobe_inverted"), "pillow")[..., 0]
    assert np.array_equal(ours, blinn)


def _image(n: int, *, jfif=False, adobe=None, ids=None) -> JpegImage:
    ids = ids or tuple(range(1, n + 1))
    comps = tuple(Component(id=i, h=1, v=1, tq=0, width=8, height=8, quant=np.ones(64, np.uint16),
                            coefficients=np.zeros((1, 1, 64), np.int32)) for i in ids)
    return JpegImage(width=8, height=8, precision=8, process="baseline", components=comps,
                     jfif=jfif, adobe_transform=adobe)


@pytest.mark.parametrize("n, kw, want", [
    (1, {}, "gray"), (3, {}, "ycbcr"), (3, dict(ids=(82, 71, 66)), "rgb"),
    (3, dict(ids=(7, 8, 9)), "ycbcr"), (3, dict(adobe=0), "rgb"), (3, dict(adobe=1), "ycbcr"),
    (3, dict(adobe=5), "ycbcr"), (3, dict(jfif=True, adobe=0), "ycbcr"),
    (3, dict(jfif=True, ids=(82, 71, 66)), "ycbcr"), (4, {}, "cmyk"), (4, dict(adobe=0), "cmyk"),
    (4, dict(adobe=2), "ycck"), (4, dict(adobe=1), "ycck"),
])
def test_colour_space_inference(n, kw, want):
    assert cc.jpeg_color_space(_image(n, **kw)) == want


def test_two_component_jpeg_is_unsupported():
    with pytest.raises(UnsupportedFeature, match="2-component"):
        cc.jpeg_color_space(_image(2))

# ------------------------------------------------------------------------------------------
# Block smoothing
# ------------------------------------------------------------------------------------------


def test_smoothing_neighbour_rows_follow_the_c_quirk():
    """v = 2, 3 block rows, T = 2 iMCU rows: the last iMCU row has 1 block row, so row 2's
    image_block_row is 1·1 + 0 = 1 and its prevprev is its prev (row 1), not row 0."""
    rows = smoothing.neighbour_rows(3, 2, 2)
    assert rows.tolist() == [[0, 0, 0, 1, 2], [0, 0, 1, 2, 3], [1, 1, 2, 2, 2]]
    # v = 1: plain clamping to [0, rows − 1]
    assert smoothing.neighbour_rows(3, 1, 3).tolist() == [[0, 0, 0, 1, 2], [0, 0, 1, 2, 2],
                                                          [0, 1, 2, 2, 2]]
    assert smoothing.neighbour_cols(2).tolist() == [[0, 0, 0, 1, 1], [0, 0, 1, 1, 1]]


def test_smoothing_ok_rules():
    base = _image(1)
    comp = base.components[0]

    def prog(bits):
        c = Component(id=1, h=1, v=1, tq=0, width=8, height=8, quant=comp.quant,
                      coefficients=comp.coefficients, coef_bits=np.array(bits, dtype=np.int16))
        return JpegImage(width=8, height=8, precision=8, process="progressive", components=(c,))

    complete = [0] * 64
    dc_only = [0] + [-1] * 63
    approx = [0] + [1] * 9 + [-1] * 54
    assert not smoothing.smoothing_ok(base)  # sequential
    assert not smoothing.smoothing_ok(prog(complete))
    assert smoothing.smoothing_ok(prog(dc_only)) and smoothing.smoothing_ok(prog(approx))
    assert not smoothing.smoothing_ok(prog([-1] * 64))  # DC never sent
    # only zig-zag coefficients 10..63 missing: nothing to smooth
    first_ten = np.full(64, -1)
    first_ten[ZIGZAG[:10]] = 0
    assert not smoothing.smoothing_ok(prog(first_ten))


def test_dc_only_smoothing_of_a_flat_image_keeps_it_flat():
    """change_dc on equal DCs: the DC kernel sums to 256 (DC unchanged) and every AC kernel sums
    to 0 (estimates 0)."""
    dc = 17
    coef = np.zeros((3, 4, 64), dtype=np.int32)
    coef[:, :, 0] = dc
    c = Component(id=1, h=1, v=1, tq=0, width=32, height=24, quant=np.full(64, 3, np.uint16),
                  coefficients=coef, coef_bits=np.array([0] + [-1] * 63, dtype=np.int16))
    out = smoothing.smooth_component(c, 3, 4, 3)
    assert np.all(out[:, :, 0] == dc) and not out[:, :, 1:].any()
    assert int(smoothing.DC_WEIGHTS_CHANGE_DC.sum()) == 256
    assert all(int(w.sum()) == 0 for w in smoothing.WEIGHTS_CHANGE_DC.values())


def test_ac01_estimate_by_hand():
    """One row of blocks, DC ramp 0, 10, 20, 30, 40, Q = 1 everywhere, AC sent with Al = 1 (not
    change_dc). Block 2: num = −7·0 + 50·10 − 50·30 + 7·40 = −720; pred = (128 + 720) // 256 = 3,
    clamped to 2^1 − 1 = 1, negated: −1."""
    coef = np.zeros((1, 5, 64), dtype=np.int32)
    coef[0, :, 0] = [0, 10, 20, 30, 40]
    bits = np.array([0] + [1] * 63, dtype=np.int16)
    c = Component(id=1, h=1, v=1, tq=0, width=40, height=8, quant=np.ones(64, np.uint16),
                  coefficients=coef, coef_bits=bits)
    out = smoothing.smooth_component(c, 1, 5, 1)
    assert out[0, 2, 1] == -1
    assert np.all(out[0, :, 0] == coef[0, :, 0])  # DC untouched without change_dc
