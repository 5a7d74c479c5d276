"""Lossless JPEG (SOF3, Huffman, T.81 Annex H) in the reference decoder.

Oracles:

- the round trip: :mod:`conformance.encoders.jpeg_lossless` (written from the standard, sharing
  no code with the decoder) stores samples >> Pt; decoding must give exactly (samples >> Pt) << Pt;
- Pillow (libjpeg-turbo 3.x) and OpenCV (its bundled libjpeg-turbo 3.1, built with lossless
  support) decode the same files: the reference must equal them bit for bit.

libjpeg-turbo 3 does no colour conversion of lossless data: three components without a JFIF or
Adobe marker are RGB whatever their ids, and a JFIF (YCbCr) lossless file makes it fail
("Unsupported color conversion request"). Subsampled components are replicated.
"""

from __future__ import annotations

import io

import numpy as np
import pytest

from conformance.encoders.jpeg_lossless import encode_lossless
from conformance.errors import ConformanceError, DecodeError, UnsupportedFeature
from conformance.reference.decode import decode_image
from conformance.reference.jpeg import read_jpeg, reconstruct
from conformance.spec import make_step

PIL = pytest.importorskip("PIL")
from PIL import Image, features  # noqa: E402

try:
    import cv2
except ImportError:  # pragma: no cover
    cv2 = None

PREDICTORS = range(1, 8)
POINT_TRANSFORMS = (0, 1, 2)


def images() -> dict[str, np.ndarray]:
    """Random and corpus-like (smooth, flat, edges, extremes) test images, odd sizes."""
    rng = np.random.default_rng(20261207)
    h, w = 19, 23
    yy, xx = np.mgrid[0:h, 0:w]
    smooth = np.stack([(xx * 11 + yy * 3) % 256, (yy * 13) % 256, (xx * yy) % 256], axis=2)
    edges = np.where(((xx // 4 + yy // 3) % 2)[:, :, None] == 1, 255, 0) * np.ones((1, 1, 3))
    photo = np.clip(128 + 60 * np.sin(xx / 3.0)[:, :, None] * np.cos(yy / 5.0)[:, :, None]
                    + rng.normal(0, 6, (h, w, 3)), 0, 255)
    return {
        "random": rng.integers(0, 256, (h, w, 3)),
        "smooth": smooth,
        "edges": edges,
        "photo": photo,
        "flat": np.full((h, w, 3), 200),
        "column": rng.integers(0, 256, (17, 1, 3)),
        "row": rng.integers(0, 256, (1, 29, 3)),
    }


IMAGES = {k: v.astype(np.uint8) for k, v in images().items()}


def pillow(data: bytes, gray: bool) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        out = np.asarray(im.convert("L" if gray else "RGB"))
    return out[:, :, None] if gray else out


def opencv(data: bytes, gray: bool) -> np.ndarray | None:
    flag = cv2.IMREAD_GRAYSCALE if gray else cv2.IMREAD_COLOR
    out = cv2.imdecode(np.frombuffer(data, np.uint8), flag)
    if out is None:
        return None
    return out[:, :, None] if gray else out[:, :, ::-1]


def test_environment_decodes_lossless():
    assert features.version("libjpeg_turbo").startswith("3."), features.version("libjpeg_turbo")
    data = encode_lossless(IMAGES["random"], predictor=1)
    assert pillow(data, False).shape == (19, 23, 3)
    if cv2 is not None:  # OpenCV's bundled libjpeg-turbo 3.1 is built with lossless support
        assert opencv(data, False) is not None


@pytest.mark.parametrize("name", sorted(IMAGES))
@pytest.mark.parametrize("channels", (1, 3))
def test_round_trip_pillow_opencv(name, channels):
    img = IMAGES[name] if channels == 3 else IMAGES[name][:, :, :1]
    gray = channels == 1
    count = 0
    for predictor in PREDICTORS:
        for pt in POINT_TRANSFORMS:
            for restart_rows in (0, 1, 3):
                data = encode_lossless(img, predictor=predictor, pt=pt,
                                       restart_rows=restart_rows)
                expected = (img >> pt) << pt
                image = read_jpeg(data)
                assert image.process == "lossless"
                assert (image.predictor, image.point_transform) == (predictor, pt)
                for c, comp in enumerate(image.components):
                    assert np.array_equal(comp.samples, expected[:, :, c]), (predictor, pt, c)
                ref = reconstruct(image, colour="gray" if gray else "rgb")
                assert np.array_equal(ref, expected)
                assert np.array_equal(pillow(data, gray), ref), (predictor, pt, restart_rows)
                if cv2 is not None:
                    assert np.array_equal(opencv(data, gray), ref), (predictor, pt, restart_rows)
                count += 1
    assert count == 7 * 3 * 3


@pytest.mark.parametrize("predictor", PREDICTORS)
def test_subsampled_luma_2x2_is_replicated(predictor):
    """2x2 luma, 1x1 chroma, interleaved MCUs of 4 + 1 + 1 samples (A.2.3). libjpeg-turbo 3
    upsamples lossless chroma by replication; the decoded planes are the encoder's."""
    for name in ("random", "photo", "row", "column"):
        img = IMAGES[name]
        for pt, restart_rows in ((0, 0), (1, 2)):
            data = encode_lossless(img, predictor=predictor, pt=pt, luma_2x2=True,
                                   restart_rows=restart_rows)
            image = read_jpeg(data)
            assert [(c.h, c.v) for c in image.components] == [(2, 2), (1, 1), (1, 1)]
            for c, comp in enumerate(image.components):
                step = 1 if c == 0 else 2
                plane = (img[::step, ::step, c] >> pt) << pt
                assert np.array_equal(comp.samples, plane)
            ref = reconstruct(image, colour="rgb")
            assert np.array_equal(pillow(data, False), ref), (name, predictor, pt)
            if cv2 is not None:
                assert np.array_equal(opencv(data, False), ref), (name, predictor, pt)


@pytest.mark.parametrize("predictor", (1, 4, 7))
def test_one_scan_per_component_and_fixed_tables(predictor):
    img = IMAGES["photo"]
    for kw in (dict(interleaved=False), dict(interleaved=False, restart_rows=2),
               dict(table="fixed"), dict(adobe_transform=0), dict(component_ids=(82, 71, 66)),
               dict(component_ids=(7, 8, 9))):
        data = encode_lossless(img, predictor=predictor, pt=1, **kw)
        ref = reconstruct(read_jpeg(data), colour="rgb")
        assert np.array_equal(ref, (img >> 1) << 1), kw
        assert np.array_equal(pillow(data, False), ref), kw
        if cv2 is not None:
            assert np.array_equal(opencv(data, False), ref), kw


def test_restart_inside_an_imcu_row_follows_libjpeg_turbo():
    """A non-interleaved scan of a component with V = 2 and a restart every row: libjpeg-turbo
    resets prediction per iMCU row (2 rows), not per restart interval (module docstring of
    conformance.reference.jpeg.lossless). The encoder resets per T.81 interval; the reference
    decodes as libjpeg-turbo (Pillow) does, which here differs from the encoder's input."""
    img = IMAGES["photo"]
    data = encode_lossless(img, predictor=2, luma_2x2=True, interleaved=False, restart_rows=1)
    ref = reconstruct(read_jpeg(data), colour="rgb")
    assert np.array_equal(pillow(data, False), ref)
    luma = read_jpeg(data).components[0].samples
    assert not np.array_equal(luma, img[:, :, 0])  # rows 1, 3, 5, ... predicted from above
    # with restarts every 2 rows (one per iMCU row) T.81 and libjpeg-turbo agree
    data = encode_lossless(img, predictor=2, luma_2x2=True, interleaved=False, restart_rows=2)
    assert np.array_equal(read_jpeg(data).components[0].samples, img[:, :, 0])


def test_decode_image_preset_and_knobs():
    img = IMAGES["photo"]
    data = encode_lossless(img, predictor=5, pt=0, luma_2x2=True)
    base = decode_image(data, make_step({"op": "decode", "preset": "libjpeg-turbo"}))
    assert np.array_equal(base, pillow(data, False))
    # idct, upsampling and block smoothing do not apply to lossless frames
    for knobs in ({"idct": "float"}, {"upsampling": "nearest"}, {"upsampling": "zune"},
                  {"block_smoothing": "off"}):
        step = make_step({"op": "decode", "preset": "libjpeg-turbo", **knobs})
        assert np.array_equal(decode_image(data, step), base), knobs
    bgr = decode_image(data, make_step({"op": "decode", "preset": "libjpeg-turbo",
                                        "output": "bgr"}))
    assert np.array_equal(bgr, base[:, :, ::-1])
    gray_file = encode_lossless(img[:, :, 0], predictor=3, pt=2)
    gray = decode_image(gray_file, make_step({"op": "decode", "preset": "libjpeg-turbo",
                                              "output": "gray"}))
    assert np.array_equal(gray, pillow(gray_file, True))
    rgb = decode_image(gray_file, make_step({"op": "decode", "preset": "pillow"}))
    assert np.array_equal(rgb, pillow(gray_file, False))  # Pillow converts L -> RGB itself
    # libjpeg asked for RGB of a gray lossless file refuses (as cv2.imdecode IMREAD_COLOR does)
    with pytest.raises(UnsupportedFeature, match="JERR_CONVERSION_NOTIMPL"):
        decode_image(gray_file, make_step({"op": "decode", "preset": "libjpeg-turbo"}))
    assert cv2.imdecode(np.frombuffer(gray_file, np.uint8), cv2.IMREAD_COLOR) is None
    converted = decode_image(gray_file, make_step({"op": "decode", "preset": "libjpeg-turbo",
                                                   "lossless_color": "convert"}))
    assert np.array_equal(converted, rgb)


def test_jfif_ycbcr_lossless_is_converted_but_libjpeg_turbo_refuses():
    img = IMAGES["smooth"]
    data = encode_lossless(img, predictor=1, jfif=True)
    image = read_jpeg(data)
    assert np.array_equal(reconstruct(image, colour="native"), reconstruct(image, colour="rgb"))
    assert not np.array_equal(reconstruct(image, colour="rgb"), img)  # YCbCr -> RGB applied
    with pytest.raises(OSError):
        pillow(data, False)
    if cv2 is not None:
        assert opencv(data, False) is None


def test_category_16_and_values_past_the_sample_range():
    """SSSS = 16 codes 32768 with no additional bits; (Px + 32768) mod 2^16 is then far above
    255, and the output is cut to 8 bits after << Pt, as libjpeg-turbo's JSAMPLE cast does."""
    h, w = 4, 6
    diffs = np.zeros((h, w), dtype=np.int64)
    diffs[1, 2] = 32768
    diffs[2, 0] = -255
    diffs[3, 5] = 32768
    for pt in (0, 1):
        data = encode_lossless(np.zeros((h, w), np.uint8), predictor=1, pt=pt,
                               raw_differences=diffs)
        image = read_jpeg(data)
        assert any("exceed" in warning for warning in image.warnings)
        ref = reconstruct(image, colour="gray")
        assert np.array_equal(pillow(data, True), ref), pt
        if cv2 is not None:
            assert np.array_equal(opencv(data, True), ref)


def test_numba_and_python_agree():
    img = IMAGES["random"]
    for kw in (dict(predictor=6, pt=2, restart_rows=2), dict(predictor=4, luma_2x2=True)):
        data = encode_lossless(img, **kw)
        a = read_jpeg(data)
        b = read_jpeg(data, use_numba=False)
        for ca, cb in zip(a.components, b.components):
            assert np.array_equal(ca.samples, cb.samples)


def sos_offset(data: bytes) -> int:
    return data.index(b"\xff\xda")


def test_malformed_and_unsupported_headers():
    img = IMAGES["random"][:, :, 0]
    data = encode_lossless(img, predictor=1)
    sof = data.index(b"\xff\xc3")
    sos = sos_offset(data)
    ns = data[sos + 4]
    ss_at = sos + 5 + 2 * ns

    def put(at, value):
        return data[:at] + bytes([value]) + data[at + 1:]

    with pytest.raises(UnsupportedFeature, match="lossless JPEG with 12-bit"):
        read_jpeg(put(sof + 4, 12))
    with pytest.raises(UnsupportedFeature, match="only P = 8"):
        read_jpeg(put(sof + 4, 16))
    with pytest.raises(DecodeError, match="not 2..16"):
        read_jpeg(put(sof + 4, 1))
    with pytest.raises(DecodeError, match="predictor 1..7"):
        read_jpeg(put(ss_at, 0))
    with pytest.raises(DecodeError, match="predictor 1..7"):
        read_jpeg(put(ss_at, 8))
    with pytest.raises(DecodeError, match="Se = 0 and Ah = 0"):
        read_jpeg(put(ss_at + 1, 63))
    with pytest.raises(DecodeError, match="Se = 0 and Ah = 0"):
        read_jpeg(put(ss_at + 2, 0x10))
    with pytest.raises(DecodeError, match="below P = 8"):
        read_jpeg(put(ss_at + 2, 8))
    # SOF11 (arithmetic lossless) stays unsupported
    with pytest.raises(UnsupportedFeature, match="arithmetic coding: lossless"):
        read_jpeg(put(sof + 1, 0xCB))


def test_restart_interval_must_be_whole_rows():
    img = IMAGES["random"]
    data = encode_lossless(img, predictor=1, restart_interval=5)  # rows of 23 MCUs
    with pytest.raises(DecodeError, match="not a whole number of MCU rows"):
        read_jpeg(data)
    with pytest.raises(OSError):  # libjpeg-turbo: JERR_BAD_RESTART
        pillow(data, False)


def test_category_above_16_is_an_error():
    """A Huffman table may hold symbols above 16; Table H.2 has none: a table with one is
    refused when a lossless scan selects it (libjpeg-turbo jdhuff.c does the same), whether or
    not the symbol is used."""
    h, w = 3, 4
    diffs = np.zeros((h, w), dtype=np.int64)
    diffs[1, 1] = 32768
    data = encode_lossless(np.zeros((h, w), np.uint8), predictor=1, table="fixed",
                           raw_differences=diffs)
    dht = data.index(b"\xff\xc4")
    huffval_16 = dht + 5 + 16 + 16  # marker, length, Tc|Th, BITS, then HUFFVAL[16] = 16
    assert data[huffval_16] == 16
    bad = data[:huffval_16] + b"\x11" + data[huffval_16 + 1:]
    with pytest.raises(DecodeError, match="holds symbol 17"):
        read_jpeg(bad)
    with pytest.raises(OSError):
        pillow(bad, True)
    unused = data[:huffval_16 - 5] + b"\xb8" + data[huffval_16 - 4:]  # category 11: unused
    with pytest.raises(DecodeError, match="holds symbol 184"):
        read_jpeg(unused)
    with pytest.raises(OSError):
        pillow(unused, True)


def test_truncated_and_missing_restart():
    data = encode_lossless(IMAGES["photo"], predictor=7, restart_rows=2)
    with pytest.raises(DecodeError, match="truncated"):
        read_jpeg(data[:len(data) // 2] + b"\xff\xd9")
    rst = data.index(b"\xff\xd1")
    with pytest.raises(DecodeError, match=r"RST1|restart marker"):
        read_jpeg(data[:rst + 1] + b"\xd5" + data[rst + 2:])


def mutation_files() -> list[bytes]:
    return [
        encode_lossless(IMAGES["random"], predictor=4, restart_rows=2),
        encode_lossless(IMAGES["photo"], predictor=7, pt=1, luma_2x2=True),
        encode_lossless(IMAGES["smooth"][:, :, 0], predictor=1, table="fixed"),
        encode_lossless(IMAGES["edges"], predictor=5, interleaved=False, restart_rows=1,
                        jfif=True),
    ]


def test_mutation_sweep_only_conformance_errors():
    """Seeded byte flips and truncations: the reference either decodes (to the right shape) or
    raises a ConformanceError subclass, never any other exception."""
    rng = np.random.default_rng(3)
    outcomes = {"decoded": 0, "DecodeError": 0, "UnsupportedFeature": 0, "LimitsExceeded": 0}
    total = 0
    for data in mutation_files():
        n = len(data)
        variants = []
        for _ in range(150):
            pos = int(rng.integers(2, n))
            value = int(rng.integers(0, 256))
            variants.append(data[:pos] + bytes([value]) + data[pos + 1:])
        for _ in range(50):
            cut = int(rng.integers(2, n))
            variants.append(data[:cut])
        for _ in range(25):
            a, b = sorted(int(v) for v in rng.integers(2, n, 2))
            variants.append(data[:a] + data[b:])
        for v in variants:
            total += 1
            try:
                image = read_jpeg(v, max_pixels=1 << 16)
                out = reconstruct(image, colour="rgb")
                assert out.shape == (image.height, image.width, 3)
                outcomes["decoded"] += 1
            except ConformanceError as e:
                outcomes[type(e).__name__] += 1
    assert total == 4 * 225
    assert sum(outcomes.values()) == total
    print("mutation outcomes:", outcomes)


def test_four_components_cmyk():
    """Four components, no Adobe marker or Adobe transform 0: CMYK, passed through by
    libjpeg-turbo (Pillow then reads it as inverted CMYK, OpenCV converts to BGR)."""
    img = np.random.default_rng(4).integers(0, 256, (11, 13, 4), dtype=np.uint8)
    for kw in (dict(), dict(adobe_transform=0, restart_rows=1)):
        data = encode_lossless(img, predictor=3, **kw)
        image = read_jpeg(data)
        assert np.array_equal(np.stack([c.samples for c in image.components], axis=2), img)
        with Image.open(io.BytesIO(data)) as im:
            assert im.mode == "CMYK"
            assert np.array_equal(np.asarray(im), reconstruct(image, colour="native"))
            assert np.array_equal(np.asarray(im.convert("RGB")), reconstruct(image, colour="rgb"))
        if cv2 is not None:
            cv = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)[:, :, ::-1]
            assert np.array_equal(cv, reconstruct(image, colour="rgb", cmyk_rgb="opencv"))


def test_decoded_mutants_equal_pillow():
    """Byte flips the reference accepts (they keep the file valid, e.g. inside the entropy-coded
    data) decode to exactly what Pillow decodes."""
    rng = np.random.default_rng(11)
    checked = 0
    for data in mutation_files()[:3]:
        for _ in range(120):
            pos = int(rng.integers(2, len(data)))
            v = data[:pos] + bytes([int(rng.integers(0, 256))]) + data[pos + 1:]
            try:
                image = read_jpeg(v)
                if image.adobe_transform is None and image.jfif:
                    continue
                gray = len(image.components) == 1
                ref = reconstruct(image, colour="gray" if gray else "rgb")
            except ConformanceError:
                continue
            assert np.array_equal(pillow(v, gray), ref), pos
            checked += 1
    assert checked > 50
