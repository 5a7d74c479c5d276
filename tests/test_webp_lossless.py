"""WebP lossless (VP8L), container and ALPH: bit-exact against libwebp 1.6.0 (through Pillow 13
and OpenCV), numba path == plain Python path, and hostile inputs give only typed errors.

Metric: max absolute difference per element of the RGBA (or alpha) arrays; tolerance 0 (the
formats are lossless, and libwebp's decode is deterministic integer arithmetic).
"""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

from conformance.errors import DecodeError, LimitsExceeded, UnsupportedFeature
from conformance.reference.webp.alpha import decode_alpha, unfilter_row
from conformance.reference.webp.container import (decode_webp_lossless, parse_webp,
                                                  read_webp_info)
from conformance.reference.webp.vp8l import decode_vp8l

TYPED = (DecodeError, UnsupportedFeature, LimitsExceeded)


def pil_webp(arr: np.ndarray, **kw) -> bytes:
    buf = io.BytesIO()
    mode = {2: "L", 3: "RGB", 4: "RGBA"}[arr.ndim if arr.ndim == 2 else arr.shape[2] + 0] \
        if arr.ndim == 2 else {3: "RGB", 4: "RGBA"}[arr.shape[2]]
    Image.fromarray(arr, mode).save(buf, "WEBP", **kw)
    return buf.getvalue()


def pil_rgba(data: bytes) -> np.ndarray:
    return np.array(Image.open(io.BytesIO(data)).convert("RGBA"))


def assert_same(ours: np.ndarray, ref: np.ndarray, name: str) -> None:
    assert ours.shape == ref.shape, (name, ours.shape, ref.shape)
    diff = np.abs(ours.astype(np.int64) - ref.astype(np.int64))
    if diff.max() != 0:
        y, x = np.unravel_index(diff.reshape(diff.shape[0], diff.shape[1], -1).max(-1).argmax(),
                                diff.shape[:2])
        raise AssertionError(f"{name}: max diff {diff.max()} at ({y}, {x}): ours "
                             f"{ours[y, x]} libwebp {ref[y, x]}")


def photos() -> dict[str, np.ndarray]:
    return {"astronaut_odd": skdata.astronaut()[13:13 + 61, 7:7 + 83],
            "chelsea_odd": skdata.chelsea()[40:40 + 37, 100:100 + 129],
            "coffee_odd": skdata.coffee()[50:50 + 45, 200:200 + 67]}


def synthetic() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20240601)
    out: dict[str, np.ndarray] = {}
    out["noise_rgb"] = rng.integers(0, 256, (23, 31, 3), dtype=np.uint8)
    rgba = rng.integers(0, 256, (19, 27, 4), dtype=np.uint8)
    out["noise_rgba"] = rgba
    grad = np.zeros((29, 35, 4), np.uint8)
    grad[..., 0] = np.arange(35) * 7
    grad[..., 1] = (np.arange(29) * 9)[:, None]
    grad[..., 2] = 128
    grad[..., 3] = (np.add.outer(np.arange(29), np.arange(35)) * 4) % 256
    out["gradient_alpha"] = grad
    for n in (2, 3, 4, 5, 16, 17, 200):  # colour indexing: 1-bit, 2-bit, 4-bit, 8-bit indices
        pal = rng.integers(0, 256, (n, 4), dtype=np.uint8)
        pal[:, 3] = np.where(rng.random(n) < 0.3, rng.integers(0, 256, n), 255)
        idx = rng.integers(0, n, (21, 37))
        idx[:, :5] = idx[:, :1]  # some runs for backward references
        out[f"palette_{n}"] = pal[idx]
    gray = np.repeat(skdata.camera()[100:141, 200:253, None], 3, axis=2)
    out["gray"] = gray
    out["one_by_one"] = np.array([[[10, 20, 30, 40]]], np.uint8)
    out["row_1xN"] = rng.integers(0, 256, (1, 57, 3), dtype=np.uint8)
    out["col_Nx1"] = rng.integers(0, 256, (43, 1, 4), dtype=np.uint8)
    flat = np.full((17, 13, 3), 77, np.uint8)
    out["flat"] = flat
    zero_alpha = rng.integers(0, 256, (15, 18, 4), dtype=np.uint8)
    zero_alpha[::2, :, 3] = 0
    out["alpha_zero_rows"] = zero_alpha
    return out


# (method, quality): method and quality switch transforms, the colour cache and meta codes.
SETTINGS = [(0, 0), (1, 50), (3, 75), (4, 100), (6, 25), (6, 100)]


def lossless_cases():
    imgs = {**photos(), **synthetic()}
    for name, arr in imgs.items():
        settings = SETTINGS if name in ("noise_rgba", "astronaut_odd", "palette_5",
                                        "gradient_alpha") else SETTINGS[::2]
        for method, quality in settings:
            for exact in (True, False):
                if not exact and arr.ndim == 3 and arr.shape[2] == 3:
                    continue
                yield f"{name}_m{method}_q{quality}_exact{int(exact)}", arr, method, quality, exact


CASES = list(lossless_cases())
assert len({c[0] for c in CASES}) == len(CASES), "duplicate case name"


@pytest.mark.parametrize("name,arr,method,quality,exact", CASES, ids=[c[0] for c in CASES])
def test_pillow_lossless_bit_exact(name, arr, method, quality, exact):
    data = pil_webp(arr, lossless=True, method=method, quality=quality, exact=exact)
    ours = decode_webp_lossless(data, source=name)
    assert_same(ours, pil_rgba(data), name)


@pytest.mark.parametrize("name", ["astronaut_odd", "noise_rgb", "palette_3", "gray", "col_Nx1"])
def test_opencv_lossless_bit_exact(name):
    arr = {**photos(), **synthetic()}[name][..., :3]
    bgr = np.ascontiguousarray(arr[..., ::-1])
    ok, enc = cv2.imencode(".webp", bgr, [cv2.IMWRITE_WEBP_QUALITY, 101])  # 101 = lossless
    assert ok
    data = enc.tobytes()
    assert parse_webp(data).kind == "lossless"
    ours = decode_webp_lossless(data, source=name)
    ref = cv2.imdecode(enc, cv2.IMREAD_UNCHANGED)
    assert_same(ours[..., 2::-1], ref[..., :3], name)
    assert_same(ours[..., :3], arr, name + " vs source")  # lossless round trip


def test_numba_equals_plain_python():
    imgs = synthetic()
    for name in ("noise_rgba", "palette_3", "palette_17", "gradient_alpha", "row_1xN"):
        for method, quality in ((0, 0), (6, 100), (4, 60)):
            data = pil_webp(imgs[name], lossless=True, method=method, quality=quality, exact=True)
            bits = parse_webp(data).bitstream
            fast = decode_vp8l(bits, use_numba=True)
            slow = decode_vp8l(bits, use_numba=False)
            assert np.array_equal(fast, slow), (name, method, quality)
            assert_same(fast, pil_rgba(data), name)


def test_photo_with_meta_codes_numba_equals_python():
    """A larger photo crop exercises meta prefix codes, long codes and the colour cache."""
    arr = skdata.astronaut()[:48, :64]
    data = pil_webp(arr, lossless=True, method=6, quality=100)
    bits = parse_webp(data).bitstream
    assert np.array_equal(decode_vp8l(bits), decode_vp8l(bits, use_numba=False))


# ---------------------------------------------------------------------------------------------
# Lossy + ALPH
# ---------------------------------------------------------------------------------------------


def alpha_images():
    rng = np.random.default_rng(7)
    a = rng.integers(0, 256, (33, 47, 4), dtype=np.uint8)
    a[..., 3] = (np.arange(47) * 5)[None, :] ^ (np.arange(33) * 3)[:, None]
    b = np.array(Image.fromarray(skdata.astronaut()[100:141, 50:109]).convert("RGBA"))
    b[..., 3] = np.where(b[..., 0] > 120, 255, 40)
    c = rng.integers(0, 256, (1, 29, 4), dtype=np.uint8)
    d = rng.integers(0, 256, (25, 1, 4), dtype=np.uint8)
    return {"xor_alpha": a, "threshold_alpha": b, "row": c, "col": d}


@pytest.mark.parametrize("alpha_quality", [0, 30, 100])
@pytest.mark.parametrize("method", [0, 4, 6])
def test_alph_chunk_bit_exact(alpha_quality, method):
    seen_filters = set()
    for name, arr in alpha_images().items():
        data = pil_webp(arr, quality=70, alpha_quality=alpha_quality, method=method)
        info = parse_webp(data)
        assert info.kind == "lossy" and info.alph is not None and info.has_alpha
        seen_filters.add((info.alph[0] >> 2) & 3)
        ours = decode_alpha(info.alph, info.width, info.height, source=name)
        assert_same(ours[..., None], pil_rgba(data)[..., 3:], f"{name} alpha")
        slow = decode_alpha(info.alph, info.width, info.height, use_numba=False)
        assert np.array_equal(ours, slow)
    assert seen_filters  # the filter methods used are listed in the report


def test_unfilter_rows_by_hand():
    delta = np.array([10, 5, 250], np.uint8)
    assert unfilter_row(1, None, delta).tolist() == [10, 15, 9]
    prev = np.array([100, 200, 50], np.uint8)
    assert unfilter_row(1, prev, delta).tolist() == [110, 115, 109]
    assert unfilter_row(2, prev, delta).tolist() == [110, 205, 44]
    # gradient: x=0 predicted by top (100); x=1: clip(110 + 200 - 100) = 210 -> 215;
    # x=2: clip(215 + 50 - 200) = 65 -> 65 + 250 = 315 mod 256 = 59
    assert unfilter_row(3, prev, delta).tolist() == [110, 215, 59]
    assert unfilter_row(3, None, delta).tolist() == [10, 15, 9]


def test_raw_alpha_and_header_checks():
    w, h = 4, 3
    raw = bytes(range(12))
    assert decode_alpha(bytes([0]) + raw, w, h).tolist() == np.arange(12).reshape(3, 4).tolist()
    assert decode_alpha(bytes([0]) + raw + b"xx", w, h).shape == (3, 4)  # extra bytes ignored
    for header in (0x02, 0x03, 0x20, 0x40, 0x80):  # C = 2, 3; P = 2; reserved bits
        with pytest.raises(DecodeError):
            decode_alpha(bytes([header]) + raw, w, h)
    with pytest.raises(DecodeError):
        decode_alpha(bytes([0]) + raw[:-1], w, h)
    with pytest.raises(DecodeError):
        decode_alpha(bytes([0]), w, h)
    assert decode_alpha(bytes([0x10]) + raw, w, h).shape == (3, 4)  # P = 1 accepted


# ---------------------------------------------------------------------------------------------
# Container
# ---------------------------------------------------------------------------------------------


def test_container_facts():
    rgba = synthetic()["noise_rgba"]
    data = pil_webp(rgba, lossless=True)
    info = read_webp_info(data)
    assert (info.width, info.height, info.kind, info.has_alpha) == (27, 19, "lossless", True)
    rgb = pil_webp(synthetic()["noise_rgb"], lossless=True)
    assert read_webp_info(rgb).has_alpha is False
    lossy = pil_webp(alpha_images()["xor_alpha"], quality=50)
    info = read_webp_info(lossy)
    assert info.kind == "lossy" and info.alph is not None and info.vp8x_flags & 0x10
    # EXIF / ICC pass-through
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, "WEBP", lossless=True, exif=b"Exif\x00\x00MM",
                                       icc_profile=b"fakeicc")
    info = read_webp_info(buf.getvalue())
    assert info.exif.endswith(b"MM") and info.icc == b"fakeicc"  # Pillow strips "Exif\\0\\0"
    assert_same(decode_webp_lossless(buf.getvalue()), pil_rgba(buf.getvalue()), "with metadata")


def test_animated_is_unsupported_and_what_others_do():
    rng = np.random.default_rng(3)
    f1 = rng.integers(0, 256, (8, 10, 3), dtype=np.uint8)
    f2 = np.zeros((8, 10, 3), np.uint8)
    buf = io.BytesIO()
    Image.fromarray(f1).save(buf, "WEBP", save_all=True, append_images=[Image.fromarray(f2)],
                             lossless=True, duration=100)
    data = buf.getvalue()
    info = read_webp_info(data)
    assert info.animated and (info.width, info.height) == (10, 8)
    with pytest.raises(UnsupportedFeature):
        decode_webp_lossless(data)
    im = Image.open(io.BytesIO(data))
    assert im.n_frames == 2 and np.array_equal(np.array(im.convert("RGB")), f1)  # frame 1
    cv = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert cv is not None and np.array_equal(cv[..., ::-1], f1)  # OpenCV 5: first frame


def test_container_errors():
    data = pil_webp(synthetic()["noise_rgb"], lossless=True)
    with pytest.raises(DecodeError):
        parse_webp(data[:-3])  # RIFF size larger than the data
    bad = bytearray(data)
    bad[16:20] = (len(data)).to_bytes(4, "little")  # VP8L chunk overruns the RIFF size
    with pytest.raises(DecodeError):
        parse_webp(bytes(bad))
    bad = bytearray(data)
    bad[8:12] = b"WEBQ"
    with pytest.raises(DecodeError):
        parse_webp(bytes(bad))
    info = parse_webp(data + b"junk!")  # bytes after the RIFF chunk: warning only
    assert info.warnings
    with pytest.raises(LimitsExceeded):
        decode_webp_lossless(data, max_pixels=100)


def test_truncated_stream_is_decode_error():
    data = pil_webp(synthetic()["noise_rgba"], lossless=True)
    bits = parse_webp(data).bitstream
    for cut in (5, 6, 20, len(bits) // 2, len(bits) - 1):
        with pytest.raises(DecodeError):
            decode_vp8l(bits[:cut])
        with pytest.raises(DecodeError):
            decode_vp8l(bits[:cut], use_numba=False) if cut < 30 else decode_vp8l(bits[:cut])


# ---------------------------------------------------------------------------------------------
# Mutation sweep: only typed errors, and agreement with libwebp on acceptance when it decodes
# ---------------------------------------------------------------------------------------------


def mutants(seed: int, count: int):
    rng = np.random.default_rng(seed)
    sources = [pil_webp(synthetic()["palette_5"], lossless=True, method=4),
               pil_webp(synthetic()["noise_rgba"], lossless=True, method=6, quality=100),
               pil_webp(photos()["chelsea_odd"], lossless=True, method=2),
               pil_webp(alpha_images()["xor_alpha"], quality=60, method=4)]
    for i in range(count):
        src = bytearray(sources[i % len(sources)])
        r = rng.random()
        if r < 0.3:
            yield bytes(src[:int(rng.integers(0, len(src)))])
        else:
            lo = 12 if r < 0.6 else 20
            hi = min(len(src), 40) if r < 0.6 else len(src)
            for _ in range(int(rng.integers(1, 4))):
                pos = int(rng.integers(lo, hi))
                src[pos] ^= 1 << int(rng.integers(0, 8))
            yield bytes(src)


def decode_any(data: bytes) -> np.ndarray:
    info = parse_webp(data, source="mutant")
    if info.kind == "lossy":
        return decode_alpha(info.alph, info.width, info.height, source="mutant") \
            if info.alph is not None else np.zeros(0)
    return decode_webp_lossless(data, source="mutant", max_pixels=1 << 20)


def ours_or_none(data: bytes, extent: str, has_alpha: bool):
    try:
        out = decode_webp_lossless(data, source="mutant", max_pixels=1 << 22, extent=extent)
    except TYPED:
        return None
    if not has_alpha:  # Pillow / OpenCV decode to RGB when WebPGetFeatures says no alpha
        out = out.copy()
        out[..., 3] = 255
    return out


def test_mutation_sweep_typed_errors_and_libwebp_agreement():
    """400 mutants: only typed errors; for lossless files we accept exactly what libwebp
    accepts, with the same pixels: extent "padded" vs Pillow, "to_end" vs OpenCV."""
    compared = 0
    for data in mutants(1234, 400):
        try:
            info = parse_webp(data, source="mutant")
        except TYPED:
            continue
        if info.kind == "lossy":
            try:
                ours = decode_alpha(info.alph, info.width, info.height) if info.alph else None
            except TYPED:
                continue
            try:
                ref = pil_rgba(data)[..., 3]
            except Exception:  # the VP8 part is broken: nothing to compare
                continue
            if ours is not None:
                assert np.array_equal(ours, ref)
            continue
        try:
            pil = pil_rgba(data)
        except Exception:
            pil = None
        try:
            cv = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        except cv2.error:
            cv = None
        ours = ours_or_none(data, "padded", info.has_alpha)
        assert (ours is None) == (pil is None)
        if ours is not None:
            assert np.array_equal(ours, pil)
        ours = ours_or_none(data, "to_end", info.has_alpha)
        assert (ours is None) == (cv is None)
        if ours is not None:
            assert np.array_equal(ours[..., 2::-1], cv[..., :3])
        compared += 1
    assert compared > 100


@pytest.mark.slow
def test_mutation_sweep_large():
    for data in mutants(99, 5000):
        try:
            decode_any(data)
        except TYPED:
            pass


def test_speed_ratio_reported():
    """500x375 photo: our numba decode vs Pillow's decode (printed; asserts < 1 s)."""
    import time
    arr = skdata.astronaut()[:375, :500]
    data = pil_webp(arr, lossless=True, method=4, quality=75)
    decode_webp_lossless(data)  # JIT warm-up (cached on disk)
    t0 = time.perf_counter()
    ours = decode_webp_lossless(data)
    t1 = time.perf_counter()
    ref = pil_rgba(data)
    t2 = time.perf_counter()
    assert_same(ours, ref, "astronaut 500x375")
    print(f"ours {1e3 * (t1 - t0):.1f} ms, Pillow {1e3 * (t2 - t1):.1f} ms, "
          f"ratio {(t1 - t0) / (t2 - t1):.1f}")
    assert t1 - t0 < 1.0
