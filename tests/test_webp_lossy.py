"""WebP lossy (VP8 key frame) decoding and libwebp's YUV -> RGB conversion, against libwebp.

Oracles: Pillow 13 (libwebp 1.6 through WebPAnimDecoder) and OpenCV (libwebp through
WebPDecode), both with libwebp's default fancy upsampling; metric: max abs difference per
channel element, tolerance 0 (the decoder claims bit-exactness).

Test files are made on the fly (nothing stored): Pillow's encoder (quality x method), OpenCV's
encoder (quality), and -- to reach encoder settings that neither exposes (simple loop filter,
2/4/8 token partitions, sharpness > 0, 1 segment) -- the system libwebp encoder through ctypes
(WebPConfig fields set directly; skipped when that library is absent). Images: skimage photos
(astronaut, chelsea, coffee) cropped to odd sizes, noise, flat, gradients.

The "nearest" upsampling knob has no Python oracle (Pillow and OpenCV expose no
no_fancy_upsampling option; Pillow's ``draft`` does nothing for WebP): it is checked on a
hand-computed golden. The Y/U/V planes have no oracle either (libwebp returns RGB only here).
"""

from __future__ import annotations

import ctypes
import io
import os
import time
import warnings as _warnings

import numpy as np
import pytest

from conformance.errors import DecodeError, LimitsExceeded, SpecError, UnsupportedFeature
from conformance.reference.webp.vp8 import decode_vp8
from conformance.reference.webp.yuv import (upsample_fancy, yuv420_to_rgb, yuv_to_rgb_pixels)

PIL = pytest.importorskip("PIL.Image")
cv2 = pytest.importorskip("cv2")
skdata = pytest.importorskip("skimage.data")

TOLERANCE = 0  # max abs difference per element vs libwebp: bit-exact
MAX_PIXELS = 1 << 26
EXPECTED_ERRORS = (DecodeError, UnsupportedFeature, LimitsExceeded)


# ---------------------------------------------------------------------------------------------
# Minimal RIFF handling for the tests (the real parser is conformance/reference/webp/container)
# ---------------------------------------------------------------------------------------------


def vp8_payload(webp: bytes) -> bytes:
    """The payload of the 'VP8 ' chunk of a simple or VP8X WebP file."""
    assert webp[:4] == b"RIFF" and webp[8:12] == b"WEBP", "not a RIFF WEBP file"
    riff_size = int.from_bytes(webp[4:8], "little")
    assert riff_size + 8 <= len(webp)
    pos = 12
    while pos + 8 <= len(webp):
        cid = webp[pos:pos + 4]
        size = int.from_bytes(webp[pos + 4:pos + 8], "little")
        if cid == b"VP8 ":
            return webp[pos + 8:pos + 8 + size]
        assert cid in (b"VP8X", b"ALPH", b"ICCP", b"EXIF", b"XMP "), cid
        pos += 8 + size + (size & 1)
    raise AssertionError("no 'VP8 ' chunk")


def wrap_vp8(payload: bytes) -> bytes:
    """A simple-format WebP file holding ``payload`` as its 'VP8 ' chunk (RFC 9649 §2.5)."""
    pad = b"\0" if len(payload) & 1 else b""
    body = b"WEBP" + b"VP8 " + len(payload).to_bytes(4, "little") + payload + pad
    return b"RIFF" + len(body).to_bytes(4, "little") + body


def decode_rgb(webp: bytes, **kw) -> np.ndarray:
    f = decode_vp8(vp8_payload(webp), source="test.webp", max_pixels=MAX_PIXELS, **kw)
    return yuv420_to_rgb(f.y, f.u, f.v)


def pillow_rgb(webp: bytes) -> np.ndarray:
    from PIL import Image
    with Image.open(io.BytesIO(webp)) as im:
        return np.array(im.convert("RGB"))


def opencv_rgb(webp: bytes) -> np.ndarray:
    bgr = cv2.imdecode(np.frombuffer(webp, np.uint8), cv2.IMREAD_COLOR)
    return bgr[:, :, ::-1]


def worst(a: np.ndarray, b: np.ndarray) -> str:
    d = np.abs(a.astype(int) - b.astype(int))
    y, x, c = np.unravel_index(np.argmax(d), d.shape)
    return f"max diff {d.max()} at (row {y}, col {x}, ch {c}): ours {a[y, x]} vs libwebp {b[y, x]}"


# ---------------------------------------------------------------------------------------------
# Encoders
# ---------------------------------------------------------------------------------------------


def pillow_encode(rgb: np.ndarray, quality: int, method: int) -> bytes:
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "WEBP", quality=quality, method=method)
    return buf.getvalue()


def opencv_encode(rgb: np.ndarray, quality: int) -> bytes:
    ok, enc = cv2.imencode(".webp", np.ascontiguousarray(rgb[:, :, ::-1]),
                           [cv2.IMWRITE_WEBP_QUALITY, quality])
    assert ok
    return enc.tobytes()


LIBWEBP_PATH = "/usr/lib/x86_64-linux-gnu/libwebp.so.7"
WEBP_ENCODER_ABI = 0x0200  # only the major byte is checked (WEBP_ABI_IS_INCOMPATIBLE)
# WebPConfig (encode.h) int fields by index: what Pillow/OpenCV do not expose.
CONFIG_FIELDS = {"method": 2, "segments": 6, "sns_strength": 7, "filter_strength": 8,
                 "filter_sharpness": 9, "filter_type": 10, "autofilter": 11, "partitions": 18}
# WebPPicture (encode.h, 64-bit): use_argb @0, width @8, height @12, writer @96, custom_ptr @104.
PIC_USE_ARGB, PIC_WIDTH, PIC_HEIGHT, PIC_WRITER, PIC_CUSTOM_PTR = 0, 8, 12, 96, 104


def libwebp_encode(rgb: np.ndarray, quality: float, **fields) -> bytes | None:
    """Encode with the system libwebp through its advanced API (WebPConfig), or None."""
    if not os.path.exists(LIBWEBP_PATH) or ctypes.sizeof(ctypes.c_void_p) != 8:
        return None
    lib = ctypes.CDLL(LIBWEBP_PATH)
    cfg = ctypes.create_string_buffer(512)
    if not lib.WebPConfigInitInternal(cfg, 0, ctypes.c_float(quality), WEBP_ENCODER_ABI):
        return None
    for name, value in fields.items():
        ctypes.c_int.from_buffer(cfg, 4 * CONFIG_FIELDS[name]).value = value
    if not lib.WebPValidateConfig(cfg):
        return None
    pic = ctypes.create_string_buffer(1024)
    if not lib.WebPPictureInitInternal(pic, WEBP_ENCODER_ABI):
        return None
    h, w, _ = rgb.shape
    ctypes.c_int.from_buffer(pic, PIC_USE_ARGB).value = 0
    ctypes.c_int.from_buffer(pic, PIC_WIDTH).value = w
    ctypes.c_int.from_buffer(pic, PIC_HEIGHT).value = h
    rgb = np.ascontiguousarray(rgb)
    writer = ctypes.create_string_buffer(64)
    try:
        if not lib.WebPPictureImportRGB(pic, rgb.ctypes.data_as(ctypes.c_void_p), 3 * w):
            return None
        lib.WebPMemoryWriterInit(writer)
        ctypes.c_void_p.from_buffer(pic, PIC_WRITER).value = ctypes.cast(
            lib.WebPMemoryWrite, ctypes.c_void_p).value
        ctypes.c_void_p.from_buffer(pic, PIC_CUSTOM_PTR).value = ctypes.addressof(writer)
        if not lib.WebPEncode(cfg, pic):
            return None
        mem = ctypes.c_void_p.from_buffer(writer, 0).value
        size = ctypes.c_size_t.from_buffer(writer, 8).value
        return ctypes.string_at(mem, size)
    finally:
        lib.WebPPictureFree(pic)
        lib.WebPMemoryWriterClear(writer)


# ---------------------------------------------------------------------------------------------
# Corpus
# ---------------------------------------------------------------------------------------------

SIZES = [(1, 1), (9, 17), (65, 33), (95, 127), (375, 500)]  # (height, width)


def images() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(6386)
    astro, chelsea, coffee = skdata.astronaut(), skdata.chelsea(), skdata.coffee()
    out = {}
    for h, w in SIZES:
        out[f"astronaut_{w}x{h}"] = astro[100:100 + h, 150:150 + w]
    out["chelsea_127x95"] = chelsea[50:145, 100:227]
    out["coffee_500x375"] = coffee[:375, :500]
    out["noise_33x65"] = rng.integers(0, 256, (65, 33, 3), dtype=np.uint8)
    out["noise_100x70"] = rng.integers(0, 256, (70, 100, 3), dtype=np.uint8)
    out["flat_40x24"] = np.full((24, 40, 3), (200, 30, 90), np.uint8)
    gy, gx = np.mgrid[0:48, 0:80]
    out["gradient_80x48"] = np.stack([gx * 3, gy * 5, (gx + gy) * 2], -1).clip(0, 255).astype(np.uint8)
    out["saturated_31x17"] = rng.choice(np.array([0, 255], np.uint8), (17, 31, 3))
    return out


def build_corpus() -> dict[str, bytes]:
    imgs = images()
    corpus: dict[str, bytes] = {}
    for name, rgb in imgs.items():
        big = rgb.shape[0] * rgb.shape[1] > 100_000
        for q in (1, 10, 50, 75, 90, 100):
            for m in ((0, 4, 6) if big else range(7)):
                corpus[f"pillow_{name}_q{q}_m{m}"] = pillow_encode(rgb, q, m)
        for q in ((5, 60, 95) if big else (1, 30, 75, 100)):
            corpus[f"opencv_{name}_q{q}"] = opencv_encode(rgb, q)
    variants = {  # encoder settings Pillow and OpenCV do not expose
        "simple": dict(filter_type=0),
        "simple_sharp3": dict(filter_type=0, filter_sharpness=3),
        "normal_sharp5": dict(filter_sharpness=5),
        "normal_sharp7_strong": dict(filter_sharpness=7, filter_strength=100),
        "parts2": dict(method=0, partitions=1),
        "parts4": dict(method=0, partitions=2),
        "parts8_simple": dict(method=0, partitions=3, filter_type=0),
        "segments1": dict(segments=1),
        "segments2_sns100": dict(segments=2, sns_strength=100),
        "autofilter": dict(autofilter=1),
        "nofilter": dict(filter_strength=0),
    }
    for vname, fields in variants.items():
        for name in ("astronaut_127x95", "astronaut_500x375", "noise_33x65", "gradient_80x48"):
            for q in (20, 80):
                b = libwebp_encode(imgs[name], q, **fields)
                if b is not None:
                    corpus[f"libwebp_{vname}_{name}_q{q}"] = b
    return corpus


@pytest.fixture(scope="module")
def corpus() -> dict[str, bytes]:
    return build_corpus()


def test_oracle_pillow_and_opencv(corpus):
    """Every corpus file: RGB equal to Pillow's and to OpenCV's decode (tolerance 0)."""
    assert len(corpus) >= 400, len(corpus)
    failures = []
    for name, webp in corpus.items():
        ours = decode_rgb(webp)
        for oracle_name, oracle in (("pillow", pillow_rgb), ("opencv", opencv_rgb)):
            ref = oracle(webp)
            if ours.shape != ref.shape or np.abs(ours.astype(int) - ref).max() > TOLERANCE:
                failures.append(f"{name} vs {oracle_name}: " + (
                    worst(ours, ref) if ours.shape == ref.shape else f"{ours.shape} {ref.shape}"))
    assert not failures, f"{len(failures)} of {2 * len(corpus)}:\n" + "\n".join(failures[:20])


def test_corpus_reaches_the_features(corpus):
    """The corpus exercises what the decoder implements: no / simple / normal loop filter,
    1/2/4/8 partitions, segmentation, sharpness > 0, skipped macroblocks, both luma mode kinds."""
    filters, parts, seg, sharp, skip = set(), set(), set(), set(), set()
    for webp in corpus.values():
        h = decode_vp8(vp8_payload(webp), source="t", max_pixels=MAX_PIXELS).header
        filters.add(h["filter"])
        parts.add(h["num_token_partitions"])
        seg.add(bool(h["segmentation_enabled"]))
        sharp.add(h["sharpness_level"] > 0)
        skip.add(bool(h["mb_no_coeff_skip"]))
    assert filters == {"none", "simple", "normal"} or not os.path.exists(LIBWEBP_PATH), filters
    if os.path.exists(LIBWEBP_PATH):
        assert parts == {1, 2, 4, 8}, parts
        assert sharp == {False, True}
    assert seg == {False, True} and skip == {False, True}


def test_python_engine_equals_numba():
    """The plain-Python frame loop (the specification) and the numba one give the same planes,
    on files with each filter type and with several partitions."""
    rgb = skdata.astronaut()[200:233, 200:249]
    files = [pillow_encode(rgb, 60, 4), pillow_encode(rgb, 100, 6)]
    for fields in (dict(filter_type=0), dict(method=0, partitions=2, filter_sharpness=4)):
        b = libwebp_encode(rgb, 50, **fields)
        if b is not None:
            files.append(b)
    for webp in files:
        payload = vp8_payload(webp)
        a = decode_vp8(payload, source="t", max_pixels=MAX_PIXELS, engine="numba")
        b = decode_vp8(payload, source="t", max_pixels=MAX_PIXELS, engine="python")
        for plane in ("y", "u", "v"):
            np.testing.assert_array_equal(getattr(a, plane), getattr(b, plane))
        np.testing.assert_array_equal(yuv420_to_rgb(a.y, a.u, a.v), pillow_rgb(webp))


# ---------------------------------------------------------------------------------------------
# YUV -> RGB goldens
# ---------------------------------------------------------------------------------------------


def test_colour_conversion_golden():
    """VP8YuvToRgb by hand: Y=16/U=V=128 is black, Y=235 white, and one colour worked out:
    Y=100, U=90, V=200: MultHi(100, 19077) = 7452; R = 7452 + MultHi(200, 26149) (20428)
    - 14234 = 13646 >> 6 = 213; G = 7452 - MultHi(90, 6419) (2256) - MultHi(200, 13320) (10406)
    + 8708 = 3498 >> 6 = 54; B = 7452 + MultHi(90, 33050) (11619) - 17685 = 1386 >> 6 = 21."""
    px = yuv_to_rgb_pixels(np.array([16, 235, 100]), np.array([128, 128, 90]),
                           np.array([128, 128, 200]))
    assert px.tolist() == [[0, 0, 0], [255, 255, 255], [213, 54, 21]]


def test_nearest_upsampling_golden():
    """no_fancy_upsampling: each chroma sample covers its 2x2 pixels (odd edge too). With
    Y = 128 everywhere, R depends on V only. By hand: MultHi(128, 19077) = 9538; V = 128:
    9538 + MultHi(128, 26149) (13074) - 14234 = 8378 >> 6 = 130; V = 200: 9538 + 20428 - 14234
    = 15732 >> 6 = 245; V = 60: 9538 + 6128 - 14234 = 1432 >> 6 = 22."""
    y = np.full((3, 3), 128, np.uint8)
    u = np.full((2, 2), 128, np.uint8)
    v = np.array([[128, 200], [60, 128]], np.uint8)
    rgb = yuv420_to_rgb(y, u, v, upsampling="nearest")
    r_of = {int(vv): int(yuv_to_rgb_pixels(np.array([128]), np.array([128]),
                                           np.array([vv]))[0, 0]) for vv in (128, 200, 60)}
    assert r_of == {128: 130, 200: 245, 60: 22}
    expected_v = np.array([[128, 128, 200], [128, 128, 200], [60, 60, 128]])
    assert rgb[:, :, 0].tolist() == [[r_of[int(x)] for x in row] for row in expected_v]


def test_fancy_upsampling_golden():
    """UpsampleRgbLinePair by hand on a 2x2 chroma plane [[0, 64], [128, 255]] to 4x4:
    row 0 mirrors chroma row 0: (3*0 + 0 + 2) >> 2 = 0; pixel 1: diag_12 = (0 + 3*64 + 0 + 64
    + 8) >> 3 = 33, (33 + 0) >> 1 = 16; pixel 2: diag_03 = (0 + 64 + 0 + 3*64 + 8) >> 3 = 33,
    (33 + 64) >> 1 = 48; pixel 3 (even width): (3*64 + 64 + 2) >> 2 = 64. Row 1 (near row 0,
    far row 1): (3*0 + 128 + 2) >> 2 = 32; (0 + 192 + 384 + 255 + 8) >> 3 = 104 -> 52;
    (0 + 64 + 128 + 765 + 8) >> 3 = 120 -> 92; (192 + 255 + 2) >> 2 = 112."""
    c = np.array([[0, 64], [128, 255]], np.uint8)
    out = upsample_fancy(c, 4, 4)
    assert out[0].tolist() == [0, 16, 48, 64]
    assert out[1].tolist() == [32, 52, 92, 112]
    assert out[3].tolist() == upsample_fancy(c[1:], 1, 4)[0].tolist()  # last row mirrors


def test_yuv_knob_errors():
    y = np.zeros((4, 4), np.uint8)
    with pytest.raises(SpecError):
        yuv420_to_rgb(y, np.zeros((2, 2), np.uint8), np.zeros((2, 2), np.uint8), upsampling="x")
    with pytest.raises(SpecError):
        yuv420_to_rgb(y, np.zeros((3, 2), np.uint8), np.zeros((2, 2), np.uint8))


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_webp() -> bytes:
    return pillow_encode(skdata.chelsea()[:48, :64], 80, 4)


def test_header_errors(small_webp):
    p = bytearray(vp8_payload(small_webp))
    inter = bytearray(p)
    inter[0] |= 1
    with pytest.raises(UnsupportedFeature):
        decode_vp8(bytes(inter), source="t", max_pixels=MAX_PIXELS)
    hidden = bytearray(p)
    hidden[0] &= ~0x10
    with pytest.raises(UnsupportedFeature):
        decode_vp8(bytes(hidden), source="t", max_pixels=MAX_PIXELS)
    bad_version = bytearray(p)
    bad_version[0] |= 0x0E
    with pytest.raises(DecodeError):
        decode_vp8(bytes(bad_version), source="t", max_pixels=MAX_PIXELS)
    bad_start = bytearray(p)
    bad_start[4] ^= 0xFF
    with pytest.raises(DecodeError) as e:
        decode_vp8(bytes(bad_start), source="t", max_pixels=MAX_PIXELS)
    assert e.value.offset == 3
    with pytest.raises(LimitsExceeded):
        decode_vp8(bytes(p), source="t", max_pixels=64 * 48 - 1)
    for n in range(0, 12):
        with pytest.raises(DecodeError):
            decode_vp8(bytes(p[:n]), source="t", max_pixels=MAX_PIXELS)
    scaled = bytearray(p)
    scaled[7] |= 0x40
    f = decode_vp8(bytes(scaled), source="t", max_pixels=MAX_PIXELS)
    assert any("scale" in w for w in f.warnings)


def mutations(payload: bytes, rng: np.random.Generator, count: int):
    n = len(payload)
    cut_points = sorted(set(np.linspace(0, n - 1, count // 3, dtype=int).tolist()))
    for cut in cut_points:
        yield f"truncate@{cut}", payload[:cut]
    header_end = min(n, 10 + (int.from_bytes(payload[:3], "little") >> 5))
    for i in range(count - len(cut_points)):
        b = bytearray(payload)
        region = header_end if i % 2 == 0 else n  # half in the headers, half anywhere
        for _ in range(1 + i % 3):
            pos = int(rng.integers(0, max(region, 1)))
            b[pos] ^= 1 << int(rng.integers(0, 8))
        yield f"flip#{i}", bytes(b)


def check_mutant(name: str, mutant: bytes) -> str | None:
    """Only typed errors escape; if Pillow (libwebp) decodes the mutant we must decode it to the
    same pixels, and if we decode it Pillow must too. Returns a failure message or None."""
    try:
        f = decode_vp8(mutant, source=name, max_pixels=1 << 22)
        ours = yuv420_to_rgb(f.y, f.u, f.v)
    except EXPECTED_ERRORS:
        ours = None
    except Exception as e:  # noqa: BLE001 -- the point of the test
        return f"{name}: {type(e).__name__}: {e}"
    try:
        with _warnings.catch_warnings():
            _warnings.simplefilter("ignore")
            ref = pillow_rgb(wrap_vp8(mutant))
    except Exception:  # noqa: BLE001 -- Pillow refused the file
        ref = None
    if (ours is None) != (ref is None):
        return f"{name}: ours {'refused' if ours is None else 'decoded'}, Pillow " + (
            "refused" if ref is None else "decoded")
    if ours is not None and (ours.shape != ref.shape or not np.array_equal(ours, ref)):
        return f"{name}: decoded differently: " + (worst(ours, ref) if ours.shape == ref.shape
                                                   else f"{ours.shape} vs {ref.shape}")
    return None


def run_sweep(count: int, seed: int) -> tuple[int, list[str]]:
    rng = np.random.default_rng(seed)
    sources = [pillow_encode(skdata.chelsea()[:48, :64], 80, 4),
               pillow_encode(skdata.astronaut()[:40, :56], 30, 6)]
    b = libwebp_encode(skdata.coffee()[:40, :72], 60, method=0, partitions=2, filter_type=0)
    if b is not None:
        sources.append(b)
    failures, total = [], 0
    for webp in sources:
        for name, mutant in mutations(vp8_payload(webp), rng, count // len(sources)):
            total += 1
            msg = check_mutant(name, mutant)
            if msg:
                failures.append(msg)
    return total, failures


def test_mutation_sweep():
    """A few hundred truncations and bit flips: only DecodeError / UnsupportedFeature /
    LimitsExceeded escape, and accept / refuse / pixels agree with libwebp (Pillow)."""
    t0 = time.perf_counter()
    total, failures = run_sweep(360, seed=9649)
    assert total >= 300
    assert not failures, f"{len(failures)} of {total}:\n" + "\n".join(failures[:20])
    assert time.perf_counter() - t0 < 20


@pytest.mark.slow
@pytest.mark.xfail(strict=False, reason="known: 2 of 6000 corrupt mutants reach coefficients whose "
                   "transform leaves int16; x86-64 libwebp (Transform_SSE2, 16-bit lanes) then "
                   "differs from the C TransformOne the reference follows")
def test_mutation_sweep_large():
    total, failures = run_sweep(6000, seed=1)
    assert not failures, f"{len(failures)} of {total}:\n" + "\n".join(failures[:20])


def test_speed_vs_pillow():
    """500x375 photo: report our decode time against Pillow's (numba cache warm)."""
    webp = pillow_encode(skdata.coffee()[:375, :500], 90, 4)
    decode_rgb(webp)  # warm-up / JIT
    t0 = time.perf_counter()
    for _ in range(5):
        decode_rgb(webp)
    ours = (time.perf_counter() - t0) / 5
    t0 = time.perf_counter()
    for _ in range(5):
        pillow_rgb(webp)
    theirs = (time.perf_counter() - t0) / 5
    print(f"\n500x375 q90: ours {ours * 1e3:.1f} ms, Pillow {theirs * 1e3:.1f} ms, "
          f"ratio {ours / theirs:.1f}")
    assert ours < 1.0
