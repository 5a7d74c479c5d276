"""The JPEG reader (reference/jpeg/markers.py, entropy.py, reader.py) against independent oracles.

Oracles: jpeglib 1.0.2 (``read_dct``: libjpeg's own ``jpeg_read_coefficients``, the quantised
coefficients in natural order as (block rows, block columns, 8, 8) over the component's own
ceil(w/8) x ceil(h/8) blocks, and the component's quantisation table) on files written by Pillow
13 and OpenCV 5; Pillow's ``info`` for the metadata; T.81 Annex K tables for the Huffman code
generation; and, for the fast paths, the plain specification functions. Tolerance everywhere: 0
(entropy decoding is exact).

Error cases are byte edits of valid files, located with a small marker walker written here (not
the reader's): each asserts the error class, that the message names the file, and the offset.
"""

from __future__ import annotations

import io
import os
import struct
import tempfile
import tracemalloc

import cv2
import jpeglib
import numpy as np
import pytest
from numba import njit
from PIL import Image

from conformance import synthetic as syn
from conformance.errors import ConformanceError, DecodeError, LimitsExceeded, UnsupportedFeature
from conformance.reference.exif import read_orientation
from conformance.reference.jpeg import entropy, markers
from conformance.reference.jpeg.model import ZIGZAG
from conformance.reference.jpeg.reader import read_jpeg

SOURCE = "case.jpg"


# ------------------------------------------------------------------------------------------
# Fixtures: encoders and the jpeglib oracle
# ------------------------------------------------------------------------------------------


def image(h: int, w: int, channels: int = 3) -> np.ndarray:
    """Deterministic content with detail and smooth areas: zone plate + gradients + noise."""
    a = (syn.zone_plate(h, w).astype(np.int32) + syn.gradients(h, w) + syn.noise(h, w)) // 3
    if channels == 1:
        return a[:, :, 1].astype(np.uint8)
    if channels == 4:
        return np.concatenate([a, a[:, :, :1] // 2 + 60], axis=2).astype(np.uint8)
    return a.astype(np.uint8)


def pillow(h: int, w: int, *, mode: str = "RGB", **options) -> bytes:
    samples = image(h, w, {"L": 1, "RGB": 3, "CMYK": 4}[mode])
    buf = io.BytesIO()
    Image.fromarray(samples, mode).save(buf, "JPEG", **options)
    return buf.getvalue()


def opencv(h: int, w: int, *, gray: bool = False, quality: int = 90, sampling: str | None = None,
           progressive: bool = False, optimize: bool = False, restart: int = 0) -> bytes:
    flags = [cv2.IMWRITE_JPEG_QUALITY, quality, cv2.IMWRITE_JPEG_PROGRESSIVE, int(progressive),
             cv2.IMWRITE_JPEG_OPTIMIZE, int(optimize), cv2.IMWRITE_JPEG_RST_INTERVAL, restart]
    if sampling:
        flags += [cv2.IMWRITE_JPEG_SAMPLING_FACTOR,
                  getattr(cv2, f"IMWRITE_JPEG_SAMPLING_FACTOR_{sampling}")]
    ok, buf = cv2.imencode(".jpg", image(h, w, 1 if gray else 3), flags)
    assert ok
    return buf.tobytes()


def libjpeg_dct(data: bytes):
    """jpeglib.read_dct on the bytes: ([(block rows, block cols, 8, 8) per component], [qt])."""
    with tempfile.NamedTemporaryFile(suffix=".jpg", delete=False) as f:
        f.write(data)
    try:
        j = jpeglib.read_dct(f.name)
        planes = [p for p in (j.Y, j.Cb, j.Cr, j.K) if p is not None]
        tables = [j.qt[t] for t in j.quant_tbl_no]
    finally:
        os.remove(f.name)
    return planes, tables


def assert_matches_libjpeg(data: bytes) -> None:
    im = read_jpeg(data, source=SOURCE)
    planes, tables = libjpeg_dct(data)
    assert len(im.components) == len(planes)
    for c, plane, qt in zip(im.components, planes, tables):
        bh, bw = plane.shape[:2]
        # the component's own blocks: A.2.2 ceil(w/8) x ceil(h/8); ours may add MCU padding
        assert (bh, bw) == (-(-c.height // 8), -(-c.width // 8))
        ours = c.coefficients[:bh, :bw].reshape(bh, bw, 8, 8)
        if not np.array_equal(ours, plane):
            y, x = np.argwhere((ours != plane).any(axis=(2, 3)))[0]
            pytest.fail(f"component {c.id}: block ({y}, {x}) differs:\nours\n{ours[y, x]}\n"
                        f"libjpeg\n{plane[y, x]}")
        assert np.array_equal(c.quant.reshape(8, 8), qt), f"component {c.id} quant table"
        assert c.coefficients.dtype == np.int32 and c.quant.dtype == np.uint16


CASES = {
    # Pillow: baseline / progressive / optimized, quality 50..95, 4:4:4 / 4:2:2 / 4:2:0
    "pil_q90_420": lambda: pillow(45, 61, quality=90, subsampling=2),
    "pil_q50_444": lambda: pillow(45, 61, quality=50, subsampling=0),
    "pil_q75_422_opt": lambda: pillow(45, 61, quality=75, subsampling=1, optimize=True),
    "pil_q95_420_prog": lambda: pillow(45, 61, quality=95, subsampling=2, progressive=True),
    "pil_q60_444_prog": lambda: pillow(33, 40, quality=60, subsampling=0, progressive=True),
    "pil_q85_422_prog": lambda: pillow(33, 40, quality=85, subsampling=1, progressive=True),
    "pil_gray_q80": lambda: pillow(29, 43, mode="L", quality=80),
    "pil_gray_prog": lambda: pillow(29, 43, mode="L", quality=70, progressive=True),
    "pil_cmyk": lambda: pillow(20, 33, mode="CMYK", quality=85),
    "pil_cmyk_prog": lambda: pillow(20, 33, mode="CMYK", quality=90, progressive=True),
    "pil_rst_blocks": lambda: pillow(45, 61, quality=70, subsampling=2, restart_marker_blocks=5),
    "pil_rst_rows_prog": lambda: pillow(45, 61, quality=80, progressive=True,
                                        restart_marker_rows=1),
    # odd sizes, not multiples of the MCU
    "pil_1x1_420": lambda: pillow(1, 1, quality=90, subsampling=2),
    "pil_1x1_prog": lambda: pillow(1, 1, quality=90, subsampling=1, progressive=True),
    "pil_17x13_420": lambda: pillow(13, 17, quality=90, subsampling=2),
    "pil_3x150_420": lambda: pillow(150, 3, quality=90, subsampling=2),
    "pil_150x3_422_prog": lambda: pillow(3, 150, quality=90, subsampling=1, progressive=True),
    # OpenCV: 4:4:0 and 4:1:1, restart intervals, progressive, optimized
    "cv_440": lambda: opencv(37, 45, sampling="440"),
    "cv_411": lambda: opencv(37, 45, sampling="411", quality=75),
    "cv_440_prog": lambda: opencv(37, 45, sampling="440", progressive=True),
    "cv_420_rst3": lambda: opencv(37, 45, sampling="420", restart=3),
    "cv_444_rst1_opt": lambda: opencv(16, 24, sampling="444", restart=1, optimize=True),
    "cv_422_prog_rst2": lambda: opencv(33, 47, sampling="422", progressive=True, restart=2),
    "cv_gray_rst2": lambda: opencv(30, 41, gray=True, restart=2, quality=55),
    "cv_gray_prog": lambda: opencv(30, 41, gray=True, progressive=True),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_coefficients_and_tables_equal_libjpeg(name):
    assert_matches_libjpeg(CASES[name]())


def test_the_plain_scan_decoder_is_the_compiled_one():
    """use_numba=False runs entropy.decode_scan uncompiled: same coefficients (STYLE.md 5)."""
    for name in ("pil_q90_420", "pil_q95_420_prog", "cv_420_rst3", "cv_422_prog_rst2",
                 "pil_cmyk_prog", "pil_17x13_420"):
        data = CASES[name]()
        fast, plain = read_jpeg(data), read_jpeg(data, use_numba=False)
        for a, b in zip(fast.components, plain.components):
            assert np.array_equal(a.coefficients, b.coefficients), name


def test_corpus_variants_equal_libjpeg():
    """The other corpus encoder's variants (conformance/encoders/jpeg.py), when available."""
    ej = pytest.importorskip("conformance.encoders.jpeg")
    variants = [v for v in ej.jpeg_variants(None) if "arithmetic" not in v.tags
                and "lossless" not in v.tags]
    assert variants  # (jpeglib's libjpeg build has no arithmetic or lossless decoding: those
    for v in variants:  # files are checked against libjpeg-turbo 3 in test_jpeg_arithmetic.py and
        assert_matches_libjpeg(v.data)  # test_jpeg_lossless.py)


# ------------------------------------------------------------------------------------------
# Frame, geometry, progression bookkeeping, metadata
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("h, w, sub, factors", [
    (13, 17, 2, [(2, 2), (1, 1), (1, 1)]), (45, 61, 1, [(2, 1), (1, 1), (1, 1)]),
    (3, 150, 0, [(1, 1), (1, 1), (1, 1)]), (1, 1, 2, [(2, 2), (1, 1), (1, 1)])])
def test_frame_and_padded_block_grid(h, w, sub, factors):
    """A.1.1 component sizes and the MCU-padded grid of model.Component."""
    im = read_jpeg(pillow(h, w, quality=90, subsampling=sub))
    assert (im.width, im.height, im.precision, im.process) == (w, h, 8, "baseline")
    hmax, vmax = max(f[0] for f in factors), max(f[1] for f in factors)
    mcus_x, mcus_y = -(-w // (8 * hmax)), -(-h // (8 * vmax))
    for c, (fh, fv) in zip(im.components, factors):
        assert (c.h, c.v) == (fh, fv)
        assert (c.width, c.height) == (-(-w * fh // hmax), -(-h * fv // vmax))
        assert c.coefficients.shape == (mcus_y * fv, mcus_x * fh, 64)
        assert c.coef_bits is None


def test_one_component_grid_is_not_mcu_padded():
    im = read_jpeg(pillow(29, 43, mode="L", quality=80))
    (c,) = im.components
    assert c.coefficients.shape == (4, 6, 64) and (c.width, c.height) == (43, 29)


def walk(data: bytes) -> list[tuple[int, int, int]]:
    """(marker code, offset of the 0xFF, offset after the segment or entropy-coded data).

    Independent of the reader: a segment is FF code length...; after SOS the entropy-coded
    data runs to the first 0xFF followed by neither 0x00 nor RSTm."""
    out, pos = [], 2
    while pos < len(data):
        code = data[pos + 1]
        if code == 0xD9:
            out.append((code, pos, pos + 2))
            break
        length = struct.unpack_from(">H", data, pos + 2)[0]
        end = pos + 2 + length
        if code == 0xDA:
            while not (data[end] == 0xFF and data[end + 1] != 0
                       and not 0xD0 <= data[end + 1] <= 0xD7):
                end += 1
        out.append((code, pos, end))
        pos = end
    return out


def segment(data: bytes, code: int, n: int = 0) -> tuple[int, int]:
    """(offset, end) of the n-th segment with marker ``code``."""
    return [(o, e) for c, o, e in walk(data) if c == code][n]


def sos_header_end(data: bytes, n: int = 0) -> int:
    o, _ = segment(data, 0xDA, n)
    return o + 2 + struct.unpack_from(">H", data, o + 2)[0]


def scan_bands(data: bytes) -> list[tuple[list[int], int, int, int, int]]:
    """(component ids, Ss, Se, Ah, Al) of every scan, read from the SOS segments."""
    out = []
    for code, o, _ in walk(data):
        if code == 0xDA:
            ns = data[o + 4]
            ids = [data[o + 5 + 2 * j] for j in range(ns)]
            ss, se, a = data[o + 5 + 2 * ns], data[o + 6 + 2 * ns], data[o + 7 + 2 * ns]
            out.append((ids, ss, se, a >> 4, a & 15))
    return out


def expected_coef_bits(data: bytes, cid: int) -> np.ndarray:
    """Per natural-order coefficient, the Al of the last scan that sent it, else -1."""
    bits = np.full(64, -1)
    for ids, ss, se, _, al in scan_bands(data):
        if cid in ids:
            bits[ZIGZAG[ss:se + 1]] = al
    return bits


def keep_scans(data: bytes, k: int) -> bytes:
    """The file cut after its k-th scan, with EOI appended (a valid, incomplete progression)."""
    ends = [e for c, _, e in walk(data) if c == 0xDA]
    return data[:ends[k - 1]] + b"\xff\xd9"


@pytest.mark.parametrize("scans", [1, 2, 4, None])
def test_progressive_coef_bits(scans):
    full = pillow(33, 40, quality=85, subsampling=2, progressive=True)
    data = full if scans is None else keep_scans(full, scans)
    im = read_jpeg(data)
    assert im.process == "progressive"
    for c in im.components:
        assert c.coef_bits.dtype == np.int16
        assert np.array_equal(c.coef_bits, expected_coef_bits(data, c.id)), c.id
    if scans is None:
        assert all((c.coef_bits == 0).all() for c in im.components)
    else:
        assert_matches_libjpeg(data)


def test_metadata_exif_icc_jfif_adobe():
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation
    icc = bytes(np.random.default_rng(3).integers(0, 256, 70000, dtype=np.uint8))  # 2 chunks
    data = pillow(16, 24, quality=90, exif=exif.tobytes(), icc_profile=icc)
    info = Image.open(io.BytesIO(data)).info
    im = read_jpeg(data)
    assert im.exif == info["exif"][6:] and read_orientation(im.exif) == (6, None)
    assert im.icc_profile == icc == info["icc_profile"]
    assert im.jfif is True and "jfif" in info and im.adobe_transform is None
    assert data.count(b"ICC_PROFILE\x00") == 2


def test_cmyk_has_adobe_transform_0_and_no_jfif():
    data = pillow(20, 33, mode="CMYK", quality=85)
    info = Image.open(io.BytesIO(data)).info
    im = read_jpeg(data)
    assert im.adobe_transform == 0 == info["adobe_transform"]
    assert im.jfif is False and "jfif" not in info
    assert im.exif is None and im.icc_profile is None and im.warnings == ()


def test_restart_interval_is_reported():
    assert read_jpeg(CASES["cv_420_rst3"]()).restart_interval == 3
    assert read_jpeg(CASES["pil_q90_420"]()).restart_interval == 0


def replace_dqt_with_16_bit(data: bytes) -> bytes:
    """Every DQT table rewritten with Pq = 1 (same values as 16-bit big-endian)."""
    out, pos = bytearray(data[:2]), 2
    for code, o, e in walk(data):
        out += data[pos:o]
        if code != 0xDB:
            out += data[o:e]
        else:
            body, i, new = data[o + 4:e], 0, b""
            while i < len(body):
                pq, tq = body[i] >> 4, body[i] & 15
                size = 64 * (pq + 1)
                values = np.frombuffer(body[i + 1:i + 1 + size], ">u1" if pq == 0 else ">u2")
                new += bytes([0x10 | tq]) + values.astype(">u2").tobytes()
                i += 1 + size
            out += b"\xff\xdb" + struct.pack(">H", len(new) + 2) + new
        pos = e
    return bytes(out)


def test_16_bit_quant_tables_are_read_with_a_warning():
    base = CASES["pil_q75_422_opt"]()
    data = replace_dqt_with_16_bit(base)
    assert data != base
    assert_matches_libjpeg(data)
    a, b = read_jpeg(base), read_jpeg(data)
    for x, y in zip(a.components, b.components):
        assert np.array_equal(x.quant, y.quant) and np.array_equal(x.coefficients, y.coefficients)
    assert any("16-bit" in w for w in b.warnings) and a.warnings == ()


def test_quant_table_is_latched_at_the_first_scan():
    """A DQT redefining table 0 after the first scan (libjpeg latch_quant_tables)."""
    base = pillow(33, 40, quality=85, subsampling=2, progressive=True)
    o, e = segment(base, 0xDB)
    first_scan_end = segment(base, 0xDA, 0)[1]
    new_table = b"\xff\xdb\x00\x43\x00" + bytes(range(1, 65))
    data = base[:first_scan_end] + new_table + base[first_scan_end:]
    im, ref = read_jpeg(data), read_jpeg(base)
    for x, y in zip(im.components, ref.components):
        assert np.array_equal(x.quant, y.quant) and np.array_equal(x.coefficients, y.coefficients)


def test_trailing_data_after_eoi_is_a_warning():
    base = CASES["pil_q90_420"]()
    im = read_jpeg(base + b"trailer!")
    assert im.warnings == ("8 bytes after the EOI marker ignored",)
    assert np.array_equal(im.components[0].coefficients, read_jpeg(base).components[0].coefficients)


def test_zero_padding_bits_are_a_warning():
    """The padding of the last byte before EOI set to 0-bits (F.1.2.3 asks for 1-bits). Which
    trailing 1-bit is padding is decided by libjpeg: it ignores padding, so clearing a padding
    bit leaves its coefficients unchanged. Ours are unchanged too, with a warning."""
    tried = 0
    for name in sorted(CASES):
        base = CASES[name]()
        eoi = len(base) - 2
        last = base[eoi - 1]
        if last == 0xFF or base[eoi - 2] == 0xFF or not last & 1:
            continue
        data = base[:eoi - 1] + bytes([last & 0xFE]) + base[eoi:]
        tried += 1
        ours, theirs = libjpeg_dct(data)[0], libjpeg_dct(base)[0]
        if any(not np.array_equal(a, b) for a, b in zip(ours, theirs)):
            continue  # that bit was data, not padding
        assert_matches_libjpeg(data)
        assert any("padding" in w for w in read_jpeg(data).warnings)
        assert read_jpeg(base).warnings == ()
        return
    pytest.fail(f"no fixture ends with a 1-bit of padding ({tried} tried)")


# ------------------------------------------------------------------------------------------
# Huffman tables: Annex C, DECODE spec vs look-up
# ------------------------------------------------------------------------------------------

# T.81 Table K.3 (luminance DC): BITS, and the codes of categories 0..11 as bit strings.
K3_BITS = (0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0)
K3_CODES = ["00", "010", "011", "100", "101", "110", "1110", "11110", "111110", "1111110",
            "11111110", "111111110"]


def test_annex_c_code_generation_reproduces_table_k3():
    huffsize = entropy.generate_size_table(K3_BITS)
    huffcode = entropy.generate_code_table(huffsize)
    assert huffsize[-1] == 0 and huffsize[:-1] == [len(c) for c in K3_CODES]
    assert [format(c, f"0{s}b") for c, s in zip(huffcode, huffsize)] == K3_CODES
    assert entropy.code_space_problem(huffsize, huffcode) is None
    mincode, maxcode, valptr = entropy.decoder_tables(K3_BITS, huffcode)
    assert maxcode[1] == -1 and (mincode[2], maxcode[2], valptr[2]) == (0, 0, 0)
    assert (mincode[3], maxcode[3], valptr[3]) == (0b010, 0b110, 1)
    assert (mincode[9], maxcode[9], valptr[9]) == (0b111111110, 0b111111110, 11)


@pytest.mark.parametrize("bits, problem", [
    ((3,) + (0,) * 15, "more codes than the code space"),  # three 1-bit codes
    ((2,) + (0,) * 15, "all 1-bits"),  # 0 and 1: the 1-bit code 1 is all ones
    ((0, 3, 2) + (0,) * 13, "all 1-bits"),  # 00 01 10 then 110 111
    ((0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2), None),
])
def test_code_space_check(bits, problem):
    huffsize = entropy.generate_size_table(bits)
    found = entropy.code_space_problem(huffsize, entropy.generate_code_table(huffsize))
    assert (found is None) if problem is None else (problem in found)


@njit(cache=True)
def _spec_vs_lookup(lookup, maxcode, mincode, valptr, huffval):
    """Index of the first 16-bit window where the two DECODE forms differ, else -1."""
    for window in range(1 << 16):
        a = entropy.huffman_decode_spec(window, 0, maxcode, mincode, valptr, huffval)
        b = entropy.huffman_decode_lookup(window, 0, lookup, maxcode, mincode, valptr, huffval)
        if a[0] != b[0] or a[1] != b[1]:
            return window
    return -1


def check_decode_forms(table: entropy.HuffmanTable) -> None:
    arrays = entropy.stack_tables([table] + [None] * 3, [None] * 4)
    lookup, maxcode, mincode, valptr, huffval = arrays
    assert _spec_vs_lookup(lookup, maxcode, mincode, valptr, huffval) == -1, table.bits
    # Every code decodes to its own symbol with its own length (spec form, by construction).
    for size, code, value in zip(table.huffsize, table.huffcode, table.huffval):
        window = code << (16 - size)
        assert entropy.huffman_decode_spec(window, 0, maxcode, mincode, valptr, huffval) \
            == (value, size)


def corpus_tables() -> list[entropy.HuffmanTable]:
    tables = {}
    for make in CASES.values():
        data = make()
        for code, o, e in walk(data):
            if code == 0xC4:
                for spec in markers.parse_dht(data[o + 4:e], o, SOURCE):
                    tables[(spec.bits, spec.huffval)] = spec
    return [entropy.build_huffman_table(s.tc, s.th, s.bits, s.huffval, source=SOURCE, offset=0)
            for s in tables.values()]


def test_decode_lookup_equals_figure_f16_on_every_corpus_table():
    tables = corpus_tables()
    assert len(tables) >= 20  # default tables plus the optimized/progressive ones
    for table in tables:
        check_decode_forms(table)


def random_bits(rng) -> tuple[int, ...]:
    """Random BITS within the code space minus the all-ones point (Kraft sum < 1)."""
    bits, free = [0] * 16, 1  # free code points at the current length
    for length in range(16):
        free *= 2
        take = int(rng.integers(0, max(free - 1, 0) + 1)) if rng.random() < 0.6 else 0
        take = min(take, free - 1, 256 - sum(bits))
        bits[length] = take
        free -= take
    return tuple(bits)


def test_decode_lookup_equals_figure_f16_on_random_tables():
    rng = np.random.default_rng(81)
    for _ in range(30):
        bits = random_bits(rng)
        values = bytes(rng.permutation(256)[:sum(bits)].astype(np.uint8))
        check_decode_forms(entropy.build_huffman_table(1, 0, bits, values, source=SOURCE,
                                                       offset=0))


# ------------------------------------------------------------------------------------------
# Errors: type, source in the message, byte offset
# ------------------------------------------------------------------------------------------


def expect(data: bytes, kind: type, offset: int, words: str, **kw) -> ConformanceError:
    with pytest.raises(kind) as info:
        read_jpeg(data, source=SOURCE, **kw)
    err = info.value
    assert type(err) is kind
    assert str(err).startswith(f"{SOURCE} at byte {offset}: "), str(err)
    assert err.offset == offset and err.source == SOURCE
    assert words.lower() in str(err).lower(), str(err)
    return err


def put(data: bytes, offset: int, values: bytes) -> bytes:
    return data[:offset] + values + data[offset + len(values):]


BASE = CASES["pil_q90_420"]  # SOI APP0 DQT DQT SOF0 DHT x4 SOS ... EOI (Pillow/libjpeg order)
PROG = CASES["pil_q95_420_prog"]
RST = CASES["cv_420_rst3"]


def test_not_a_jpeg():
    expect(b"GIF89a....", DecodeError, 0, "no SOI")


def test_truncated_marker_segment():
    data = BASE()
    o, e = segment(data, 0xDB)
    expect(data[:o + 10], DecodeError, o, "truncated")


def test_truncated_entropy_data():
    data = BASE()
    start, cut = sos_header_end(data), sos_header_end(data) + 100
    while data[cut - 1] == 0xFF:  # do not cut between a 0xFF and its stuffed 0x00
        cut += 1
    expect(data[:cut], DecodeError, cut, "truncated entropy-coded data")
    expect(data[:cut] + b"\xff\xd9", DecodeError, cut, "marker EOI")  # EOI in mid-scan
    assert start < cut < len(data) - 2


def test_missing_eoi_is_an_error():
    data = BASE()
    expect(data[:-2], DecodeError, len(data) - 2, "without an EOI")
    expect(data[:-3], DecodeError, len(data) - 3, "truncated entropy-coded data")


def test_missing_sof_and_sos():
    data = BASE()
    o, e = segment(data, 0xC0)
    sos = segment(data, 0xDA)[0]
    expect(data[:o] + data[e:], DecodeError, sos - (e - o), "before any frame header")
    expect(data[:sos] + b"\xff\xd9", DecodeError, sos, "before any scan")


def test_unknown_and_reserved_markers():
    data = BASE()
    app0 = segment(data, 0xE0)[0]
    expect(put(data, app0, b"\xff\x02"), DecodeError, app0, "reserved marker")
    expect(put(data, app0, b"\xff\xf5"), UnsupportedFeature, app0, "JPG5")
    expect(put(data, app0, b"\xff\xc8"), UnsupportedFeature, app0, "reserved for JPEG extensions")
    expect(data[:app0] + b"\x00" + data[app0:], DecodeError, app0, "expected a marker")
    expect(data[:app0] + b"\xff\xd0" + data[app0:], DecodeError, app0, "outside an entropy")
    expect(data[:app0] + b"\xff\xd8" + data[app0:], DecodeError, app0, "second SOI")


def test_sof3_is_decoded_now():
    """SOF3 (lossless, Huffman) is decoded (tests/test_jpeg_lossless.py); a DCT file relabelled
    SOF3 is a malformed lossless file: its scan has Ss = 0, not a predictor 1..7."""
    data = BASE()
    sof = segment(data, 0xC0)[0]
    with pytest.raises(DecodeError, match="predictor 1..7"):
        read_jpeg(put(data, sof + 1, bytes([0xC3])))


@pytest.mark.parametrize("code, words", [
    (0xC5, "hierarchical"), (0xC7, "hierarchical mode: differential lossless"),
    (0xCD, "arithmetic coding, hierarchical mode: differential sequential DCT (SOF13)"),
    (0xCB, "arithmetic coding: lossless"),
    (0xCF, "arithmetic coding, hierarchical")])
def test_unsupported_processes(code, words):
    data = BASE()
    sof = segment(data, 0xC0)[0]
    expect(put(data, sof + 1, bytes([code])), UnsupportedFeature, sof, words)


def test_unsupported_markers_and_precision():
    data = BASE()
    sof = segment(data, 0xC0)[0]
    dac = b"\xff\xcc\x00\x04\x00\x01"  # DC table 0: L = 1 > U = 0 (Table B.6)
    expect(data[:sof] + dac + data[sof:], DecodeError, sof + 5, "L = 1 > U = 0")
    valid_dac = b"\xff\xcc\x00\x04\x00\x31"  # parsed; a Huffman frame does not use it
    assert read_jpeg(data[:sof] + valid_dac + data[sof:]).components[0].coefficients.tobytes() \
        == read_jpeg(data).components[0].coefficients.tobytes()
    expect(data[:sof] + b"\xff\xde\x00\x02" + data[sof:], UnsupportedFeature, sof, "hierarchical")
    twelve = put(put(data, sof + 1, b"\xc1"), sof + 4, b"\x0c")
    expect(twelve, UnsupportedFeature, sof + 4, "12-bit")
    expect(put(data, sof + 4, b"\x0c"), DecodeError, sof + 4, "precision P = 12 is not 8")
    expect(put(data, sof + 4, b"\x10"), DecodeError, sof + 4, "precision")


def test_arithmetic_coded_file_decodes():
    """SOF9 (tests/test_jpeg_arithmetic.py has the rest): the coefficients the writer coded."""
    arith = pytest.importorskip("conformance.encoders.jpeg_arith")
    samples = image(16, 16, 1)[..., 0] if image(16, 16, 1).ndim == 3 else image(16, 16, 1)
    data = arith.encode_gray_arithmetic(samples)
    got = read_jpeg(data)
    assert got.arithmetic and got.process == "extended"
    want = arith.forward_dct_quantised(samples)
    assert np.array_equal(got.components[0].coefficients.reshape(want.shape[:2] + (8, 8)), want)


def test_height_zero_with_and_without_dnl():
    data = BASE()
    sof = segment(data, 0xC0)[0]
    no_dnl = put(data, sof + 5, b"\x00\x00")
    expect(no_dnl, DecodeError, sof + 5, "no DNL segment")
    scan_end = segment(data, 0xDA)[1]
    dnl = b"\xff\xdc\x00\x04" + data[sof + 5:sof + 7]
    with_dnl = no_dnl[:scan_end] + dnl + no_dnl[scan_end:]
    expect(with_dnl, UnsupportedFeature, scan_end, "DNL")
    expect(data[:scan_end] + dnl + data[scan_end:], DecodeError, scan_end, "DNL segment where")


def test_frame_header_values():
    data = BASE()
    sof = segment(data, 0xC0)[0]
    c1 = sof + 10  # component 1: C1 H1|V1 Tq1 (after marker, Lf, P, Y, X, Nf)
    expect(put(data, c1 + 1, b"\x52"), DecodeError, c1 + 1, "H = 5")
    expect(put(data, c1 + 1, b"\x20"), DecodeError, c1 + 1, "V = 0")
    expect(put(data, c1 + 2, b"\x04"), DecodeError, c1 + 2, "quantization table 4")
    expect(put(data, c1 + 3, data[c1:c1 + 1]), DecodeError, c1 + 3, "appears twice")
    expect(put(data, sof + 7, b"\x00\x00"), DecodeError, sof + 7, "X = 0")
    expect(put(data, sof + 9, b"\x02"), DecodeError, sof + 2, "8 + 3")


def test_mcu_with_more_than_10_blocks():
    data = BASE()
    sof, sos = segment(data, 0xC0)[0], segment(data, 0xDA)[0]
    expect(put(data, sof + 11, b"\x44"), DecodeError, sos + 4, "more than 10")


def test_scan_header_values():
    data = BASE()
    sos = segment(data, 0xDA)[0]
    ns = data[sos + 4]
    ss = sos + 5 + 2 * ns
    expect(put(data, ss + 1, b"\x3e"), DecodeError, ss, "Se = 62")
    expect(put(data, ss + 2, b"\x10"), DecodeError, ss, "Ah = 1")
    expect(put(data, sos + 5, b"\x09"), DecodeError, sos + 5, "not in the frame")
    expect(put(data, sos + 7, data[sos + 5:sos + 6]), DecodeError, sos + 7, "appears twice")
    second = put(put(data, sos + 5, data[sos + 7:sos + 8]), sos + 7, data[sos + 5:sos + 6])
    expect(second, DecodeError, sos + 7, "out of frame order")
    expect(put(data, sos + 6, b"\x20"), DecodeError, sos + 6, "baseline allows 0..1")
    expect(put(data, sos + 4, b"\x05"), DecodeError, sos + 4, "Ns = 5")


def test_missing_tables():
    data = BASE()
    sof, sos = segment(data, 0xC0)[0], segment(data, 0xDA)[0]
    expect(put(data, sof + 12, b"\x03"), DecodeError, sos, "quantization table 3")
    extended = put(data, sof + 1, b"\xc1")  # SOF1 allows Huffman tables 2 and 3
    expect(put(extended, sos + 6, b"\x20"), DecodeError, sos + 6, "DC Huffman table 2")
    expect(put(extended, sos + 6, b"\x03"), DecodeError, sos + 6, "AC Huffman table 3")


def test_bad_quant_and_huffman_tables():
    data = BASE()
    dqt = segment(data, 0xDB)[0]
    expect(put(data, dqt + 5 + 5, b"\x00"), DecodeError, dqt + 10, "Q5 = 0")
    expect(put(data, dqt + 4, b"\x20"), DecodeError, dqt + 4, "Pq = 2")
    sof = segment(data, 0xC0)[0]
    for bits, words in (((3,) + (0,) * 15, "more codes than the code space"),
                        ((2,) + (0,) * 15, "all 1-bits")):
        dht = b"\x03" + bytes(bits) + bytes(range(sum(bits)))
        segment_bytes = b"\xff\xc4" + struct.pack(">H", len(dht) + 2) + dht
        expect(data[:sof] + segment_bytes + data[sof:], DecodeError, sof + 4, words)
    dht = segment(data, 0xC4)[0]
    expect(put(data, dht + 4, b"\x20"), DecodeError, dht + 4, "Tc = 2")


def test_bad_huffman_code():
    """16 one-bits where the first DC code starts: never a code (all-1s are reserved)."""
    data = BASE()
    start = sos_header_end(data)
    bad = data[:start] + b"\xff\x00\xff\x00" + data[start:]
    expect(bad, DecodeError, start, "no such Huffman code")


def test_restart_markers_out_of_sequence_or_missing():
    data = RST()
    rst0 = data.index(b"\xff\xd0", sos_header_end(data))
    expect(put(data, rst0, b"\xff\xd1"), DecodeError, rst0, "RST1 out of sequence: expected RST0")
    expect(put(data, rst0, b"\xff\xd9"), DecodeError, rst0,
           "expected restart marker RST0 before this MCU, found marker EOI")
    # RST0 removed: the decoder either runs into RST1 where RST0 belongs or fails inside the
    # next interval's data (where exactly depends on the bits); either way a DecodeError.
    with pytest.raises(DecodeError) as info:
        read_jpeg(data[:rst0] + data[rst0 + 2:], source=SOURCE)
    assert str(info.value).startswith(SOURCE) and info.value.offset is not None


def test_extraneous_bytes_before_a_marker():
    data = BASE()
    eoi = len(data) - 2
    expect(data[:eoi] + b"\x12\x34" + data[eoi:], DecodeError, eoi, "2 byte(s) of extra data")
    rst = RST()
    rst0 = rst.index(b"\xff\xd0", sos_header_end(rst))
    expect(rst[:rst0] + b"\x00" + rst[rst0:], DecodeError, rst0, "1 byte(s) of extra data")


def test_sequential_component_coded_twice():
    data = pillow(29, 43, mode="L", quality=80)
    sos, end = segment(data, 0xDA)
    twice = data[:end] + data[sos:end] + data[end:]
    expect(twice, DecodeError, end + 4, "already coded")


def test_progression_rules():
    data = PROG()
    bands = scan_bands(data)
    k = next(i for i, (ids, ss, se, ah, al) in enumerate(bands) if ss > 0 and ah == 0)
    o = segment(data, 0xDA, k)[0]
    a_byte = o + 4 + 1 + 2 * 1 + 2  # Ns, one component, Ss, Se, then Ah|Al
    ids, ss, se, ah, al = bands[k]
    expect(put(data, a_byte, bytes([((al + 1) << 4) | al])), DecodeError, a_byte,
           f"refinement with Ah = {al + 1} of coefficient {ss}")
    expect(put(data, o + 7, b"\x00"), DecodeError, o + 7, "DC scan codes the DC coefficient only")
    # The DC first scan removed: the first AC scan comes before any DC scan of its component.
    assert bands[0][1:3] == (0, 0) and bands[1][1] > 0
    first_dc = segment(data, 0xDA, 0)
    no_dc = data[:first_dc[0]] + data[first_dc[1]:]
    o2 = segment(no_dc, 0xDA, 0)[0]
    expect(no_dc, DecodeError, o2 + 7, "before its DC first scan")


def test_first_scan_of_a_band_already_sent():
    """A copy of an AC first scan right after it: the copy has Ah = 0 for coefficients that the
    original already sent."""
    data = PROG()
    k = next(i for i, (ids, ss, se, ah, al) in enumerate(scan_bands(data)) if ss > 0 and ah == 0)
    o, e = segment(data, 0xDA, k)
    twice = data[:e] + data[o:e] + data[e:]
    expect(twice, DecodeError, e + 9, "which an earlier scan already sent")


# Hand-built files for the entropy-level rules no encoder breaks. Every Huffman code here is 8
# bits long and the code of the i-th symbol of a table is i (BITS = 0,0,0,0,0,0,0,n,0...).


def huffman_segment(tc: int, symbols: list[int]) -> bytes:
    bits = [0] * 16
    bits[7] = len(symbols)
    body = bytes([tc << 4]) + bytes(bits) + bytes(symbols)
    return b"\xff\xc4" + struct.pack(">H", len(body) + 2) + body


class BitWriter:
    def __init__(self):
        self.bits: list[int] = []

    def put(self, value: int, n: int) -> BitWriter:
        self.bits += [(value >> (n - 1 - i)) & 1 for i in range(n)]
        return self

    def code(self, index: int, extra: int = 0, n: int = 0) -> BitWriter:
        return self.put(index, 8).put(extra, n)

    def ecs(self) -> bytes:
        bits = self.bits + [1] * (-len(self.bits) % 8)  # F.1.2.3: pad with 1-bits
        out = bytearray()
        for i in range(0, len(bits), 8):
            out.append(int("".join(map(str, bits[i:i + 8])), 2))
            if out[-1] == 0xFF:
                out.append(0)  # F.1.2.3: byte stuffing
        return bytes(out)


def tiny_jpeg(sof: int, scans: list[tuple], width: int = 8) -> bytes:
    """One 8-row gray component, quantisation table of ones; ``scans``: (DC symbols, AC symbols,
    Ss, Se, Ah, Al, BitWriter) each, the tables defined just before their scan."""
    dqt = b"\xff\xdb\x00\x43\x00" + b"\x01" * 64
    frame = bytes([0xFF, sof, 0, 11, 8, 0, 8]) + struct.pack(">H", width) + b"\x01\x01\x11\x00"
    out = b"\xff\xd8" + dqt + frame
    for dc, ac, ss, se, ah, al, bits in scans:
        out += (huffman_segment(0, dc) if dc else b"") + (huffman_segment(1, ac) if ac else b"")
        out += b"\xff\xda\x00\x08\x01\x01\x00" + bytes([ss, se, ah << 4 | al]) + bits.ecs()
    return out + b"\xff\xd9"


def expect_in_scan(data: bytes, kind: type, words: str) -> None:
    with pytest.raises(kind) as info:
        read_jpeg(data, source=SOURCE)
    err = info.value
    assert type(err) is kind and str(err).startswith(f"{SOURCE} at byte {err.offset}: ")
    assert sos_header_end(data) <= err.offset < len(data), err.offset
    assert words in str(err), str(err)


def test_entropy_rules_sequential():
    bw = BitWriter
    expect_in_scan(tiny_jpeg(0xC1, [([12], [0], 0, 63, 0, 0, bw().code(0, 0, 12))]), DecodeError,
                   "DC difference category 12 exceeds 11")
    expect_in_scan(tiny_jpeg(0xC1, [([0], [0x0B], 0, 63, 0, 0, bw().code(0).code(0, 0, 11))]),
                   DecodeError, "AC coefficient category 11 exceeds 10")
    runs = bw().code(0)
    for _ in range(4):  # R = 15, SSSS = 1 from K = 1: coefficients at 16, 32, 48, then 64
        runs.code(0, 1, 1)
    expect_in_scan(tiny_jpeg(0xC1, [([0], [0xF1], 0, 63, 0, 0, runs)]), DecodeError,
                   "zero run reaches zig-zag position 64")
    zrl = bw().code(0).code(0).code(0).code(0).code(0)  # ZRL at K = 1, 17, 33, 49 (49..64)
    expect_in_scan(tiny_jpeg(0xC1, [([0], [0xF0], 0, 63, 0, 0, zrl)]), DecodeError,
                   "zero run reaches zig-zag position 64")
    # 17 blocks, each DC difference +2047: the 17th DC is 34799, beyond 16 bits
    dc = bw()
    for _ in range(17):
        dc.code(0, 2047, 11).code(0)
    expect_in_scan(tiny_jpeg(0xC1, [([11], [0x00], 0, 63, 0, 0, dc)], width=8 * 17), DecodeError,
                   "coefficient value 34799 is outside the 16-bit range")


def test_zrl_up_to_the_last_coefficient_ends_the_block_like_libjpeg():
    """A ZRL covering zig-zag 48..63 ends the block without an EOB (Figure F.13's K = 63
    test; libjpeg does the same). Coefficients equal libjpeg's."""
    bits = BitWriter().code(0).code(0, 1, 1).code(0, 1, 1).code(1, 0, 1).code(2)
    data = tiny_jpeg(0xC1, [([0], [0xF1, 0xE1, 0xF0], 0, 63, 0, 0, bits)])
    assert_matches_libjpeg(data)
    block = read_jpeg(data).components[0].coefficients[0, 0]
    assert {int(ZIGZAG[k]): int(block[ZIGZAG[k]]) for k in np.flatnonzero(block[ZIGZAG])} == \
        {int(ZIGZAG[16]): 1, int(ZIGZAG[32]): 1, int(ZIGZAG[47]): -1}


def test_entropy_rules_progressive():
    bw = BitWriter
    dc_first = ([0], [], 0, 0, 0, 0, bw().code(0))
    expect_in_scan(tiny_jpeg(0xC2, [dc_first, ([], [0x10], 1, 63, 0, 0, bw().code(0, 0, 1))]),
                   DecodeError, "EOB run still has 1 blocks to go")
    ac_first = ([], [0x00], 1, 63, 0, 1, bw().code(0))
    expect_in_scan(tiny_jpeg(0xC2, [dc_first, ac_first, ([], [0x02], 1, 63, 1, 0, bw().code(0))]),
                   DecodeError, "category 2; only 1 is allowed")
    band1 = ([], [0x00], 1, 1, 0, 1, bw().code(0))
    expect_in_scan(tiny_jpeg(0xC2, [dc_first, band1, ([], [0x21], 1, 1, 1, 0, bw().code(0, 1, 1))]),
                   DecodeError, "zero run reaches zig-zag position 2")
    expect_in_scan(tiny_jpeg(0xC2, [([11], [], 0, 0, 0, 13, bw().code(0, 2047, 11))]),
                   DecodeError, "coefficient value 16769024 is outside")
    # and a valid one: DC 5 · 2^1, refined by a 1-bit to 11; the AC EOB run covers the block
    ok = tiny_jpeg(0xC2, [([3], [], 0, 0, 0, 1, bw().code(0, 5, 3)),
                          ([], [], 0, 0, 1, 0, bw().put(1, 1)),
                          ([], [0x00], 1, 63, 0, 0, bw().code(0))])
    assert_matches_libjpeg(ok)
    assert read_jpeg(ok).components[0].coefficients[0, 0, 0] == 11


def test_limits_before_allocation():
    data = BASE()
    sof = segment(data, 0xC0)[0]
    expect(data, LimitsExceeded, sof, "max_pixels", max_pixels=45 * 61 - 1)
    huge = put(data, sof + 5, b"\xff\xff\xff\xff")
    sos_end = sos_header_end(huge)
    tracemalloc.start()
    expect(huge, LimitsExceeded, sof, "4294836225 pixels")
    expect(huge[:sos_end] + b"\xff\xd9", DecodeError, sos_end, "truncated",
           max_pixels=1 << 32)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 10 << 20  # nothing the size of the claimed image was allocated


# ------------------------------------------------------------------------------------------
# Robustness: mutated files give a result or a typed error, never anything else
# ------------------------------------------------------------------------------------------


def mutate(data: bytes, rng) -> bytes:
    kind = rng.integers(0, 4)
    b = bytearray(data)
    if kind == 0:  # flip one to three bytes
        for _ in range(int(rng.integers(1, 4))):
            b[int(rng.integers(0, len(b)))] ^= int(rng.integers(1, 256))
    elif kind == 1:  # truncate
        del b[int(rng.integers(0, len(b))):]
    elif kind == 2:  # set a byte to a marker-like value
        b[int(rng.integers(0, len(b)))] = int(rng.choice([0x00, 0xFF, 0xD0, 0xD9, 0xDA, 0xC4]))
    else:  # insert or delete a byte
        i = int(rng.integers(0, len(b)))
        if rng.random() < 0.5:
            b.insert(i, int(rng.integers(0, 256)))
        else:
            del b[i]
    return bytes(b)


def test_mutations_give_a_result_or_a_typed_error():
    rng = np.random.default_rng(20260601)
    seeds = [CASES[n]() for n in ("pil_q90_420", "pil_q95_420_prog", "cv_420_rst3",
                                  "cv_422_prog_rst2", "pil_cmyk", "pil_gray_prog")]
    outcomes = {"ok": 0, "error": 0}
    for i in range(400):
        data = mutate(seeds[i % len(seeds)], rng)
        try:
            read_jpeg(data, source=SOURCE, max_pixels=1 << 20)
            outcomes["ok"] += 1
        except ConformanceError as e:
            assert isinstance(e, (DecodeError, UnsupportedFeature, LimitsExceeded))
            assert str(e).startswith(SOURCE)
            outcomes["error"] += 1
    assert outcomes["error"] > 200 and outcomes["ok"] > 10, outcomes
