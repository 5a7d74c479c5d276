"""The ``decode`` op on JPEG (reference/decode.py + reference/jpeg/) against the libraries.

Oracles: Pillow 13 (libjpeg-turbo 3.2.0) and OpenCV 5 (libjpeg-turbo 3.1.2) for the presets,
0 difference (max |diff| per element); jpeglib 1.0.2 running libjpeg-turbo 2.1.0 built without
SIMD (its own C build) for the knobs the wheels cannot switch: ``upsampling="nearest"``
(do_fancy_upsampling FALSE: the merged upsampler for h2v1/h2v2 YCbCr->RGB, replication
otherwise), ``range_limit="wrap"``, ``block_smoothing="off"``, and a comparison figure for
``idct="float"`` against its JDCT_FLOAT (float32 AAN, not the same transform). Every file goes
through :func:`conformance.reference.jpeg.read_jpeg`. Figures are printed (``pytest -s``).
The ``image`` preset (zune-jpeg) has no oracle here (no Rust); tests/test_jpeg_reconstruct.py
checks its formulas by hand.
"""

from __future__ import annotations

import dataclasses
import io
import os
import tempfile
from functools import lru_cache

import cv2
import jpeglib
import numpy as np
from PIL import Image, ImageOps

from conformance import synthetic as syn
from conformance.corpus import photo
from conformance.encoders import jpeg as ej
from conformance.errors import UnsupportedFeature
from conformance.presets import DECODE_PRESETS
from conformance.reference.decode import decode_image
from conformance.reference.jpeg import read_jpeg, reconstruct
from conformance.reference.jpeg.smoothing import smoothing_ok
from conformance.spec import Decode
from jpeg_crafted import JPEGLIB_VERSION, out_of_range_gray_jpeg  # libjpeg-turbo 2.1.0, C build

PILLOW = Decode(**DECODE_PRESETS["pillow"], preset="pillow")
LIBJPEG = Decode(**DECODE_PRESETS["libjpeg-turbo"], preset="libjpeg-turbo")
OPENCV = Decode(**DECODE_PRESETS["opencv"], preset="opencv")
OPENCV_GRAY = Decode(**DECODE_PRESETS["opencv.gray"], preset="opencv.gray")
# libjpeg's JDCT_FLOAT is float32 AAN, ours the exact float64 T.81 transform: each rounds once
# after a slightly different real number, so a sample can differ by a few levels (measured 2).
JDCT_FLOAT_MAX_DIFF = 2


def knobs(base: Decode, **kw) -> Decode:
    return dataclasses.replace(base, **kw)


# ------------------------------------------------------------------------------------------
# Inputs
# ------------------------------------------------------------------------------------------

IMAGES = {  # name -> (H, W, 3) uint8: photos, synthetic patterns, odd sizes
    "astronaut": lambda: photo("astronaut"),
    "chelsea": lambda: photo("chelsea", 4),
    "zone_plate": lambda: syn.zone_plate(67, 45),
    "text": lambda: syn.text_like(29, 43),
    "bars": lambda: syn.colour_bars(17, 13),
    "gradients": lambda: syn.gradients(3, 150),
    "noise": lambda: syn.noise(1, 1),
}


# SOI + a JFIF 1.01 APP0 (length 16, no density, no thumbnail): T.871 §10.1
SOI_JFIF = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"


def jpeglib_write(samples: np.ndarray, *, in_space: str, jpeg_space: str, quality: int) -> bytes:
    """libjpeg (through jpeglib) writing ``jpeg_space`` (YCCK with Adobe transform 2, RGB with
    Adobe transform 0 and ids 'R', 'G', 'B'): files neither Pillow nor OpenCV writes."""
    jpeglib.version.set(JPEGLIB_VERSION)
    im = jpeglib.from_spatial(np.ascontiguousarray(samples),
                              in_color_space=jpeglib.Colorspace[in_space])
    im.jpeg_color_space = jpeglib.Colorspace[jpeg_space]
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "out.jpg")
        im.write_spatial(path, qt=quality)
        with open(path, "rb") as f:
            return f.read()


@lru_cache(maxsize=None)
def matrix() -> tuple[tuple[str, bytes], ...]:
    """Named 8-bit JPEGs covering qualities, samplings, gray, progressive, optimised Huffman
    tables, restart intervals, CMYK/YCCK, Adobe RGB and odd sizes."""
    out = []
    for name, make in IMAGES.items():
        a = make()
        for q in (50, 75, 95):
            for s in ("444", "422", "420"):
                out.append((f"pil.{name}.q{q}.{s}", ej.encode_pillow(a, quality=q, sampling=s)))
        for s in ("440", "411"):
            out.append((f"cv.{name}.q90.{s}", ej.encode_opencv(a, quality=90, sampling=s)))
        out.append((f"pil.{name}.q85.gray", ej.encode_pillow(a[..., 1], quality=85, sampling="gray")))
    z, t = syn.zone_plate(67, 45), syn.text_like(29, 43)
    out += [("pil.zone.prog.420", ej.encode_pillow(z, quality=90, sampling="420", progressive=True)),
            ("cv.text.prog.440", ej.encode_opencv(t, quality=80, sampling="440", progressive=True)),
            ("pil.zone.opt.422", ej.encode_pillow(z, quality=90, sampling="422", optimize=True)),
            ("cv.text.opt.411", ej.encode_opencv(t, quality=70, sampling="411", optimize=True)),
            ("cv.zone.rst1.420", ej.encode_opencv(z, quality=90, sampling="420", restart_blocks=1)),
            ("cv.text.rst3.prog.444", ej.encode_opencv(t, quality=90, sampling="444",
                                                       progressive=True, restart_blocks=3)),
            ("pil.zone.rstrow1.420", ej.encode_pillow(z, quality=90, sampling="420", restart_rows=1)),
            ("pil.text.keeprgb", ej.encode_pillow(t, quality=90, sampling="rgb"))]
    # the same Adobe-RGB file with a JFIF APP0 added: libjpeg then reads YCbCr ("JFIF implies
    # YCbCr" comes first in jdapimin.c default_decompress_parms)
    out.append(("pil.text.keeprgb+jfif", SOI_JFIF + out[-1][1][2:]))
    cmyk = ej.cmyk_bars(24, 40)
    cmyk_noise = syn.noise(21, 34, 4)
    out += [("pil.cmyk.bars", ej.encode_pillow(cmyk, quality=90, sampling="cmyk")),
            ("pil.cmyk.noise", ej.encode_pillow(cmyk_noise, quality=75, sampling="cmyk")),
            ("jl.ycck.bars", jpeglib_write(cmyk, in_space="JCS_CMYK", jpeg_space="JCS_YCCK", quality=90)),
            ("jl.ycck.noise", jpeglib_write(cmyk_noise, in_space="JCS_CMYK", jpeg_space="JCS_YCCK",
                                            quality=80)),
            ("jl.rgb.zone", jpeglib_write(z, in_space="JCS_RGB", jpeg_space="JCS_RGB", quality=90))]
    return tuple(out)


def pillow_rgb(data: bytes, transpose: bool = False) -> np.ndarray:
    im = Image.open(io.BytesIO(data))
    return np.array((ImageOps.exif_transpose(im) if transpose else im).convert("RGB"))


def cv_decode(data: bytes, flags: int) -> np.ndarray:
    a = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    return a[:, :, None] if a.ndim == 2 else a


def jpeglib_decode(data: bytes, **kw) -> np.ndarray:
    jpeglib.version.set(JPEGLIB_VERSION)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "in.jpg")
        with open(path, "wb") as f:
            f.write(data)
        return jpeglib.read_spatial(path, **kw).spatial


class Tally:
    """Files, pixels and the worst |diff| of a comparison, for the printed figures."""

    def __init__(self, label: str):
        self.label, self.files, self.pixels, self.worst, self.where = label, 0, 0, 0, None

    def add(self, name: str, got: np.ndarray, want: np.ndarray) -> None:
        assert got.shape == want.shape, f"{self.label} {name}: shape {got.shape} != {want.shape}"
        assert got.dtype == want.dtype == np.uint8, f"{self.label} {name}: dtype {got.dtype}"
        d = int(np.abs(got.astype(np.int32) - want.astype(np.int32)).max())
        self.files += 1
        self.pixels += got.shape[0] * got.shape[1]
        if self.where is None or d > self.worst:
            self.worst, self.where = d, name

    def report(self) -> str:
        line = f"{self.label}: {self.files} files, {self.pixels} pixels, max |diff| {self.worst}"
        print("\n" + line + (f" ({self.where})" if self.worst else ""))
        return line


# ------------------------------------------------------------------------------------------
# Presets against Pillow and OpenCV
# ------------------------------------------------------------------------------------------


def test_pillow_and_libjpeg_presets_equal_pillow():
    pil, lib = Tally("pillow preset vs Image.open().convert('RGB')"), Tally("libjpeg-turbo preset")
    for name, data in matrix():
        want = pillow_rgb(data)
        pil.add(name, decode_image(data, PILLOW, source=name), want)
        lib.add(name, decode_image(data, LIBJPEG, source=name), want)
    for t in (pil, lib):
        t.report()
        assert t.worst == 0


def test_opencv_presets_equal_imdecode():
    col, gray = Tally("opencv preset vs IMREAD_COLOR"), Tally("opencv.gray vs IMREAD_GRAYSCALE")
    for name, data in matrix():
        col.add(name, decode_image(data, OPENCV, source=name), cv_decode(data, cv2.IMREAD_COLOR))
        gray.add(name, decode_image(data, OPENCV_GRAY, source=name),
                 cv_decode(data, cv2.IMREAD_GRAYSCALE))
    for t in (col, gray):
        t.report()
        assert t.worst == 0


def test_gray_and_unchanged_outputs_equal_pillow():
    """convert('L') = output gray with jpeg_gray from_rgb (L24 of the RGB); output unchanged =
    Pillow's own mode (L: 1 channel, RGB, CMYK: the inverted 'CMYK;I' ink values)."""
    gray = knobs(PILLOW, output="gray", jpeg_gray="from_rgb", gray_arithmetic="pillow_fixed")
    unchanged = knobs(PILLOW, output="unchanged")
    lum, native = Tally("gray from_rgb vs convert('L')"), Tally("unchanged vs Pillow's mode")
    modes = set()
    for name, data in matrix():
        im = Image.open(io.BytesIO(data))
        modes.add(im.mode)
        lum.add(name, decode_image(data, gray, source=name), np.array(im.convert("L"))[:, :, None])
        want = np.array(im)
        native.add(name, decode_image(data, unchanged, source=name),
                   want[:, :, None] if want.ndim == 2 else want)
    assert modes == {"L", "RGB", "CMYK"}
    for t in (lum, native):
        t.report()
        assert t.worst == 0


def test_y_plane_is_libjpegs_gray_output():
    """jpeg_gray y_plane = libjpeg JCS_GRAYSCALE (through jpeglib too, for the non-CMYK files)."""
    step = knobs(LIBJPEG, output="gray", jpeg_gray="y_plane")
    t = Tally("y_plane vs jpeglib JCS_GRAYSCALE")
    for name, data in matrix():
        if "cmyk" in name or "ycck" in name:
            continue  # libjpeg has no CMYK -> gray (OpenCV's own conversion: previous test)
        want = jpeglib_decode(data, out_color_space=jpeglib.Colorspace["JCS_GRAYSCALE"])
        t.add(name, decode_image(data, step, source=name), want)
    t.report()
    assert t.worst == 0


def test_corpus_variants_equal_pillow_and_opencv():
    variants = ej.jpeg_variants(photo)
    pil, col = Tally("corpus: pillow preset"), Tally("corpus: opencv preset")
    gray = Tally("corpus: opencv.gray preset")
    refused = 0
    for v in variants:
        pil.add(v.id, decode_image(v.data, PILLOW, source=v.id), pillow_rgb(v.data))
        for tally, step, flag in ((col, OPENCV, cv2.IMREAD_COLOR), (gray, OPENCV_GRAY, cv2.IMREAD_GRAYSCALE)):
            try:
                ours = decode_image(v.data, step, source=v.id)
            except UnsupportedFeature:  # lossless_color: libjpeg refuses the conversion; so does cv2
                assert "lossless" in v.tags and cv2.imdecode(np.frombuffer(v.data, np.uint8), flag) is None
                refused += 1
                continue
            tally.add(v.id, ours, cv_decode(v.data, flag))
    for t in (pil, col, gray):
        t.report()
        assert t.worst == 0
    assert pil.files == len(variants) >= 40 and refused == 4


def test_exif_orientation():
    """Orientations 0-9 (0 and 9: invalid, ignored by everyone) on 4:2:0 and 4:4:4 files."""
    a = syn.gradients(13, 22)
    checks = {"orientation apply vs exif_transpose": (knobs(PILLOW, orientation="apply"),
                                                      lambda d: pillow_rgb(d, transpose=True)),
              "pillow ignores": (PILLOW, pillow_rgb),
              "opencv applies": (OPENCV, lambda d: cv_decode(d, cv2.IMREAD_COLOR)),
              "opencv.gray applies": (OPENCV_GRAY, lambda d: cv_decode(d, cv2.IMREAD_GRAYSCALE))}
    tallies = {label: Tally(label) for label in checks}
    for orientation in range(0, 10):
        for s in ("420", "444"):
            data = ej.encode_pillow(a, quality=90, sampling=s, exif=ej.exif_app1(orientation))
            name = f"exif{orientation}.{s}"
            for label, (step, oracle) in checks.items():
                tallies[label].add(name, decode_image(data, step, source=name), oracle(data))
            rotated = orientation in (5, 6, 7, 8)
            assert decode_image(data, OPENCV).shape[:2] == ((22, 13) if rotated else (13, 22))
    for t in tallies.values():
        t.report()
        assert t.worst == 0


# ------------------------------------------------------------------------------------------
# Block smoothing: progressive files cut at scan boundaries
# ------------------------------------------------------------------------------------------


@lru_cache(maxsize=None)
def cut_progressive_files() -> tuple[tuple[str, bytes], ...]:
    """Every prefix of whole scans (+ EOI) of a few progressive files: valid files with fewer
    scans (encoders.jpeg.keep_scans)."""
    sources = {"zone": syn.zone_plate(67, 45), "astronaut": photo("astronaut"),
               "text": syn.text_like(29, 43)}
    out = []
    for name, a in sources.items():
        files = [(s, ej.encode_pillow(a, quality=85, sampling=s, progressive=True))
                 for s in ("444", "422", "420")]
        files.append(("440", ej.encode_opencv(a, quality=85, sampling="440", progressive=True)))
        files.append(("gray", ej.encode_pillow(a[..., 0], quality=85, sampling="gray",
                                               progressive=True)))
        for s, data in files:
            n = len(ej.find(data, ej.SOS))
            out += [(f"{name}.{s}.scans{k}of{n}", ej.keep_scans(data, k)) for k in range(1, n + 1)]
    return tuple(out)


def test_block_smoothing_equals_pillow_and_opencv():
    pil, cvt = Tally("smoothing: pillow preset"), Tally("smoothing: opencv preset")
    off = Tally("block_smoothing off vs Pillow")
    smoothed = 0
    for name, data in cut_progressive_files():
        smoothed += smoothing_ok(read_jpeg(data, source=name))
        want = pillow_rgb(data)
        pil.add(name, decode_image(data, PILLOW, source=name), want)
        cvt.add(name, decode_image(data, OPENCV, source=name), cv_decode(data, cv2.IMREAD_COLOR))
        off.add(name, decode_image(data, knobs(PILLOW, block_smoothing="off"), source=name), want)
    print(f"\n{smoothed} of {pil.files} files are smoothed (smoothing_ok)")
    for t in (pil, cvt, off):
        t.report()
    assert pil.worst == 0 and cvt.worst == 0
    assert smoothed > pil.files // 2 and off.worst > 0  # the knob is exercised and matters


def test_block_smoothing_off_equals_libjpeg_without_smoothing():
    t = Tally("smoothing off vs jpeglib -DO_BLOCK_SMOOTHING")
    step = knobs(LIBJPEG, block_smoothing="off")
    for name, data in cut_progressive_files()[::3]:
        t.add(name, decode_image(data, step, source=name),
              _rgb(jpeglib_decode(data, flags=["-DO_BLOCK_SMOOTHING"])))
    t.report()
    assert t.worst == 0

# ------------------------------------------------------------------------------------------
# jpeglib as the oracle of the non-default knobs
# ------------------------------------------------------------------------------------------


def _color_files():
    """The matrix files libjpeg decodes to RGB by default (not CMYK/YCCK)."""
    return [(n, d) for n, d in matrix() if "cmyk" not in n and "ycck" not in n]


def _rgb(a: np.ndarray) -> np.ndarray:
    return np.repeat(a, 3, axis=2) if a.shape[2] == 1 else a


def test_islow_fancy_and_nearest_equal_libjpeg_2_1():
    fancy, nearest = Tally("islow+fancy vs jpeglib default"), Tally("islow+nearest vs jpeglib "
                                                                      "do_fancy_upsampling=FALSE")
    for name, data in _color_files():
        fancy.add(name, decode_image(data, LIBJPEG, source=name), _rgb(jpeglib_decode(data)))
        nearest.add(name, decode_image(data, knobs(LIBJPEG, upsampling="nearest"), source=name),
                    _rgb(jpeglib_decode(data, flags=["-DO_FANCY_UPSAMPLING"])))
    for t in (fancy, nearest):
        t.report()
        assert t.worst == 0


def test_float_idct_against_libjpeg_jdct_float():
    """Not the same transform (libjpeg: float32 AAN): the figure is reported and bounded."""
    t = Tally("idct=float vs jpeglib JDCT_FLOAT")
    differing = total = 0
    for name, data in _color_files():
        got = decode_image(data, knobs(LIBJPEG, idct="float"), source=name)
        want = _rgb(jpeglib_decode(data, dct_method=jpeglib.JDCT_FLOAT))
        t.add(name, got, want)
        differing += int(np.count_nonzero(got != want))
        total += got.size
    t.report()
    print(f"samples differing: {differing} of {total} ({100 * differing / total:.4f} %)")
    assert 0 < t.worst <= JDCT_FLOAT_MAX_DIFF


def test_range_limit():
    """DC values of ±2000·Q/8 ≈ ±750 (Q = 3): the SIMD wheels saturate (255/0), libjpeg's C
    table wraps mod 1024 (0/255); jpeglib's build is the C one."""
    data = out_of_range_gray_jpeg()
    gray = knobs(LIBJPEG, output="gray", jpeg_gray="y_plane")
    sat = decode_image(data, gray)
    wrap = decode_image(data, knobs(gray, range_limit="wrap"))
    assert sat[::8, ::8, 0].tolist() == [[255, 255], [255, 0]]
    assert wrap[::8, ::8, 0].tolist() == [[0, 0], [255, 255]]
    assert np.array_equal(sat, np.array(Image.open(io.BytesIO(data)))[:, :, None])
    assert np.array_equal(sat, cv_decode(data, cv2.IMREAD_GRAYSCALE))
    assert np.array_equal(wrap, jpeglib_decode(data))


def test_image_preset_runs_on_every_colour_space():
    """No oracle (zune-jpeg is Rust): the preset decodes every file to RGB of the right size."""
    step = Decode(**DECODE_PRESETS["image"], preset="image")
    for name, data in matrix():
        out = decode_image(data, step, source=name)
        assert out.shape == pillow_rgb(data).shape and out.dtype == np.uint8, name


def test_reconstruct_colour_models():
    """reconstruct() directly: native/rgb/gray shapes per colour space."""
    by = dict(matrix())
    cases = {"pil.astronaut.q75.420": (3, 3, 1), "pil.astronaut.q85.gray": (1, 3, 1),
             "pil.cmyk.bars": (4, 3, 1), "jl.ycck.bars": (4, 3, 1), "jl.rgb.zone": (3, 3, 1)}
    for name, (native, rgb, gray) in cases.items():
        im = read_jpeg(by[name], source=name)
        assert reconstruct(im, colour="native").shape[2] == native
        assert reconstruct(im, colour="rgb").shape[2] == rgb
        assert reconstruct(im, colour="gray").shape[2] == gray


def test_entropy_decoding_is_cached_and_the_cache_is_read_only():
    """One entropy decode per file and process: a second decode under other knobs reuses the
    coefficients, which are read-only so a reconstruction cannot corrupt them."""
    from conformance.corpus import jpeg_inputs
    from conformance.reference.decode import decode_image, read_jpeg_cached
    from conformance.spec import make_step

    data = next(i.data for i in jpeg_inputs(photos=False) if "jpeg_420" in i.tags)
    read_jpeg_cached.cache_clear()
    a = decode_image(data, make_step({"op": "decode", "preset": "pillow"}), source="t.jpg")
    b = decode_image(data, make_step({"op": "decode", "preset": "pillow", "upsampling": "nearest"}),
                     source="t.jpg")
    info = read_jpeg_cached.cache_info()
    assert (info.hits, info.misses) == (1, 1) and a.shape == b.shape
    image = read_jpeg_cached(data, "t.jpg", 1 << 26)
    assert not image.components[0].coefficients.flags.writeable
    # the header probe's strict read and a recovering decode (on_corrupt) share it too
    from conformance.generate import input_header

    read_jpeg_cached.cache_clear()
    input_header(data, "t.jpg")
    decode_image(data, make_step({"op": "decode", "preset": "pillow", "on_corrupt": "libjpeg-turbo"}),
                 source="t.jpg")
    info = read_jpeg_cached.cache_info()
    assert (info.hits, info.misses) == (1, 1)


def test_pillow_draft_at_scale_one_is_the_pillow_preset():
    """Pillow 13's draft() passes decoderconfig (scale, 0): JpegDecode.c's draft flag (ifast
    IDCT, no fancy upsampling) stays off, so a draft that keeps the size is the pillow preset."""
    for sampling in ("420", "444"):
        data = ej.encode_pillow(syn.gradients(21, 34), quality=85, sampling=sampling)
        im = Image.open(io.BytesIO(data))
        im.draft("RGB", im.size)
        assert im.decoderconfig == (1, 0)
        assert np.array_equal(np.array(im.convert("RGB")), decode_image(data, PILLOW))
