"""Arithmetic-coded JPEG decoding (reference/jpeg/arithmetic.py; T.81 Annex D, F.2.4, G.2).

Oracles:

- Pillow 13 and OpenCV 5 (libjpeg-turbo, built with arithmetic decoding): the reference decode of
  every arithmetic file equals theirs, 0 difference.
- The Huffman original: ``jpegtran -arithmetic`` (Debian libjpeg-turbo-progs) re-codes a Huffman
  JPEG losslessly, so the quantised coefficients of the arithmetic file must equal those of the
  Huffman file, decoded by the independent Huffman path (reference/jpeg/entropy.py).

The files: the corpus's own arithmetic files (conformance/encoders/jpeg_arith.py, always
available, with and without DAC), and, when ``jpegtran`` is on PATH, arithmetic sequential,
progressive and restart-interval variants of every corpus JPEG (gray, 4:4:4, 4:2:2, 4:2:0, 4:4:0,
4:1:1, CMYK, ...). Figures are printed (``pytest -s``).
"""

from __future__ import annotations

import io
import random
import shutil
import subprocess
import time
from functools import lru_cache

import cv2
import numpy as np
import pytest
from PIL import Image

from conformance import synthetic as syn
from conformance.corpus import jpeg_inputs
from conformance.encoders import jpeg as ej
from conformance.encoders import jpeg_arith
from conformance.errors import ConformanceError, DecodeError, UnsupportedFeature
from conformance.presets import DECODE_PRESETS
from conformance.reference.decode import decode_image
from conformance.reference.jpeg import arithmetic, read_jpeg
from conformance.spec import Decode

PILLOW = Decode(**DECODE_PRESETS["pillow"], preset="pillow")
OPENCV = Decode(**DECODE_PRESETS["opencv"], preset="opencv")
OPENCV_GRAY = Decode(**DECODE_PRESETS["opencv.gray"], preset="opencv.gray")

JPEGTRAN = shutil.which("jpegtran")
needs_jpegtran = pytest.mark.skipif(
    JPEGTRAN is None, reason="jpegtran not on PATH (Debian package libjpeg-turbo-progs): the "
                             "arithmetic variants of the corpus JPEGs cannot be made")
# jpegtran switch sets: sequential, progressive, restart every MCU, progressive + restart rows
JPEGTRAN_MODES = {"seq": ["-arithmetic"], "prog": ["-arithmetic", "-progressive"],
                  "rst1": ["-arithmetic", "-restart", "1B"],
                  "prog.rst2": ["-arithmetic", "-progressive", "-restart", "2B"],
                  "rstrow": ["-arithmetic", "-restart", "1"]}


def jpegtran(data: bytes, args: list[str]) -> bytes:
    done = subprocess.run([JPEGTRAN, "-copy", "all", *args], input=data, capture_output=True,
                          check=True)
    return done.stdout


def pillow_decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


def cv_decode(data: bytes, flags: int) -> np.ndarray:
    a = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    assert a is not None
    return a[:, :, None] if a.ndim == 2 else a


def worst_difference(data: bytes, name: str) -> int:
    """max |reference - library| over the pillow, opencv and opencv.gray presets."""
    worst = 0
    for step, want in ((PILLOW, pillow_decode(data)), (OPENCV, cv_decode(data, cv2.IMREAD_COLOR)),
                       (OPENCV_GRAY, cv_decode(data, cv2.IMREAD_GRAYSCALE))):
        got = decode_image(data, step, source=name)
        assert got.shape == want.shape, (name, step.preset, got.shape, want.shape)
        worst = max(worst, int(np.abs(got.astype(np.int32) - want.astype(np.int32)).max()))
    return worst


def same_coefficients(a, b) -> bool:
    return len(a.components) == len(b.components) and all(
        np.array_equal(x.coefficients, y.coefficients) and np.array_equal(x.quant, y.quant)
        for x, y in zip(a.components, b.components))


@lru_cache(maxsize=None)
def huffman_corpus() -> tuple[tuple[str, bytes], ...]:
    return tuple((f.id, f.data) for f in jpeg_inputs()  # DCT files (jpegtran cannot recode lossless)
                 if "arithmetic" not in f.tags and "jpeg_unsupported" not in f.tags
                 and "lossless" not in f.tags)


@lru_cache(maxsize=None)
def jpegtran_variants() -> tuple[tuple[str, bytes, bytes], ...]:
    """(name, Huffman original, arithmetic variant) for every corpus JPEG and jpegtran mode."""
    return tuple((f"{name}.{mode}", data, jpegtran(data, args))
                 for name, data in huffman_corpus() for mode, args in JPEGTRAN_MODES.items())


# ------------------------------------------------------------------------------------------
# Our own arithmetic files (always available)
# ------------------------------------------------------------------------------------------


def test_corpus_arithmetic_files_decode_like_libjpeg():
    files = [f for f in jpeg_inputs() if "arithmetic" in f.tags]
    assert [f.id.split(".")[2] for f in files] == ["sof9", "sof9_dac"]
    for f in files:
        assert f.expect == "ok" and "jpeg_unsupported" not in f.tags
        assert worst_difference(f.data, f.id) == 0
        image = read_jpeg(f.data, source=f.id)
        assert image.arithmetic and image.process == "extended" and image.warnings == ()
    assert b"\xff\xcc" in files[1].data and b"\xff\xcc" not in files[0].data


@pytest.mark.parametrize("conditioning", [None, (0, 0, 1), (1, 3, 20), (5, 9, 40), (15, 15, 63)])
@pytest.mark.parametrize("size", [(8, 8), (37, 45), (67, 45)])
def test_own_encoder_with_dac(conditioning, size):
    """DAC conditioning (L, U, Kx at the ends of their ranges): libjpeg and the reference agree
    with each other and with the coefficients the encoder wrote."""
    samples = syn.zone_plate(*size)[..., 0]
    data = jpeg_arith.encode_gray_arithmetic(samples, conditioning)
    assert worst_difference(data, f"own.{conditioning}.{size}") == 0
    coef = read_jpeg(data).components[0].coefficients
    want = jpeg_arith.forward_dct_quantised(samples)
    assert np.array_equal(coef.reshape(want.shape[:2] + (8, 8)), want)


def test_spec_and_compiled_decoders_agree():
    """decode_scan (plain Python, the specification) and decode_scan_jit give the same image."""
    samples = syn.text_like(29, 43)[..., 1]
    data = jpeg_arith.encode_gray_arithmetic(samples, (2, 4, 9))
    a, b = read_jpeg(data, use_numba=False), read_jpeg(data)
    assert same_coefficients(a, b)


# ------------------------------------------------------------------------------------------
# jpegtran variants of the corpus
# ------------------------------------------------------------------------------------------


@needs_jpegtran
def test_jpegtran_variants_equal_pillow_opencv_and_huffman_coefficients():
    files = worst = 0
    kinds = set()
    for name, huffman, arith in jpegtran_variants():
        assert arith[:2] == b"\xff\xd8" and (b"\xff\xc9" in arith or b"\xff\xca" in arith), name
        image = read_jpeg(arith, source=name)
        assert image.arithmetic
        assert same_coefficients(image, read_jpeg(huffman, source=name)), name
        worst = max(worst, worst_difference(arith, name))
        files += 1
        kinds.add((image.process, image.restart_interval > 0, len(image.components)))
    print(f"\njpegtran arithmetic variants: {files} files, coefficients equal to the Huffman "
          f"originals, worst |reference - Pillow/OpenCV| = {worst}")
    assert worst == 0
    assert files == len(huffman_corpus()) * len(JPEGTRAN_MODES) >= 200
    assert {(p, r) for p, r, _ in kinds} == {("extended", False), ("extended", True),
                                             ("progressive", False), ("progressive", True)}
    assert {n for _, _, n in kinds} >= {1, 3, 4}


@needs_jpegtran
def test_progressive_arithmetic_in_the_spec_decoder():
    """The plain-Python decoder on one progressive 4:2:0 variant with restarts (every G.2 kind)."""
    data = ej.encode_pillow(syn.zone_plate(20, 28), quality=90, sampling="420")
    arith = jpegtran(data, ["-arithmetic", "-progressive", "-restart", "1B"])
    assert same_coefficients(read_jpeg(arith, use_numba=False), read_jpeg(data))


# ------------------------------------------------------------------------------------------
# Headers: SOF11 and DAC checks
# ------------------------------------------------------------------------------------------


def own_file() -> bytes:
    return jpeg_arith.encode_gray_arithmetic(syn.gradients(16, 16)[..., 1])


def with_dac(payload: bytes) -> bytes:
    data = own_file()
    sof = data.index(b"\xff\xc9")
    return data[:sof] + b"\xff\xcc" + (len(payload) + 2).to_bytes(2, "big") + payload + data[sof:]


def test_lossless_arithmetic_stays_unsupported():
    data = own_file().replace(b"\xff\xc9", b"\xff\xcb", 1)
    with pytest.raises(UnsupportedFeature, match="SOF11"):
        read_jpeg(data)


@pytest.mark.parametrize("payload, words", [
    (b"\x00\x10", None),  # L = 0, U = 1: the defaults, valid
    (b"\x00\x12", "L = 2 > U = 1"),
    (b"\x10\x00", "Kx = 0"),
    (b"\x10\x40", "Kx = 64"),
    (b"\x20\x05", "Tc = 2"),
    (b"\x04\x10", "Tb = 4"),
    (b"\x00", "not 2 + 2"),
])
def test_dac_ranges(payload, words):
    data = with_dac(payload)
    if words is None:
        assert same_coefficients(read_jpeg(data), read_jpeg(own_file()))
        return
    with pytest.raises(DecodeError, match=words.replace("+", r"\+")):
        read_jpeg(data)


def test_dac_changes_the_decoding():
    """The same file with its DAC values replaced by the defaults decodes differently (or
    fails): the conditioning is used, not parsed and dropped."""
    data = jpeg_arith.encode_gray_arithmetic(syn.zone_plate(37, 45)[..., 0], (1, 3, 20))
    base = read_jpeg(data)
    patched = data.replace(b"\xff\xcc\x00\x06\x00\x31\x10\x14", b"\xff\xcc\x00\x06\x00\x10\x10\x05")
    assert patched != data
    try:
        other = read_jpeg(patched)
    except DecodeError:
        return
    assert not same_coefficients(other, base)


def test_truncated_and_extra_bytes_are_errors():
    data = own_file()
    with pytest.raises(DecodeError, match="truncated"):
        read_jpeg(data[:len(data) - 4])
    with pytest.raises(DecodeError, match="extra data"):
        read_jpeg(data[:-2] + b"\x12\x34\x56\x78\x12\x34" + data[-2:])


# ------------------------------------------------------------------------------------------
# Mutation sweep: only decoded arrays or ConformanceErrors
# ------------------------------------------------------------------------------------------

MUTATIONS_PER_FILE = 300


def mutate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    kind = rng.randrange(5)
    at = rng.randrange(len(b))
    if kind == 0:
        b[at] ^= 1 << rng.randrange(8)
    elif kind == 1:
        b[at] = rng.randrange(256)
    elif kind == 2:
        b.insert(at, rng.choice((0x00, 0xFF, rng.randrange(256))))
    elif kind == 3:
        del b[at:at + rng.randrange(1, 4)]
    else:
        b = b[:at]
    return bytes(b)


def sweep_files() -> list[tuple[str, bytes]]:
    files = [("own.gray", own_file()),
             ("own.dac", jpeg_arith.encode_gray_arithmetic(syn.text_like(20, 24)[..., 1],
                                                           (1, 4, 12)))]
    if JPEGTRAN:
        base = ej.encode_pillow(syn.zone_plate(20, 28), quality=85, sampling="420")
        files += [("jt.seq.rst", jpegtran(base, ["-arithmetic", "-restart", "1B"])),
                  ("jt.prog", jpegtran(base, ["-arithmetic", "-progressive"]))]
    return files


def test_mutation_sweep():
    rng = random.Random(20260)
    outcomes = {"decoded": 0}
    tried = 0
    for name, data in sweep_files():
        variants = [data[:n] for n in range(0, len(data), max(1, len(data) // 60))]
        variants += [mutate(rng, data) for _ in range(MUTATIONS_PER_FILE)]
        for v in variants:
            tried += 1
            try:
                image = read_jpeg(v, source=name, max_pixels=1 << 20)
            except ConformanceError as e:
                outcomes[type(e).__name__] = outcomes.get(type(e).__name__, 0) + 1
                continue
            assert all(c.coefficients.dtype == np.int32 for c in image.components)
            out = decode_image(v, PILLOW, source=name)
            assert out.dtype == np.uint8 and out.shape[:2] == (image.height, image.width)
            outcomes["decoded"] += 1
    print(f"\nmutation sweep: {tried} variants of {len(sweep_files())} files: {outcomes}")
    assert tried >= 2 * MUTATIONS_PER_FILE
    assert outcomes.get("DecodeError", 0) > 0 and outcomes["decoded"] > 0


# ------------------------------------------------------------------------------------------
# Speed (printed)
# ------------------------------------------------------------------------------------------


@needs_jpegtran
def test_speed_against_pillow():
    """Entropy decoding + coefficients (read_jpeg) of a 500x375 4:2:0 arithmetic file against
    Pillow's whole decode. Quality 75: libjpeg's arithmetic decoder cannot suspend (jdarith.c
    get_byte: JERR_CANT_SUSPEND), so Pillow, which feeds the data in chunks, fails on an
    arithmetic file larger than its buffer (the q90 one, 81 KB)."""
    a = np.ascontiguousarray(syn.zone_plate(375, 500))
    arith = jpegtran(ej.encode_pillow(a, quality=75, sampling="420"), ["-arithmetic"])
    read_jpeg(arith)  # numba warm-up

    def best(fn) -> float:
        times = []
        for _ in range(5):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return min(times)

    entropy_only = best(lambda: read_jpeg(arith))
    pil = best(lambda: pillow_decode(arith))
    print(f"\n500x375 4:2:0 arithmetic ({len(arith)} B): reference read_jpeg "
          f"{entropy_only * 1e3:.1f} ms, Pillow whole decode {pil * 1e3:.1f} ms, ratio "
          f"{entropy_only / pil:.1f}")
    assert arithmetic.decode_scan_jit is not None
