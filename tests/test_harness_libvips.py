"""libvips (the ``libvips`` harness, the ``[libvips]`` extra: pyvips + pyvips-binary) against the
reference's ``libvips.*`` presets.

1. ``vips_resize`` downsizing is the ``libvips.lanczos3/cubic/linear/nearest`` presets bit for bit
   (``window="vips"``, reference/resize/vips.py): seeded random sizes (1, 3 and 4 channels, sizes
   down to 1 pixel, each axis alone, tall images whose vertical pass spans several 16-row strips),
   with vips_resize's default gap 2 and with gap 0 (no box pre-shrink), and corpus photos; the
   box pre-shrink (``vips_shrinkh/v``) on its own; and libvips' SIMD (highway) kernels against its
   C paths.
2. ``colourspace("b-w")`` is ``arithmetic="vips_linear"`` on all 2^24 RGB triples.
3. The ``libvips`` decode preset is what ``new_from_buffer`` returns on every corpus PNG, JPEG and
   WebP (rgb, gray, bgr with EXIF rotation), except the CMYK JPEG (named below).
4. Upsizing with cubic and lanczos3 (vips_affine + the bicubic interpolator) is the presets bit
   for bit, mixes of enlarged, reduced and kept axes included; linear and nearest upsizing are
   refused by the reference, and libvips' half-pixel shift of a kept axis is pinned.

Metric: max abs difference per element; 0 unless a case is named.
"""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

pyvips = pytest.importorskip("pyvips")

from conformance.corpus import builtin_corpus, photo  # noqa: E402
from conformance.errors import SpecError  # noqa: E402
from conformance.harnesses import Unsupported, load  # noqa: E402
from conformance.harnesses.libvips import _libvips_path, from_vips, to_vips  # noqa: E402
from conformance.reference.color import vips_luma  # noqa: E402
from conformance.reference.decode import decode_image  # noqa: E402
from conformance.reference.resize import resize  # noqa: E402
from conformance.reference.resize.vips import shrink_box  # noqa: E402
from conformance.spec import make_step  # noqa: E402

KERNELS = ("lanczos3", "cubic", "linear", "nearest")
# libvips converts CMYK to sRGB through lcms with its built-in CMYK profile: no cmyk_rgb formula
CMYK_FILE = "jpeg.pillow.q90.cmyk.seq.cmyk_bars.24x40"


@pytest.fixture(scope="module")
def harness():
    return load("libvips")


def _diff(a: np.ndarray, b: np.ndarray) -> int | str:
    if a.shape != b.shape or a.dtype != b.dtype:
        return f"{a.dtype}{list(a.shape)} vs {b.dtype}{list(b.shape)}"
    return int(np.abs(a.astype(np.int64) - b.astype(np.int64)).max()) if a.size else 0


def _resize_both(harness, kernel: str, image: np.ndarray, h: int, w: int, **knobs):
    step = make_step({"op": "resize", "preset": f"libvips.{kernel}", "height": h, "width": w, **knobs})
    return harness.run(step.knobs(), image), resize(image, step)


def _random_downsizes(seed: int, n: int):
    """(image, out_h, out_w): arbitrary pairs, one axis alone, 1-pixel outputs, large factors."""
    rng = np.random.default_rng(seed)
    for i in range(n):
        h, w = int(rng.integers(1, 90)), int(rng.integers(1, 90))
        kind = i % 4
        if kind == 0:
            oh, ow = int(rng.integers(1, h + 1)), int(rng.integers(1, w + 1))
        elif kind == 1:
            oh, ow = int(rng.integers(1, h + 1)), w  # vertical only
        elif kind == 2:
            oh, ow = h, int(rng.integers(1, w + 1))  # horizontal only
        else:
            oh, ow = max(1, h // int(rng.integers(2, 9))), max(1, w // int(rng.integers(2, 9)))
        if (oh, ow) == (h, w):
            continue
        c = (1, 3, 4)[i % 3]
        yield rng.integers(0, 256, (h, w, c), dtype=np.uint8), oh, ow


@pytest.mark.parametrize("kernel", KERNELS)
def test_vips_resize_downsizing_is_the_preset_on_random_sizes(harness, kernel):
    for n, (image, oh, ow) in enumerate(_random_downsizes(21, 48)):
        got, want = _resize_both(harness, kernel, image, oh, ow)
        assert _diff(got, want) == 0, (n, image.shape, oh, ow)


@pytest.mark.parametrize("kernel", ("lanczos3", "linear"))
def test_without_the_box_pre_shrink(harness, kernel):
    """reducing_gap = 0 is vips_resize(gap=0): one convolution of the whole factor."""
    for n, (image, oh, ow) in enumerate(_random_downsizes(5, 24)):
        got, want = _resize_both(harness, kernel, image, oh, ow, reducing_gap=0.0)
        assert _diff(got, want) == 0, (n, image.shape, oh, ow)


@pytest.mark.parametrize("kernel", KERNELS)
def test_tall_images_span_several_vertical_strips(harness, kernel):
    """The vertical reduce restarts its position sum every 16 output rows (libvips' regions).
    The accumulated position differs from the restarted one by an ulp or so, which changes the
    pixel only where it lands on an integer (nearest) or a 1/128 boundary (the kernel table):
    the first size pairs where strips of 8, 16, 32 rows and one running sum pick different
    nearest rows are pinned, plus random tall images."""
    for h, oh in ((40, 30), (40, 35), (42, 35), (44, 33)):
        image = np.arange(h, dtype=np.uint8).reshape(h, 1, 1).repeat(3, axis=1)
        got, want = _resize_both(harness, kernel, image, oh, 3)
        assert _diff(got, want) == 0, (h, oh)
    rng = np.random.default_rng(8)
    for n in range(6):
        h, w = int(rng.integers(60, 400)), int(rng.integers(2, 40))
        oh = int(rng.integers(h // 2 + 1, h))  # a factor below 2: no pre-shrink, all in the reduce
        image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        got, want = _resize_both(harness, kernel, image, oh, max(1, w - 1))
        assert _diff(got, want) == 0, (n, image.shape, oh)


@pytest.mark.parametrize("name", ["astronaut", "chelsea", "coffee"])
def test_vips_resize_on_photos(harness, name):
    image = photo(name)
    h, w = image.shape[:2]
    for kernel in KERNELS:
        for oh, ow in ((h // 2, w // 2), (max(1, h * 3 // 7), max(1, w * 2 // 5)), (h - 1, w // 3)):
            got, want = _resize_both(harness, kernel, image, oh, ow)
            assert _diff(got, want) == 0, (kernel, oh, ow)


def test_thumbnail_of_a_png_is_decode_then_resize():
    """vips_thumbnail_buffer(size="force") of an opaque 8-bit PNG (no shrink-on-load: that is
    JPEG's and WebP's) is the libvips decode then libvips.lanczos3, bit for bit."""
    rng = np.random.default_rng(1)
    decode = make_step({"op": "decode", "preset": "libvips", "output": "unchanged"})  # gray stays gray
    items = [i for i in builtin_corpus() if i.expect == "ok" and i.media_type == "image/png"
             and (i.id.startswith("photo.") or i.id.startswith("png.rgb8_filter"))]
    assert len(items) >= 6
    for item in items:
        image = decode_image(item.data, decode, source=item.id)
        h, w = image.shape[:2]
        oh, ow = int(rng.integers(1, h + 1)), int(rng.integers(1, w + 1))
        got = from_vips(pyvips.Image.thumbnail_buffer(item.data, ow, height=oh, size="force"))
        want = resize(image, make_step({"op": "resize", "preset": "libvips.lanczos3", "height": oh,
                                        "width": ow}))
        assert _diff(got, want) == 0, (item.id, oh, ow)


def test_box_pre_shrink_is_vips_shrinkh_and_shrinkv():
    """(Σ + k/2)·⌊2^32/(256k)⌋ >> 24, edge-padded last block: e.g. k=7, Σ=1110 gives 158."""
    rng = np.random.default_rng(2)
    for k in range(2, 10):
        for c in (1, 3, 4):
            image = rng.integers(0, 256, (11, 37, c), dtype=np.uint8)
            h = from_vips(to_vips(image).shrinkh(k, ceil=True))
            v = from_vips(to_vips(image).shrinkv(k, ceil=True))
            assert _diff(h, shrink_box(image, 1, k)) == 0, (k, c)
            assert _diff(v, shrink_box(image, 0, k)) == 0, (k, c)
    row = np.array([159] * 4 + [158] * 3, dtype=np.uint8).reshape(1, 7, 1)  # Σ = 1110: 158.57
    assert shrink_box(row, 1, 7)[0, 0, 0] == 158 == from_vips(to_vips(row).shrinkh(7))[0, 0, 0]


def test_simd_kernels_compute_what_the_c_paths_do(harness):
    """libvips' highway kernels (reduceh/v, shrinkh/v for uchar) against its C paths."""
    lib = ctypes.CDLL(str(_libvips_path()))
    if not lib.vips_vector_isenabled():
        pytest.skip("this libvips runs without SIMD")
    rng = np.random.default_rng(4)
    cases = [(rng.integers(0, 256, (int(rng.integers(20, 80)), int(rng.integers(20, 80)), 3),
                           dtype=np.uint8), k) for k in KERNELS]
    simd = [harness.run(make_step({"op": "resize", "preset": f"libvips.{k}", "height": 17,
                                   "width": 13}).knobs(), im) for im, k in cases]
    lib.vips_vector_set_enabled(0)
    try:
        plain = [harness.run(make_step({"op": "resize", "preset": f"libvips.{k}", "height": 17,
                                        "width": 13}).knobs(), im) for im, k in cases]
    finally:
        lib.vips_vector_set_enabled(1)
    assert all(_diff(a, b) == 0 for a, b in zip(simd, plain))


@pytest.mark.parametrize("kernel", ("cubic", "lanczos3"))
def test_upsizing_is_the_bicubic_affine(harness, kernel):
    """vips_resize enlarges with vips_affine + VipsInterpolateBicubic (cubic and lanczos3 alike):
    both axes enlarged, one enlarged and one reduced, one enlarged and one kept."""
    rng = np.random.default_rng(9)
    for n in range(36):
        h, w, c = int(rng.integers(1, 50)), int(rng.integers(1, 50)), (1, 3, 4)[n % 3]
        oh = int(rng.integers(h + 1, 3 * h + 2))
        ow = (int(rng.integers(w + 1, 3 * w + 2)), int(rng.integers(1, w + 1)), w)[n % 3]
        image = rng.integers(0, 256, (h, w, c), dtype=np.uint8)
        got, want = _resize_both(harness, kernel, image, oh, ow)
        assert _diff(got, want) == 0, (n, image.shape, oh, ow)
    # sizes whose positions j/scale - 0.5 fall on odd 1/128 boundaries of the 1/64 grid, where
    # an ulp in the position moves the kernel table by one entry
    for s, d in ((3, 128), (5, 128), (7, 256), (6, 128), (9, 128)):
        image = rng.integers(0, 256, (s, s, 3), dtype=np.uint8)
        got, want = _resize_both(harness, kernel, image, d, d)
        assert _diff(got, want) == 0, (s, d)


def test_upsizing_keeps_the_rows_unclipped_between_the_passes(harness):
    """bicubic_unsigned_int rounds each row sum without clipping: on a black/white edge the
    Catmull-Rom overshoot (-1.6 % per side) survives the horizontal pass; clipping it there
    changes the output (this pins that the reference does not)."""
    image = np.zeros((4, 6, 1), dtype=np.uint8)
    image[:, 3:] = 255
    image[2:, :] = 255 - image[2:, :]
    step = make_step({"op": "resize", "preset": "libvips.cubic", "height": 11, "width": 13})
    got, want = harness.run(step.knobs(), image), resize(image, step)
    assert _diff(got, want) == 0
    from conformance.reference.resize.vips import affine_bicubic_taps
    from conformance.reference.resize.taps import apply_taps
    tx, ty = affine_bicubic_taps(6, 13, 13 / 6), affine_bicubic_taps(4, 11, 11 / 4)
    rows = np.clip((apply_taps(image, tx, 1, acc_dtype=np.int64).astype(np.int64) + 2048) >> 12, 0, 255)
    clipped = np.clip((apply_taps(rows, ty, 0, acc_dtype=np.int64).astype(np.int64) + 2048) >> 12, 0, 255)
    assert _diff(got, clipped.astype(np.uint8)) != 0


def test_linear_and_nearest_upsizing_are_refused_and_libvips_shifts_the_kept_axis(harness):
    image = np.zeros((9, 9, 1), dtype=np.uint8)
    image[4, 4, 0] = 255
    step = make_step({"op": "resize", "preset": "libvips.linear", "height": 9, "width": 18})
    with pytest.raises(SpecError, match="upsizing"):
        resize(image, step)
    with pytest.raises(SpecError, match="upsizing"):
        resize(image, make_step({"op": "resize", "preset": "libvips.nearest", "height": 13, "width": 9}))
    got = harness.run(step.knobs(), image)[:, :, 0]
    # vips_affine samples x = j/scale - 0.5 on both axes: the unchanged vertical axis is read
    # half a pixel up, so the impulse row is split over rows 4 and 5
    assert got[4, 9] == got[5, 9] == 128 and got[3:6, 8].tolist() == [0, 64, 64]


def test_b_w_is_vips_linear_on_every_rgb_triple(harness):
    v = np.arange(1 << 24, dtype=np.uint32)
    rgb = np.stack([(v >> 16) & 255, (v >> 8) & 255, v & 255], axis=-1).astype(np.uint8)
    rgb = rgb.reshape(4096, 4096, 3)
    step = make_step({"op": "color", "preset": "libvips.gray"})
    got = harness.run(step.knobs(), rgb)
    assert got.shape == (4096, 4096, 1)
    assert int((got != vips_luma(rgb)).sum()) == 0


@pytest.mark.parametrize("knobs", [{"output": "rgb"}, {"output": "gray"},
                                   {"output": "bgr", "orientation": "apply"},
                                   {"output": "unchanged", "alpha": "keep", "depth16": "keep",
                                    "trns": "apply"}])
def test_decode_preset_is_new_from_buffer_on_the_corpus(harness, knobs):
    step = make_step({"op": "decode", "preset": "libvips", **knobs})
    compared, differ = 0, {}
    for item in builtin_corpus():
        if item.expect != "ok" or item.media_type not in ("image/jpeg", "image/png", "image/webp"):
            continue
        try:
            got = harness.run(step.knobs(), item.data)
        except pyvips.Error:
            continue  # 12-bit JPEG: this libjpeg is 8-bit only
        compared += 1
        d = _diff(decode_image(item.data, step, source=item.id), got)
        if d != 0:
            differ[item.id] = d
    assert compared >= 140
    # 'unchanged' keeps the CMYK ink as loaded (libvips inverts Adobe CMYK, as adobe_inverted)
    assert set(differ) == (set() if knobs["output"] == "unchanged" else {CMYK_FILE}), differ


@pytest.mark.parametrize("scale", [2, 4, 8])
def test_shrink_on_load_is_dct_scale_cropped_to_whole_pixels(harness, scale):
    """jpegload(shrink=N) is libjpeg's DCT scaling (the reference's dct_scale) on every corpus
    colour JPEG, cropped to floor(W/N) x floor(H/N) where libjpeg keeps ceil(W/N) x ceil(H/N);
    on a lossless JPEG (which libjpeg does not scale) it is the full image's top-left corner."""
    step = make_step({"op": "decode", "preset": "libvips", "dct_scale": scale})
    compared, cropped = 0, 0
    for item in builtin_corpus():
        if item.expect != "ok" or item.media_type != "image/jpeg" or ".cmyk." in item.id:
            continue
        try:
            got = harness.run(step.knobs(), item.data)
        except (Unsupported, pyvips.Error):
            continue  # smaller than N pixels (libvips refuses), 12-bit
        want = decode_image(item.data, step, source=item.id)
        full = pyvips.Image.new_from_buffer(item.data, "")
        h, w = got.shape[:2]
        assert (h, w) == (full.height // scale, full.width // scale), item.id
        if ".lossless." in item.id:
            # libjpeg does not scale lossless frames (the reference: full size), and libvips
            # still takes floor(W/N) x floor(H/N): the top-left corner of the full image
            assert want.shape[:2] == (full.height, full.width), item.id
        else:
            assert want.shape[:2] == (-(-full.height // scale), -(-full.width // scale)), item.id
        assert _diff(got, want[:h, :w]) == 0, item.id
        compared += 1
        cropped += (h, w) != want.shape[:2]
    assert compared >= 40 and cropped >= 20


def test_the_harness_names_its_calls_and_what_it_cannot_do(harness):
    resize_step = make_step({"op": "resize", "preset": "libvips.lanczos3", "height": 4, "width": 4}).knobs()
    assert harness.check(resize_step) is None
    assert "kernel='lanczos3'" in harness.describe(resize_step) and "gap=2.0" in harness.describe(resize_step)
    pillow = make_step({"op": "resize", "preset": "pillow.bilinear", "height": 4, "width": 4}).knobs()
    assert "gap=0.0" in harness.describe(pillow)  # Pillow's semantics have no pre-shrink
    box = make_step({"op": "resize", "preset": "pillow.box", "height": 4, "width": 4}).knobs()
    assert "no box kernel" in harness.check(box)
    assert "YCbCr" in harness.check(make_step({"op": "color", "conversion": "rgb_to_ycbcr"}).knobs())
    assert "decode, resize and color" in harness.check(
        make_step({"op": "crop", "mode": "center", "height": 2, "width": 2}).knobs())
    v = harness.versions()
    assert v["libvips"] == ".".join(str(pyvips.version(i)) for i in range(3))
    assert v["libvips"].count(".") == 2 and v["pyvips"] == pyvips.__version__
    assert "version" not in v["libjpeg"] and v["libjpeg"] != "unknown"
