"""The reference PNG decoder (conformance/reference/png.py) against independent oracles.

Oracles: Pillow 13 and OpenCV 5 (libpng 1.6) decoding the same bytes; the corpus encoder
(conformance/encoders/png.py, vectorised forward filters sharing no code with the decoder);
zlib's CRC-32; and, for the fast paths, the plain-Python specification functions.
Tolerance everywhere: 0 (max abs difference per element): PNG is lossless.
"""

from __future__ import annotations

import io
import tracemalloc
import zlib

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit
from PIL import Image

from conformance.encoders import png as enc
from conformance.errors import DecodeError, LimitsExceeded, UnsupportedFeature
from conformance.reference import png

SOURCE = "case.png"
VARIANTS = enc.png_variants()


def expected_pillow(img: png.PngImage) -> np.ndarray:
    """What np.array(Image.open(f)) holds for each colour type (modes measured, notes §4.2):
    1-bit gray -> mode 1 (bool), 2/4-bit -> L scaled v*255/(2^d-1), 16-bit gray -> I;16,
    16-bit colour / gray+alpha -> RGB/RGBA of the high bytes, palette -> P (indices)."""
    s, ct, d = img.samples, img.colour_type, img.bit_depth
    if ct == 0:
        g = s[:, :, 0]
        if d == 1:
            return g.astype(bool)
        return g if d == 16 else (g.astype(np.uint16) * 255 // ((1 << d) - 1)).astype(np.uint8)
    if ct == 3:
        return s[:, :, 0]
    if d == 16:
        s = (s >> 8).astype(np.uint8)
        if ct == 4:
            return np.concatenate([s[:, :, :1]] * 3 + [s[:, :, 1:]], axis=2)
    return s


def expected_opencv_unchanged(img: png.PngImage) -> np.ndarray:
    """cv2.imdecode(buf, IMREAD_UNCHANGED), measured (opencv-python-headless 5.0.0, libpng):
    gray -> (H, W) scaled to 8 bit (tRNS ignored), gray+alpha -> BGRA with gray replicated,
    rgb -> BGR, rgb + tRNS -> BGRA (alpha 0 where the pixel equals the key), palette -> BGR(A),
    16-bit kept (native-endian uint16)."""
    s, ct, d = img.samples, img.colour_type, img.bit_depth
    full = 65535 if d == 16 else 255
    if ct == 0:
        g = s[:, :, 0]
        return g if d >= 8 else (g.astype(np.uint16) * 255 // ((1 << d) - 1)).astype(np.uint8)
    if ct == 3:
        rgb = img.palette[s[:, :, 0]]
        if img.palette_alpha is not None:
            return np.concatenate([rgb[:, :, ::-1], img.palette_alpha[s[:, :, 0]][:, :, None]], 2)
        return rgb[:, :, ::-1]
    if ct == 4:
        return np.concatenate([s[:, :, :1]] * 3 + [s[:, :, 1:]], axis=2)
    if ct == 2 and img.trns_key is not None:
        alpha = np.where(np.all(s == np.array(img.trns_key), axis=2), 0, full).astype(s.dtype)
        return np.concatenate([s[:, :, ::-1], alpha[:, :, None]], 2)
    return np.concatenate([s[:, :, 2::-1], s[:, :, 3:]], 2)


# ------------------------------------------------------------------------------------------
# Oracle matrix: every variant the encoder produces, three independent readers, 0 difference
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ct_depth", enc.VARIANT_DEPTHS, ids=lambda cd: f"ct{cd[0]}_{cd[1]}bit")
def test_every_variant_matches_encoder_pillow_and_opencv(ct_depth):
    variants = [v for v in VARIANTS if (v.options["colour_type"], v.options["bit_depth"]) == ct_depth]
    assert variants
    for v in variants:
        data = v.encode()
        img = png.read_png(data, source=v.name)
        assert img.samples.dtype == (np.uint16 if ct_depth[1] == 16 else np.uint8), v.name
        np.testing.assert_array_equal(img.samples, v.samples, err_msg=f"{v.name}: vs encoder input")
        assert img.interlaced == v.options["interlace"]
        pil = Image.open(io.BytesIO(data))
        np.testing.assert_array_equal(np.array(pil), expected_pillow(img), err_msg=f"{v.name}: vs Pillow")
        if img.colour_type == 3:
            assert pil.getpalette()[:3 * len(img.palette)] == img.palette.ravel().tolist()
        cvimg = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        want = expected_opencv_unchanged(img)
        assert cvimg.dtype == want.dtype and cvimg.shape == want.shape, v.name
        np.testing.assert_array_equal(cvimg, want, err_msg=f"{v.name}: vs OpenCV IMREAD_UNCHANGED")
        if v.options["trns"] is not None:
            _check_trns_matches_pillow(img, pil.info["transparency"], v)


def _check_trns_matches_pillow(img, pil_trns, v):
    if img.colour_type == 3:
        given = v.options["trns"]
        want = list(given) + [255] * (len(img.palette) - len(given))
        assert img.palette_alpha.tolist() == want
        # Pillow keeps the tRNS bytes (or one index when a single entry is 0)
        assert (list(pil_trns) == list(given)) if isinstance(pil_trns, bytes) else given[pil_trns] == 0
    elif img.colour_type == 0:
        assert img.trns_key == (v.options["trns"],) and (pil_trns == v.options["trns"] or img.bit_depth == 1)
    else:
        assert img.trns_key == tuple(v.options["trns"]) == pil_trns


def test_metadata_chunks_eXIf_and_iCCP_are_read_not_applied():
    samples, _ = enc.synthetic_image(5, 6, 2, 8, seed=3)
    profile = bytes(range(256)) * 3
    data = enc.encode_png(samples, colour_type=2, bit_depth=8, exif_orientation=6,
                          icc_profile=profile, icc_name="fake profile")
    img = png.read_png(data, source=SOURCE)
    assert img.exif_orientation == 6 and img.icc_profile == profile and img.icc_name == "fake profile"
    np.testing.assert_array_equal(img.samples, samples)  # nothing applied here
    assert Image.open(io.BytesIO(data)).info["icc_profile"] == profile  # Pillow agrees
    names = [c[0] for c in img.chunks]
    assert names == ["IHDR", "iCCP", "eXIf", "IDAT", "IEND"]
    late = enc.encode_png(samples, colour_type=2, bit_depth=8, exif_orientation=3, exif_after_idat=True)
    assert png.read_png(late).exif_orientation == 3


def test_many_idat_chunks_and_any_split_point():
    samples, _ = enc.synthetic_image(33, 31, 6, 16, seed=4)
    for size in (1, 7, 100):
        data = enc.encode_png(samples, colour_type=6, bit_depth=16, idat_size=size, interlace=True)
        assert sum(1 for c in enc.chunk_offsets(data) if c[0] == b"IDAT") > 1
        np.testing.assert_array_equal(png.read_png(data).samples, samples)


# ------------------------------------------------------------------------------------------
# Fast paths equal their specification (STYLE.md item 5)
# ------------------------------------------------------------------------------------------


@njit(cache=True)
def _paeth_all_triples(out):
    """Compiled png.paeth_predictor over every (a, b, c) byte triple, index (a << 16) | (b << 8) | c."""
    for a in range(256):
        for b in range(256):
            for c in range(256):
                out[(a << 16) | (b << 8) | c] = png.paeth_predictor(a, b, c)


def test_paeth_compiled_equals_vectorised_over_all_2_24_inputs():
    v = np.arange(256, dtype=np.int16)
    a, b, c = np.meshgrid(v, v, v, indexing="ij", sparse=True)  # broadcasts to 256^3
    want = enc.paeth_vectorised(a, b, c).ravel()
    got = np.empty(1 << 24, dtype=np.uint8)
    _paeth_all_triples(got)
    bad = np.flatnonzero(got != want)
    assert bad.size == 0, f"first difference at (a, b, c) = {np.unravel_index(bad[0], (256,) * 3)}"


def test_paeth_plain_python_on_a_grid():
    """The uncompiled function: all (a, b) for c in a grid of edge and middle values."""
    for c in (0, 1, 127, 128, 254, 255):
        a, b = np.meshgrid(np.arange(256), np.arange(256), indexing="ij")
        want = enc.paeth_vectorised(a, b, np.full_like(a, c))
        got = np.array([[png.paeth_predictor(x, y, c) for y in range(256)] for x in range(256)])
        np.testing.assert_array_equal(got, want)
    # the tie rules by hand (§9.4: a before b before c)
    assert png.paeth_predictor(0, 3, 2) == 0  # p = 1: pa = 1, pb = 2, pc = 1 -> tie a/c -> a
    assert png.paeth_predictor(0, 3, 1) == 3  # p = 2: pa = 2, pb = 1, pc = 1 -> tie b/c -> b
    assert png.paeth_predictor(10, 20, 30) == 10  # p = 0: pa = 10, pb = 20, pc = 30


@pytest.mark.parametrize("bpp", [1, 2, 3, 4, 6, 8])
def test_unfilter_compiled_equals_plain(bpp):
    rng = np.random.default_rng(bpp)
    for height, rowbytes in [(1, 1), (1, bpp), (5, 3 * bpp + 1), (9, 40)]:
        if rowbytes < 1:
            continue
        stream = rng.integers(0, 256, size=height * (rowbytes + 1) + 3).astype(np.uint8)
        stream[3::rowbytes + 1][:height] = rng.integers(0, 5, size=height)  # legal filter types
        plain = np.empty((height, rowbytes), np.uint8)
        fast = np.empty((height, rowbytes), np.uint8)
        assert png.unfilter_scanlines(stream, 3, height, rowbytes, bpp, plain) == -1
        assert png.unfilter_scanlines_jit(stream, 3, height, rowbytes, bpp, fast) == -1
        np.testing.assert_array_equal(plain, fast)


def test_plain_python_decoder_path_matches():
    for v in VARIANTS[::97]:
        data = v.encode()
        np.testing.assert_array_equal(png.read_png(data, use_numba=False).samples, v.samples, v.name)


def test_crc_reference_equals_zlib():
    assert png.crc32_reference(b"IEND") == 0xAE426082  # the CRC every PNG ends with
    rng = np.random.default_rng(0)
    for n in (0, 1, 13, 1000):
        data = rng.integers(0, 256, n).astype(np.uint8).tobytes()
        assert png.crc32_reference(data) == zlib.crc32(data) == png.chunk_crc(data)


def test_unpack_sub_byte_is_msb_first():
    rows = np.array([[0b10110100, 0b11000000]], dtype=np.uint8)
    assert png.unpack_samples(rows, 10, 1, 1)[0, :, 0].tolist() == [1, 0, 1, 1, 0, 1, 0, 0, 1, 1]
    assert png.unpack_samples(rows, 5, 1, 2)[0, :, 0].tolist() == [2, 3, 1, 0, 3]
    assert png.unpack_samples(rows, 3, 1, 4)[0, :, 0].tolist() == [11, 4, 12]
    two = np.array([[1, 2, 255, 254]], np.uint8)
    assert png.unpack_samples(two, 2, 1, 16)[0, :, 0].tolist() == [258, 65534]  # big-endian


# ------------------------------------------------------------------------------------------
# Hypothesis: encode -> decode is the identity
# ------------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(ct_depth=st.sampled_from(enc.VARIANT_DEPTHS), h=st.integers(1, 19), w=st.integers(1, 19),
       interlace=st.booleans(), filters=st.sampled_from([0, 1, 2, 3, 4, "rotate", "adaptive"]),
       seed=st.integers(0, 2**32 - 1))
def test_roundtrip_random_arrays(ct_depth, h, w, interlace, filters, seed):
    ct, d = ct_depth
    samples, palette = enc.synthetic_image(h, w, ct, d, seed)
    data = enc.encode_png(samples, colour_type=ct, bit_depth=d, palette=palette,
                          interlace=interlace, filters=filters)
    img = png.read_png(data, source=SOURCE)
    np.testing.assert_array_equal(img.samples, samples)
    assert (img.width, img.height, img.colour_type, img.bit_depth) == (w, h, ct, d)


# ------------------------------------------------------------------------------------------
# Negative inputs: the right typed error, with the file name and the byte offset
# ------------------------------------------------------------------------------------------


def small_png() -> bytes:
    samples, _ = enc.synthetic_image(13, 7, 2, 8, seed=9)
    return enc.encode_png(samples, colour_type=2, bit_depth=8, idat_size=64)


@pytest.mark.parametrize("chunk", [b"IHDR", b"IDAT", b"IEND"])
def test_bad_crc(chunk):
    data = small_png()
    offset = next(off for t, off, _ in enc.chunk_offsets(data) if t == chunk)
    with pytest.raises(DecodeError) as e:
        png.read_png(enc.corrupt_crc(data, chunk), source=SOURCE)
    msg = str(e.value)
    assert e.value.offset == offset and SOURCE in msg and f"at byte {offset}" in msg
    assert chunk.decode() in msg and "CRC" in msg


def test_every_truncation_is_a_decode_error():
    data = small_png()
    for n in range(len(data)):
        with pytest.raises(DecodeError) as e:
            png.read_png(enc.truncate(data, n), source=SOURCE)
        assert SOURCE in str(e.value) and e.value.offset is not None, (n, str(e.value))


def test_truncated_zlib_stream_names_the_idat():
    samples, _ = enc.synthetic_image(13, 7, 0, 8, seed=1)
    raw = enc.scanlines(samples, 8, False, 0)
    data = enc.png_from_scanlines(7, 13, 0, 8, raw[:-20])
    with pytest.raises(DecodeError, match="short"):
        png.read_png(data, source=SOURCE)
    stream = zlib.compress(raw)[:-30]  # the zlib stream itself is cut, chunk CRCs are valid
    chunks = [enc.make_chunk(b"IHDR", enc.ihdr_data(7, 13, 8, 0)), enc.make_chunk(b"IDAT", stream),
              enc.make_chunk(b"IEND", b"")]
    with pytest.raises(DecodeError, match="truncated stream") as e:
        png.read_png(enc.PNG_SIGNATURE + b"".join(chunks), source=SOURCE)
    assert e.value.offset == 33  # the IDAT chunk right after the 8 + 25 bytes of signature + IHDR


def test_corrupt_zlib():
    with pytest.raises(DecodeError, match="zlib") as e:
        png.read_png(enc.corrupt_zlib(small_png()), source=SOURCE)
    assert e.value.offset == 33


def test_huge_header_is_refused_before_allocating():
    data = enc.huge_dimensions_png(100_000, 100_000)
    tracemalloc.start()
    try:
        with pytest.raises(LimitsExceeded) as e:
            png.read_png(data, source=SOURCE, max_pixels=1 << 26)
        assert "100000 x 100000" in str(e.value) and SOURCE in str(e.value) and e.value.offset == 16
        # with the limit lifted, the 64-byte stream is simply too short: still no big allocation
        with pytest.raises(DecodeError, match="short"):
            png.read_png(data, source=SOURCE, max_pixels=10**12)
        assert tracemalloc.get_traced_memory()[1] < 1 << 20
    finally:
        tracemalloc.stop()


def test_zip_bomb_inflates_only_what_the_header_needs():
    data = enc.zip_bomb_png(16, 16, inflated_bytes=16 << 20)
    tracemalloc.start()
    try:
        img = png.read_png(data, source=SOURCE)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, peak
    assert img.samples.shape == (16, 16, 1) and not img.samples.any()
    assert any("more than" in w for w in img.warnings)


def test_garbage_and_signature():
    with pytest.raises(DecodeError, match="not a PNG signature") as e:
        png.read_png(enc.not_an_image(), source=SOURCE)
    assert e.value.offset == 0 and SOURCE in str(e.value)


@pytest.mark.parametrize("ct, depth, field_offset", [(2, 4, 24), (3, 16, 24), (5, 8, 25), (0, 3, 24)])
def test_illegal_colour_type_and_depth(ct, depth, field_offset):
    data = enc.PNG_SIGNATURE + enc.make_chunk(b"IHDR", enc.ihdr_data(4, 4, depth, ct)) + \
        enc.make_chunk(b"IDAT", zlib.compress(b"\x00" * 100)) + enc.make_chunk(b"IEND", b"")
    with pytest.raises(DecodeError) as e:
        png.read_png(data, source=SOURCE)
    assert e.value.offset == field_offset


@pytest.mark.parametrize("field, kwargs", [("compression", dict(compression=1)),
                                           ("filter method", dict(filter_method=1)),
                                           ("interlace", dict(interlace=2))])
def test_illegal_methods(field, kwargs):
    data = enc.PNG_SIGNATURE + enc.make_chunk(b"IHDR", enc.ihdr_data(4, 4, 8, 0, **kwargs)) + \
        enc.make_chunk(b"IDAT", zlib.compress(b"\x00" * 20)) + enc.make_chunk(b"IEND", b"")
    with pytest.raises(DecodeError, match=field):
        png.read_png(data, source=SOURCE)


def test_zero_width():
    data = enc.PNG_SIGNATURE + enc.make_chunk(b"IHDR", enc.ihdr_data(0, 4, 8, 0)) + \
        enc.make_chunk(b"IDAT", zlib.compress(b"")) + enc.make_chunk(b"IEND", b"")
    with pytest.raises(DecodeError, match="width 0") as e:
        png.read_png(data, source=SOURCE)
    assert e.value.offset == 16


def test_bad_filter_type_byte():
    samples, _ = enc.synthetic_image(4, 3, 0, 8, seed=2)
    raw = bytearray(enc.scanlines(samples, 8, False, 0))
    raw[2 * 4] = 5  # scanline 2's filter byte
    with pytest.raises(DecodeError, match="scanline 2: filter type 5"):
        png.read_png(enc.png_from_scanlines(3, 4, 0, 8, bytes(raw)), source=SOURCE)


def test_chunk_order_and_unknown_critical_chunk():
    data = small_png()
    chunks = enc.chunk_offsets(data)
    ihdr = data[8:8 + 25]
    rest = data[8 + 25:]
    with pytest.raises(DecodeError, match="not IHDR"):
        png.read_png(enc.PNG_SIGNATURE + rest, source=SOURCE)
    with pytest.raises(UnsupportedFeature, match="unknown critical chunk ABCD"):
        png.read_png(enc.PNG_SIGNATURE + ihdr + enc.make_chunk(b"ABCD", b"x") + rest, source=SOURCE)
    # an unknown ancillary chunk is skipped
    png.read_png(enc.PNG_SIGNATURE + ihdr + enc.make_chunk(b"abCD", b"x") + rest, source=SOURCE)
    # IDAT, other chunk, IDAT: not consecutive
    idats = [data[off:off + 12 + n] for t, off, n in chunks if t == b"IDAT"]
    bad = enc.PNG_SIGNATURE + ihdr + idats[0] + enc.make_chunk(b"tEXt", b"a\x00b") + b"".join(idats[1:]) \
        + enc.make_chunk(b"IEND", b"")
    with pytest.raises(DecodeError, match="consecutive"):
        png.read_png(bad, source=SOURCE)
    with pytest.raises(DecodeError, match="no IDAT"):
        png.read_png(enc.PNG_SIGNATURE + ihdr + enc.make_chunk(b"IEND", b""), source=SOURCE)


def test_palette_errors():
    idx = np.array([[0, 1], [2, 3]], np.uint8)[:, :, None]
    pal = np.arange(12, dtype=np.uint8).reshape(4, 3)
    ok = enc.encode_png(idx, colour_type=3, bit_depth=2, palette=pal)
    # PLTE with 3 entries while index 3 is used: the image data is in error (§11.2.2)
    off = next(o for t, o, _ in enc.chunk_offsets(ok) if t == b"PLTE")
    short = ok[:off] + enc.make_chunk(b"PLTE", pal[:3].tobytes()) + ok[off + 12 + 12:]
    with pytest.raises(DecodeError, match="palette index 3"):
        png.read_png(short, source=SOURCE)
    no_plte = ok[:off] + ok[off + 24:]
    with pytest.raises(DecodeError, match="without PLTE"):
        png.read_png(no_plte, source=SOURCE)


def test_malformed_ancillary_chunks_only_warn():
    samples, _ = enc.synthetic_image(3, 3, 0, 8, seed=5)
    base = enc.encode_png(samples, colour_type=0, bit_depth=8)
    ihdr_end = 8 + 25
    for bad in (enc.make_chunk(b"tRNS", b"\x00\x01\x02"), enc.make_chunk(b"eXIf", b"XX\x00*junk"),
                enc.make_chunk(b"iCCP", b"name\x00\x00not zlib")):
        data = base[:ihdr_end] + bad + base[ihdr_end:]
        img = png.read_png(data, source=SOURCE)
        np.testing.assert_array_equal(img.samples, samples)
        assert img.warnings and img.trns_key is None and img.exif_orientation is None
        assert img.icc_profile is None


def test_trns_key_is_masked_to_the_bit_depth():
    samples = np.array([[[0], [1], [2], [3]]], np.uint8)
    data = enc.encode_png(samples, colour_type=0, bit_depth=2)
    data = data[:33] + enc.make_chunk(b"tRNS", b"\xff\xfe") + data[33:]  # 0xFFFE & 3 = 2
    img = png.read_png(data, source=SOURCE)
    assert img.trns_key == (2,) and any("masked" in w for w in img.warnings)


@settings(max_examples=200, deadline=None)
@given(which=st.integers(0, 10), at=st.integers(0, 10_000), junk=st.binary(min_size=1, max_size=4),
       variant=st.sampled_from(VARIANTS[::41]))
def test_mutated_chunks_with_valid_crcs_fail_only_with_typed_errors(which, at, junk, variant):
    """Bytes overwritten inside one chunk, CRC recomputed so the deeper checks are reached:
    the decoder either decodes or raises one of the typed input errors, never anything else."""
    data = variant.encode()
    chunks = enc.chunk_offsets(data)
    ctype, off, n = chunks[which % len(chunks)]
    body = bytearray(data[off + 8:off + 8 + n])
    if body:
        i = at % len(body)
        body[i:i + len(junk)] = junk
    mutated = data[:off] + enc.make_chunk(ctype, bytes(body)) + data[off + 12 + n:]
    try:
        png.read_png(mutated, source=SOURCE, max_pixels=1 << 16)
    except (DecodeError, UnsupportedFeature, LimitsExceeded) as e:
        assert SOURCE in str(e)
