"""pillow.* presets against Pillow 13.0.0 itself (an independent implementation: C code in
``src/libImaging/Resample.c`` and ``Geometry.c``), plus tiny hand-checkable goldens.

Oracle call: ``Image.fromarray(img).resize((w, h), resample=F, reducing_gap=None)`` on RGB (and "L")
uint8 images. Case classes (fixed order in the case name): ``any`` (arbitrary sizes), ``intdown``
(exact integer downscale x2..5 per axis), ``intup`` (exact integer upscale x2..4), ``factor``
(independent per-axis factors 0.2..1.9), ``oneaxis`` (one axis unchanged: a single 1-D pass),
``vfirst`` (sizes for which Pillow 13 resizes vertically first: out_h < in_h and
in_h - out_h > 2 (in_w - out_w)), ``tie`` (in_h - out_h == 2 (in_w - out_w): horizontal first).

Tolerance (STYLE 9), metric = max abs difference of any single element (per channel):
``PILLOW_TOLERANCE`` = 0 LSB and 100 % exact, because the presets model Pillow's integer
arithmetic exactly (22-bit weights, uint8 between passes, Pillow 13's pass order). The project's
acceptance floor is 1 LSB with >= 99.9 % exact values; anything above 0 here is a regression.
Run with ``-s`` to see the measured figures; ``-m slow`` runs 500 cases per filter.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from conformance.reference.resize import resize
from conformance.spec import make_step

PILLOW_TOLERANCE = {"max_abs": 0, "min_exact": 1.0,
                    "reason": "the presets reproduce Pillow's fixed-point arithmetic bit for bit"}
ACCEPTANCE = {"max_abs": 1, "min_exact": 0.999}

FILTERS = {"nearest": Image.Resampling.NEAREST, "box": Image.Resampling.BOX,
           "bilinear": Image.Resampling.BILINEAR, "hamming": Image.Resampling.HAMMING,
           "bicubic": Image.Resampling.BICUBIC, "lanczos": Image.Resampling.LANCZOS}
CLASSES = ("any", "intdown", "intup", "factor", "oneaxis", "vfirst", "tie")
MAX_SIDE = 120


def pillow(img: np.ndarray, h: int, w: int, filt: str) -> np.ndarray:
    """The oracle: Pillow's own resize (no reduce() step)."""
    im = Image.fromarray(img[:, :, 0] if img.shape[2] == 1 else img)
    out = np.asarray(im.resize((w, h), resample=FILTERS[filt], reducing_gap=None))
    return out[:, :, None] if out.ndim == 2 else out


def ours(img: np.ndarray, h: int, w: int, filt: str) -> np.ndarray:
    return resize(img, make_step({"op": "resize", "preset": f"pillow.{filt}", "height": h, "width": w}))


def _sizes(rng: np.random.Generator, cls: str) -> tuple[int, int, int, int]:
    """(in_h, in_w, out_h, out_w) of one case of class ``cls``."""
    r = lambda lo, hi: int(rng.integers(lo, hi + 1))  # noqa: E731
    if cls == "any":
        return r(1, MAX_SIDE), r(1, MAX_SIDE), r(1, MAX_SIDE), r(1, MAX_SIDE)
    if cls == "intdown":
        fy, fx = r(2, 5), r(2, 5)
        oh, ow = r(1, MAX_SIDE // fy), r(1, MAX_SIDE // fx)
        return oh * fy, ow * fx, oh, ow
    if cls == "intup":
        fy, fx = r(2, 4), r(2, 4)
        h, w = r(1, MAX_SIDE // fy), r(1, MAX_SIDE // fx)
        return h, w, h * fy, w * fx
    if cls == "factor":
        h, w = r(8, MAX_SIDE), r(8, MAX_SIDE)
        return h, w, max(1, round(h * rng.uniform(0.2, 1.9))), max(1, round(w * rng.uniform(0.2, 1.9)))
    if cls == "oneaxis":
        h, w, o = r(2, MAX_SIDE), r(2, MAX_SIDE), r(1, MAX_SIDE)
        return (h, w, o, w) if rng.random() < 0.5 else (h, w, h, o)
    if cls == "vfirst":
        while True:
            h, w, oh, ow = r(4, MAX_SIDE), r(2, MAX_SIDE), r(1, MAX_SIDE), r(1, MAX_SIDE)
            if oh < h and (h - oh) > 2 * (w - ow):
                return h, w, oh, ow
    if cls == "tie":
        while True:
            h, w, ow = r(4, MAX_SIDE), r(2, MAX_SIDE), r(1, MAX_SIDE)
            oh = h - 2 * (w - ow)
            if 1 <= oh < h:
                return h, w, oh, ow
    raise ValueError(cls)


def make_cases(filt: str, per_class: int, seed: int, channels: int = 3) -> list[tuple]:
    """Cases named ``pillow_<filter>_<class>_<h>x<w>_to_<oh>x<ow>_c<channels>_<k>``; duplicates are
    an error (STYLE 8)."""
    rng = np.random.default_rng(seed)
    cases, names = [], set()
    for cls in CLASSES:
        for k in range(per_class):
            h, w, oh, ow = _sizes(rng, cls)
            name = f"pillow_{filt}_{cls}_{h}x{w}_to_{oh}x{ow}_c{channels}_{k}"
            assert name not in names, f"duplicate case name {name}"
            names.add(name)
            img = rng.integers(0, 256, (h, w, channels), dtype=np.uint8)
            cases.append((name, img, oh, ow))
    return cases


def grid_report(expected: np.ndarray, got: np.ndarray, label_e="expected", label_g="got") -> str:
    """Both grids (channel 0) and the worst pixel, for readable failures (STYLE 7)."""
    diff = np.abs(expected.astype(np.int64) - got.astype(np.int64))
    worst = np.unravel_index(int(np.argmax(diff)), diff.shape)
    lines = [f"worst pixel (y, x, c) = {tuple(int(v) for v in worst)}: {label_e} {expected[worst]} "
             f"{label_g} {got[worst]} (|diff| {diff[worst]}); {int((diff > 0).sum())} values differ"]
    if expected.shape[0] * expected.shape[1] <= 400:
        lines.append(f"{label_e} (channel 0):\n{expected[:, :, 0]}")
        lines.append(f"{label_g} (channel 0):\n{got[:, :, 0]}")
    return "\n".join(lines)


def agreement(filt: str, cases: list[tuple]) -> dict:
    """Run every case through both implementations; return the figures and the worst case."""
    values = exact = 0
    max_diff, worst = 0, None
    for name, img, oh, ow in cases:
        a, b = ours(img, oh, ow, filt), pillow(img, oh, ow, filt)
        assert a.shape == b.shape and a.dtype == b.dtype == np.uint8, name
        d = np.abs(a.astype(np.int64) - b)
        values += d.size
        exact += int((d == 0).sum())
        if d.max() > max_diff or worst is None:
            max_diff = max(max_diff, int(d.max()))
            if d.max() > 0:
                worst = (name, grid_report(b, a, "pillow", "reference"))
    return {"cases": len(cases), "values": values, "max_diff": max_diff,
            "exact": exact / max(values, 1), "worst": worst}


def _check(filt: str, fig: dict, tol: dict) -> None:
    print(f"\npillow.{filt}: {fig['cases']} cases, {fig['values']} values, max diff "
          f"{fig['max_diff']} LSB, {100 * fig['exact']:.4f} % exact")
    msg = "" if fig["worst"] is None else f"worst case {fig['worst'][0]}:\n{fig['worst'][1]}"
    assert fig["max_diff"] <= ACCEPTANCE["max_abs"] and fig["exact"] >= ACCEPTANCE["min_exact"], msg
    assert fig["max_diff"] <= tol["max_abs"] and fig["exact"] >= tol["min_exact"], msg


@pytest.mark.parametrize("filt", list(FILTERS))
def test_pillow_rgb_agreement(filt):
    cases = make_cases(filt, per_class=7, seed=1000 + list(FILTERS).index(filt))
    _check(filt, agreement(filt, cases), PILLOW_TOLERANCE)


@pytest.mark.parametrize("filt", ["nearest", "bilinear", "bicubic", "lanczos"])
def test_pillow_gray_agreement(filt):
    cases = make_cases(filt, per_class=2, seed=2000 + list(FILTERS).index(filt), channels=1)
    _check(filt, agreement(filt, cases), PILLOW_TOLERANCE)


@pytest.mark.slow
@pytest.mark.parametrize("filt", list(FILTERS))
def test_pillow_rgb_agreement_sweep(filt):
    cases = make_cases(filt, per_class=72, seed=3000 + list(FILTERS).index(filt))
    _check(filt, agreement(filt, cases), PILLOW_TOLERANCE)


def test_pass_order_rule_matters_and_is_modelled():
    """On the vfirst class the other pass order gives different bytes: the rule is exercised."""
    rng = np.random.default_rng(5)
    changed = 0
    for k in range(20):
        h, w, oh, ow = _sizes(rng, "vfirst")
        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        hv = resize(img, make_step({"op": "resize", "preset": "pillow.lanczos", "height": oh, "width": ow,
                                    "pass_order": "hv"}))
        ref = pillow(img, oh, ow, "lanczos")
        assert np.array_equal(ours(img, oh, ow, "lanczos"), ref), grid_report(ref, ours(img, oh, ow, "lanczos"))
        changed += not np.array_equal(hv, ref)
    assert changed >= 5, f"only {changed}/20 vertical-first cases depend on the order"


# --- tiny goldens (values checkable by hand; also confirmed against Pillow) ----------------------

def _golden(preset: str, img: list, out_hw: tuple[int, int], expected: list) -> None:
    src = np.array(img, dtype=np.uint8)[:, :, None]
    want = np.array(expected, dtype=np.uint8)[:, :, None]
    got = resize(src, make_step({"op": "resize", "preset": preset, "height": out_hw[0], "width": out_hw[1]}))
    assert np.array_equal(got, want), f"{preset}:\n" + grid_report(want, got)
    filt = preset.split(".")[1]
    oracle = pillow(src, *out_hw, filt)
    assert np.array_equal(oracle, want), f"Pillow itself disagrees with the golden:\n" + grid_report(want, oracle)


def test_golden_bilinear_upscale_x2():
    # scale 0.5, support 1: output i has centre (i + 0.5)/2; weights (0.75, 0.25) between
    # neighbours, a single tap at the ends (window truncated and renormalised).
    _golden("pillow.bilinear", [[0, 100, 200, 40]], (1, 8), [[0, 25, 75, 125, 175, 160, 80, 40]])


def test_golden_box_downscale_x2_rounds_twice():
    # Box x2 = mean of pairs, rounded half up after EACH pass (uint8 between passes):
    # rows: (0+1)/2 = 0.5 -> 1, (10+20)/2 = 15, (0+1)/2 -> 1, (30+41)/2 = 35.5 -> 36;
    # columns: (1+1)/2 = 1, (15+36)/2 = 25.5 -> 26. The exact 2x2 means would be 0.5 and 25.25.
    _golden("pillow.box", [[0, 1, 10, 20], [0, 1, 30, 41], [7, 7, 100, 100], [9, 9, 100, 102]], (2, 2),
            [[1, 26], [8, 101]])


def test_golden_nearest_accumulates_from_half_step():
    # 3 -> 5: q = 0.6, positions 0.3, 0.9, 1.5, 2.1, 2.7 truncated: 0, 0, 1, 2, 2
    _golden("pillow.nearest", [[10, 20, 30], [40, 50, 60]], (2, 5), [[10, 10, 20, 30, 30], [40, 40, 50, 60, 60]])


def test_golden_bicubic_overshoot_is_clipped():
    # Keys a = -0.5, x2 upscale of a step edge; c(0.25) = 0.8671875, c(0.75) = 0.2265625,
    # c(1.25) = -0.0703125, c(1.75) = -0.0234375. Output 3 (centre 1.75, taps 0..3):
    # 255·(0.2265625 − 0.0234375) = 51.8 -> 52; output 4: 255·(0.8671875 − 0.0703125) = 203.2 -> 203;
    # output 2 (taps 0..2, truncated window renormalised by 1.0234375): 255·(−0.0703125)/1.0234375
    # = −17.5 -> clipped to 0; output 5: 255·(0.8671875 + 0.2265625)/1.0234375 = 272.5 -> 255.
    _golden("pillow.bicubic", [[0, 0, 255, 255]], (1, 8), [[0, 0, 0, 52, 203, 255, 255, 255]])
