"""reference.resize.opencv against its oracle, cv2.resize itself (opencv-python-headless 5.0.0).

Every comparison calls ``cv2.resize(img, dsize=(w, h), interpolation=flag)`` (never fx/fy: with
fx/fy OpenCV uses the given factor instead of d/s, a different computation; notes §1.0).

Metric: max abs difference of any single value (per channel), as float64. Tolerance 0 for every
mode (the module claims bit-exactness), except the *measured* bounds against IPP, which the
module does not model: uint8 INTER_CUBIC with the default (IPP on) wheel, and float32
INTER_LINEAR / INTER_CUBIC with IPP on. INTER_CUBIC's 0-LSB comparisons run cv2 with
``cv2.ipp.setUseIPP(False)``; the other uint8 modes run the default wheel (IPP on and off give the
same bytes for them, so the default is the stronger check).

Cases (:func:`make_cases`, deterministic, seeded): five classes in rotation: arbitrary sizes,
exact integer downscale x2..x5, integer upscale x2..x4, independent per-axis factors 0.2..1.9, and
(alternately) odd/degenerate shapes (1xN, Nx1, 1x1, extreme aspect ratios) or one axis unchanged.
Default run: ``N_CASES`` per mode; ``pytest -m slow`` runs the 500-case
sweep of the notes. ``-s`` prints the figures (cases, values compared, max diff, % exact).
"""

from __future__ import annotations

import contextlib

import cv2
import numpy as np
import pytest

from conformance.errors import SpecError, UnsupportedFeature
from conformance.reference.resize import opencv as ocv
from conformance.reference.resize.opencv import INTERPOLATIONS, interpolation_for, resize_opencv
from conformance.spec import make_step

MODES = ("opencv.nearest", "opencv.nearest_exact", "opencv.linear", "opencv.cubic", "opencv.area",
         "opencv.lanczos4")
N_CASES = 60          # per mode, default run
N_CASES_SLOW = 500    # per mode, -m slow (the notes' sweep size)
N_CASES_FLOAT = 30    # per mode, float32, default run

# Measured bounds against the IPP paths (not modelled): metric max abs per value.
# uint8 INTER_CUBIC, IPP on: at most 1 LSB (notes §1.5), on a small fraction of the values.
# Measured on noise images: 3.4 % of the values off by 1 (2 x 500 cases: 3.42 %, 3.43 %; 60 cases:
# 3.39 %), about half the cases fully exact; the astronaut photo 512 -> 224x224 / 171x333 /
# 333x171 / 1000x1000: 4.4 / 3.3 / 3.1 / 3.6 % (not a noise artefact).
IPP_CUBIC_U8_MAX_ABS = 1
IPP_CUBIC_U8_MAX_FRACTION_OFF = 0.05
# float32 INTER_LINEAR / INTER_CUBIC, IPP on: float rounding differences. Values are 0..255 here;
# measured max 0.0029 (linear) / 0.0032 (cubic) over 500 cases, i.e. ~1.3e-5 of the range.
IPP_FLOAT_MAX_ABS = 0.02


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def step(preset: str, h: int = 1, w: int = 1, **knobs):
    return make_step({"op": "resize", "preset": preset, "height": h, "width": w, **knobs})


@contextlib.contextmanager
def ipp(enabled: bool):
    """Run cv2 with IPP on/off and restore the previous state."""
    previous = cv2.ipp.useIPP()
    cv2.ipp.setUseIPP(enabled)
    try:
        yield
    finally:
        cv2.ipp.setUseIPP(previous)


def cv2_resize(img: np.ndarray, h: int, w: int, preset: str) -> np.ndarray:
    """The oracle: cv2.resize with dsize=(w, h), back to (h, w, C)."""
    flag = interpolation_for(step(preset)).code
    out = cv2.resize(img, (w, h), interpolation=flag)
    return out.reshape(h, w, img.shape[2])


def diff_report(ours: np.ndarray, theirs: np.ndarray, what: str, other: str = "cv2") -> str:
    """Readable failure text: sizes, how many values differ, the worst one with both values, and
    both grids when they are small (STYLE item 7)."""
    d = np.abs(ours.astype(np.float64) - theirs.astype(np.float64))
    worst = np.unravel_index(int(np.argmax(d)), d.shape)
    text = (f"{what}: {np.count_nonzero(d)}/{d.size} values differ, max abs diff {d.max():g} at "
            f"(y, x, c) = {tuple(int(v) for v in worst)}: reference {ours[worst].item()!r} vs {other} "
            f"{theirs[worst].item()!r}")
    if ours.size <= 64:
        text += f"\nreference:\n{ours[..., 0]}\n{other}:\n{theirs[..., 0]}"
    return text


def make_cases(n: int, seed: int) -> list[tuple[int, int, int, int, int]]:
    """``n`` (H, W, C, h, w) tuples, the five classes in rotation (deterministic).

    Class 4 alternates between odd shapes and one-axis-unchanged resizes (by an integer factor
    2..3, which takes INTER_AREA's integer path with factor 1 on the other axis, or a random one).
    """
    rng = np.random.default_rng(seed)
    odd_shapes = [(1, 1), (1, 2), (2, 1), (1, 173), (173, 1), (2, 199), (199, 2), (3, 97), (97, 3),
                  (5, 7), (7, 5), (127, 131)]
    cases = []
    for i in range(n):
        kind = i % 5
        if kind == 0:    # arbitrary
            H, W, h, w = (int(v) for v in rng.integers(1, 201, 4))
        elif kind == 1:  # exact integer downscale x2..x5 (same factor on both axes half the time)
            fy, fx = (int(v) for v in rng.integers(2, 6, 2))
            fy = fx if rng.random() < 0.5 else fy
            h, w = (int(v) for v in rng.integers(1, 41, 2))
            H, W = h * fy, w * fx
        elif kind == 2:  # integer upscale x2..x4
            fy, fx = (int(v) for v in rng.integers(2, 5, 2))
            fy = fx if rng.random() < 0.5 else fy
            H, W = (int(v) for v in rng.integers(1, 51, 2))
            h, w = H * fy, W * fx
        elif kind == 3:  # independent per-axis factors 0.2..1.9
            H, W = (int(v) for v in rng.integers(1, 201, 2))
            fy, fx = rng.uniform(0.2, 1.9, 2)
            h, w = max(1, round(H * fy)), max(1, round(W * fx))
        elif i % 10 == 4:  # odd sizes, 1xN, Nx1, extreme aspect ratios, both directions
            H, W = odd_shapes[int(rng.integers(len(odd_shapes)))]
            h, w = odd_shapes[int(rng.integers(len(odd_shapes)))]
        else:              # one axis unchanged (a 1-D resize), the other by an integer or any factor
            keep = int(rng.integers(1, 201))
            if rng.random() < 0.5:
                n, f = int(rng.integers(1, 67)), int(rng.integers(2, 4))
                length, new = n * f, n
            else:
                length = int(rng.integers(1, 201))
                new = max(1, round(length * rng.uniform(0.2, 1.9)))
            H, W, h, w = (keep, length, keep, new) if rng.random() < 0.5 else (length, keep, new, keep)
        if (h, w) == (H, W):
            w += 1  # a same-size resize is a copy; keep every case a real resize
        C = int(rng.choice([1, 3, 4]))
        cases.append((H, W, C, h, w))
    return cases


def random_image(rng, shape, dtype) -> np.ndarray:
    if dtype == np.uint8:
        return rng.integers(0, 256, shape, dtype=np.uint8)
    return rng.uniform(0, 255, shape).astype(np.float32)


class Stats:
    """Agreement figures of one sweep (printed with -s)."""

    def __init__(self, name: str):
        self.name, self.cases, self.exact_cases, self.values, self.off, self.max_abs = name, 0, 0, 0, 0, 0.0
        self.worst = ""

    def add(self, ours, theirs, what):
        d = np.abs(ours.astype(np.float64) - theirs.astype(np.float64))
        self.cases += 1
        self.values += d.size
        off = int(np.count_nonzero(d))
        self.off += off
        self.exact_cases += off == 0
        if d.size and d.max() > self.max_abs:
            self.max_abs = float(d.max())
            self.worst = diff_report(ours, theirs, what)

    def failure(self) -> str:
        return self.line() + "\nworst case: " + self.worst

    def line(self) -> str:
        pct = 100.0 * (self.values - self.off) / max(self.values, 1)
        return (f"{self.name}: {self.cases} cases ({self.exact_cases} exact), {self.values} values, "
                f"max abs diff {self.max_abs:g}, {pct:.3f} % of values exact")


def sweep(preset: str, cases, dtype=np.uint8, ipp_on: bool | None = None, seed: int = 0) -> Stats:
    """Compare reference and cv2 on ``cases``; ``ipp_on=None`` keeps cv2's current IPP state."""
    stats = Stats(f"{preset} [{np.dtype(dtype).name}, IPP {'default' if ipp_on is None else ipp_on}]")
    rng = np.random.default_rng(seed)
    ctx = contextlib.nullcontext() if ipp_on is None else ipp(ipp_on)
    with ctx:
        for H, W, C, h, w in cases:
            img = random_image(rng, (H, W, C), dtype)
            ours = resize_opencv(img, h, w, step(preset, h, w))
            theirs = cv2_resize(img, h, w, preset)
            assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
            stats.add(ours, theirs,
                      f"{preset} {np.dtype(dtype).name} (H, W, C) = {(H, W, C)} -> (h, w) = {(h, w)}")
    print(stats.line())
    return stats


def needs_ipp_off(preset: str, dtype) -> bool:
    """The (mode, dtype) pairs the default wheel hands to IPP (not modelled)."""
    if preset == "opencv.cubic":
        return True
    return dtype == np.float32 and preset == "opencv.linear"


# ---------------------------------------------------------------------------------------------
# 0 LSB sweeps
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("preset", MODES)
def test_uint8_matches_cv2_exactly(preset):
    ipp_on = False if needs_ipp_off(preset, np.uint8) else None
    stats = sweep(preset, make_cases(N_CASES, seed=1), np.uint8, ipp_on, seed=2)
    assert stats.max_abs == 0, stats.failure()


@pytest.mark.slow
@pytest.mark.parametrize("preset", MODES)
def test_uint8_matches_cv2_exactly_500_cases(preset):
    ipp_on = False if needs_ipp_off(preset, np.uint8) else None
    stats = sweep(preset, make_cases(N_CASES_SLOW, seed=11), np.uint8, ipp_on, seed=12)
    assert stats.max_abs == 0, stats.failure()
    if preset != "opencv.cubic":  # the same bytes with IPP forced off
        stats = sweep(preset, make_cases(N_CASES_SLOW, seed=11), np.uint8, False, seed=12)
        assert stats.max_abs == 0, stats.failure()


@pytest.mark.parametrize("preset", MODES)
def test_float32_matches_cv2_exactly(preset):
    ipp_on = False if needs_ipp_off(preset, np.float32) else None
    stats = sweep(preset, make_cases(N_CASES_FLOAT, seed=3), np.float32, ipp_on, seed=4)
    assert stats.max_abs == 0, stats.failure()


@pytest.mark.slow
@pytest.mark.parametrize("preset", MODES)
def test_float32_matches_cv2_exactly_500_cases(preset):
    stats = sweep(preset, make_cases(N_CASES_SLOW, seed=13), np.float32, False, seed=14)
    assert stats.max_abs == 0, stats.failure()


EXTREME_CASES = [(2000, 30, 3, 3, 29), (30, 2000, 1, 29, 3), (2, 3, 4, 500, 497), (1, 3000, 3, 1, 1234),
                 (3000, 1, 3, 777, 1), (1, 1, 3, 7, 9), (7, 9, 3, 1, 1), (1500, 1000, 3, 7, 5),
                 (1023, 767, 4, 224, 224)]


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_extreme_shapes_match_cv2_exactly(dtype):
    """Large factors both ways, 1-pixel-wide strips, 1x1 sources and targets."""
    for preset in MODES:
        ipp_on = False if needs_ipp_off(preset, dtype) else None
        stats = sweep(preset, EXTREME_CASES, dtype, ipp_on, seed=9)
        assert stats.max_abs == 0, stats.failure()


def test_two_channel_images_follow_opencvs_own_rules():
    """C = 2 is outside the presets' {1, 3, 4} but exercises two branch rules: exact 2x INTER_LINEAR
    becomes INTER_AREA, whose 2x2 SIMD kernel ((a+b+c+d+2)>>2) excludes cn = 2 (half to even there)."""
    cases = [(40, 60, 2, 20, 30), (7, 9, 2, 14, 18), (33, 50, 2, 11, 25), (12, 12, 2, 5, 7)]
    for preset in MODES:
        ipp_on = False if needs_ipp_off(preset, np.uint8) else None
        stats = sweep(preset, cases, np.uint8, ipp_on, seed=5)
        assert stats.max_abs == 0, stats.failure()


# ---------------------------------------------------------------------------------------------
# What is not modelled: IPP, measured
# ---------------------------------------------------------------------------------------------


def test_uint8_cubic_against_the_default_ipp_wheel_is_within_the_measured_bound():
    stats = sweep("opencv.cubic", make_cases(N_CASES, seed=1), np.uint8, ipp_on=True, seed=2)
    fraction_off = stats.off / stats.values
    print(f"  IPP-on cubic: {stats.off} values off ({100 * fraction_off:.3f} %), "
          f"{stats.exact_cases}/{stats.cases} cases exact")
    assert stats.max_abs <= IPP_CUBIC_U8_MAX_ABS, stats.failure()
    assert fraction_off <= IPP_CUBIC_U8_MAX_FRACTION_OFF


@pytest.mark.parametrize("preset", ["opencv.linear", "opencv.cubic"])
def test_float32_against_the_default_ipp_wheel_is_within_the_measured_bound(preset):
    stats = sweep(preset, make_cases(N_CASES_FLOAT, seed=3), np.float32, ipp_on=True, seed=4)
    assert stats.max_abs <= IPP_FLOAT_MAX_ABS, stats.failure()


# ---------------------------------------------------------------------------------------------
# A photo
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    data = pytest.importorskip("skimage.data")
    return np.ascontiguousarray(data.astronaut())  # 512 x 512 x 3 uint8


@pytest.mark.parametrize("preset", MODES)
@pytest.mark.parametrize("size", [(224, 224), (171, 333), (333, 171)])
def test_photo_matches_cv2_exactly(astronaut, preset, size):
    h, w = size
    stats = Stats(f"astronaut 512x512 -> {h}x{w} {preset}")
    with ipp(False) if needs_ipp_off(preset, np.uint8) else contextlib.nullcontext():
        stats.add(resize_opencv(astronaut, h, w, step(preset, h, w)), cv2_resize(astronaut, h, w, preset),
                  stats.name)
    print(stats.line())
    assert stats.max_abs == 0, stats.failure()


# ---------------------------------------------------------------------------------------------
# Hand-checkable goldens (expected values written here; cv2 must agree too)
# ---------------------------------------------------------------------------------------------


def golden(preset, img2d, h, w, expected):
    img = np.array(img2d, dtype=np.uint8)[:, :, None]
    ours = resize_opencv(img, h, w, step(preset, h, w))
    exp = np.array(expected, dtype=np.uint8)[:, :, None]
    assert np.array_equal(ours, exp), diff_report(ours, exp, f"{preset} golden", other="expected")
    with ipp(False):
        theirs = cv2_resize(img, h, w, preset)
    assert np.array_equal(ours, theirs), diff_report(ours, theirs, f"{preset} golden vs cv2")


def test_golden_linear_2x2_to_4x4():
    # x: f = (i+0.5)/2 - 0.5 = -0.25, 0.25, 0.75, 1.25 -> outside columns clamp to the edge pixel,
    # inside weights (0.75, 0.25), (0.25, 0.75). y: the same fractions, rows clamped; so the
    # corners are the source pixels and e.g. row 1 = 0.75·row 0 + 0.25·row 1.
    golden("opencv.linear", [[0, 80], [160, 240]], 4, 4,
           [[0, 20, 60, 80],
            [40, 60, 100, 120],
            [120, 140, 180, 200],
            [160, 180, 220, 240]])


def test_golden_area_4x4_to_2x2_rounds_half_up():
    # 2x2 blocks, (a + b + c + d + 2) >> 2: 10/4 = 2.5 -> 3 (half up, not half to even),
    # 101/4 = 25.25 -> 25, 401/4 = 100.25 -> 100, 1019/4 = 254.75 -> 255.
    golden("opencv.area", [[0, 1, 10, 20], [4, 5, 30, 41], [100, 100, 255, 255], [100, 101, 255, 254]], 2, 2,
           [[3, 25], [100, 255]])


def test_golden_area_three_to_two_columns():
    # scale 1.5: cell 0 = [0, 1.5) -> pixel 0 weight 1/1.5, pixel 1 weight 0.5/1.5: 0 + 30 = 30;
    # cell 1 = [1.5, 3) -> pixel 1 weight 0.5/1.5, pixel 2 weight 1/1.5: 30 + 120 = 150.
    golden("opencv.area", [[0, 90, 180]], 1, 2, [[30, 150]])


def test_golden_nearest_and_nearest_exact_differ():
    # 3 -> 2: INTER_NEAREST picks floor(i·1.5) = 0, 1; INTER_NEAREST_EXACT floor(0.75 + 1.5·i) = 0, 2.
    golden("opencv.nearest", [[10, 20, 30]], 1, 2, [[10, 20]])
    golden("opencv.nearest_exact", [[10, 20, 30]], 1, 2, [[10, 30]])


def test_golden_linear_2x_downscale_is_area():
    # Exact 2x on both axes: hal::resize switches INTER_LINEAR to INTER_AREA: (1 + 2 + 3 + 4 + 2) >> 2 = 3.
    golden("opencv.linear", [[1, 2], [3, 4]], 1, 1, [[3]])


# ---------------------------------------------------------------------------------------------
# Building blocks and contract
# ---------------------------------------------------------------------------------------------


def test_cubic_and_lanczos_weight_tables_match_opencvs_float_weights():
    """interpolateCubic / interpolateLanczos4 in float32, seen through cv2 on impulse images
    (float32, one axis resized: each output is one weight)."""
    for s, d in [(10, 13), (13, 10), (7, 31), (50, 17), (3, 64)]:
        img = np.eye(s, dtype=np.float32)[:, :, None]
        for preset in ("opencv.cubic", "opencv.lanczos4"):
            with ipp(False):
                theirs = cv2_resize(img, s, d, preset)
            ours = resize_opencv(img, s, d, step(preset, s, d))
            assert np.array_equal(ours, theirs), diff_report(ours, theirs, f"{preset} impulse {s}->{d}")


def test_interpolation_table_maps_presets_to_cv2_flags():
    for preset, flag in [("opencv.nearest", cv2.INTER_NEAREST),
                         ("opencv.nearest_exact", cv2.INTER_NEAREST_EXACT),
                         ("opencv.linear", cv2.INTER_LINEAR), ("opencv.cubic", cv2.INTER_CUBIC),
                         ("opencv.area", cv2.INTER_AREA), ("opencv.lanczos4", cv2.INTER_LANCZOS4)]:
        assert interpolation_for(step(preset)).code == flag
    assert len({i.code for i in INTERPOLATIONS.values()}) == len(INTERPOLATIONS)


def test_fixed_point_sums_stay_inside_int32():
    """The uint8 passes use C int (int32): bound the worst case of every fixed-point sum.

    Worst horizontal sums: 255 on the positive taps and 0 on the negative ones (and vice versa);
    worst vertical sum: positive weights on rows holding the largest H, negative weights on rows
    holding the most negative H. Measured: cubic 0.72 · 2^31, lanczos4 0.98 · 2^31.
    """
    t = np.linspace(0, 1, 4097, dtype=np.float32)
    for coeffs in (ocv.interpolate_cubic(t), ocv.interpolate_lanczos4(t)):
        w = ocv.fixed_weights(coeffs).astype(np.int64)
        pos = np.where(w > 0, w, 0).sum(1).max()
        neg = -np.where(w < 0, w, 0).sum(1).min()
        v_max = pos * (255 * pos) + neg * (255 * neg)
        assert v_max + (1 << 21) < 2**31


def test_hresize_equals_the_plain_loop():
    """hresize (vectorised/numba apply_taps) equals the literal per-pixel C loop of HResizeCubic /
    HResizeLanczos4, for int16 weights on uint8 and float weights on float32 (STYLE item 5)."""
    rng = np.random.default_rng(3)
    ax = ocv.AxisScale(11, 7)
    k, t = ocv.half_pixel_coords(ax)
    for dtype, weights in ((np.uint8, ocv.fixed_weights(ocv.interpolate_cubic(t))),
                           (np.float32, ocv.interpolate_lanczos4(t))):
        taps = ocv.tap_table(k, weights, 11)
        rows = random_image(rng, (5, 11, 3), dtype)
        acc = np.int32 if dtype == np.uint8 else np.float32
        fast = ocv.hresize(rows, taps)
        plain = np.empty_like(fast)
        for r in range(5):
            for x in range(7):
                for c in range(3):
                    v = acc(rows[r, taps.index[x, 0], c]) * acc(taps.weight[x, 0])
                    for j in range(1, taps.index.shape[1]):
                        v = acc(v + acc(rows[r, taps.index[x, j], c]) * acc(taps.weight[x, j]))
                    plain[r, x, c] = v
        assert np.array_equal(fast, plain)


def test_same_size_is_a_copy():
    img = np.arange(24, dtype=np.uint8).reshape(2, 4, 3)
    for preset in MODES:
        out = resize_opencv(img, 2, 4, step(preset, 2, 4))
        assert np.array_equal(out, img) and out is not img and not np.shares_memory(out, img)


def test_non_contiguous_input_gives_the_same_bytes():
    rng = np.random.default_rng(7)
    big = rng.integers(0, 256, (60, 80, 4), dtype=np.uint8)
    view = big[5:50:2, 3:70, 1:4]  # strided rows, channel slice
    for preset in MODES:
        with ipp(False) if needs_ipp_off(preset, np.uint8) else contextlib.nullcontext():
            theirs = cv2_resize(np.ascontiguousarray(view), 17, 29, preset)
        ours = resize_opencv(view, 17, 29, step(preset, 17, 29))
        assert np.array_equal(ours, theirs), diff_report(ours, theirs, preset)


def test_knobs_opencv_does_not_implement_are_spec_errors():
    img = np.zeros((4, 4, 3), np.uint8)
    with pytest.raises(SpecError, match=r"INTER_CUBIC uses a=-0.75; the step asks cubic_a=-0.5: use "
                                        r"arithmetic='float64'"):
        resize_opencv(img, 2, 2, step("opencv.cubic", 2, 2, cubic_a=-0.5))
    cases = [("opencv.lanczos4", {"lobes": 3}, "lobes"),
             ("opencv.linear", {"antialias": True}, "antialias"),
             ("opencv.linear", {"border": "renormalize"}, "border"),
             ("opencv.area", {"coords": "asymmetric"}, "coords"),
             ("opencv.linear", {"pass_order": "vh"}, "pass_order"),
             ("opencv.cubic", {"intermediate": "uint8"}, "intermediate"),
             ("opencv.linear", {"rounding": "half_up"}, "rounding"),
             ("opencv.linear", {"weights_dtype": "float64"}, "weights_dtype"),
             ("opencv.nearest", {"nearest_index": "coords"}, "nearest_index"),
             ("opencv.linear", {"filter": "box"}, "filter"),
             ("opencv.linear", {"arithmetic": "float64"}, "arithmetic")]
    for preset, knobs, field in cases:
        with pytest.raises(SpecError) as err:
            resize_opencv(img, 2, 2, step(preset, 2, 2, **knobs))
        assert err.value.field == field, str(err.value)
    # knobs without an OpenCV counterpart are ignored: coords for nearest, lobes for cubic, window
    resize_opencv(img, 2, 2, step("opencv.nearest", 2, 2, coords="asymmetric"))
    resize_opencv(img, 2, 2, step("opencv.cubic", 2, 2, lobes=3, window="floor_ceil"))


def test_unsupported_inputs_are_typed_errors():
    s = step("opencv.linear", 2, 2)
    with pytest.raises(UnsupportedFeature, match="uint8 and float32"):
        resize_opencv(np.zeros((4, 4, 3), np.uint16), 2, 2, s)
    with pytest.raises(UnsupportedFeature, match="C = 1..4"):
        resize_opencv(np.zeros((4, 4), np.uint8), 2, 2, s)
    with pytest.raises(ValueError):
        resize_opencv(np.zeros((4, 4, 3), np.uint8), 0, 2, s)
