"""on_corrupt="libjpeg-turbo": the reference's repair of damaged JPEGs equals Pillow's and OpenCV's
output bit for bit, class by class (conformance.encoders.jpeg_damage), on seeded sweeps of cut
offsets, junk, reordered scans and coefficient overruns; on_corrupt="reject" still rejects each.

The sweep sizes are in SWEEP; every variant is compared with both libraries (which agree with
each other on all of them: both link libjpeg-turbo 3)."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from conformance.encoders import jpeg as J
from conformance.encoders import jpeg_damage as D
from conformance.errors import ConformanceError, DecodeError
from conformance.presets import DECODE_PRESETS
from conformance.reference.decode import decode_image
from conformance.reference.jpeg import read_jpeg
from conformance.spec import Decode

RECOVER = Decode(**{**DECODE_PRESETS["libjpeg-turbo"], "orientation": "ignore"})
STRICT = Decode(**{**DECODE_PRESETS["libjpeg-turbo"], "orientation": "ignore",
                   "on_corrupt": "reject"})
SWEEP = {"junk": 6, "cut": 40, "prog_cut": 4, "run64": 10}


def _photo() -> np.ndarray:
    from skimage import data

    return data.astronaut()[100:175, 150:243]  # 75 x 93: partial MCUs in both directions


def pillow_rgb(data: bytes):
    try:
        return np.array(Image.open(io.BytesIO(data)).convert("RGB"))
    except OSError:
        return None


def opencv_rgb(data: bytes):
    out = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return None if out is None else out[:, :, ::-1]


def assert_like_libraries(data: bytes, label: str) -> None:
    """Pillow and OpenCV agree, and the recovering reference gives the same bytes (or, where
    both libraries fail, a typed error)."""
    pil, cv = pillow_rgb(data), opencv_rgb(data)
    assert (pil is None) == (cv is None), f"{label}: Pillow and OpenCV disagree on decoding"
    if pil is None:
        with pytest.raises(ConformanceError):
            decode_image(data, RECOVER)
        return
    assert np.array_equal(pil, cv), f"{label}: Pillow and OpenCV differ"
    ours = decode_image(data, RECOVER)
    diff = np.abs(ours.astype(int) - pil.astype(int))
    assert ours.shape == pil.shape and diff.max() == 0, (
        f"{label}: max difference {diff.max()} at {np.unravel_index(diff.argmax(), diff.shape)}")


@pytest.fixture(scope="module")
def baselines() -> list[bytes]:
    img = _photo()
    out = [J.encode_pillow(img, quality=q, sampling=s) for q in (50, 90) for s in ("420", "444")]
    out.append(J.encode_pillow(img, quality=85, sampling="422", restart_blocks=3))
    out.append(J.encode_opencv(img, quality=75, sampling="420", restart_blocks=5))
    out.append(J.encode_pillow(img[:, :, 0], quality=80, sampling="gray"))
    return out


@pytest.fixture(scope="module")
def progressives() -> list[bytes]:
    img = _photo()
    return [J.encode_pillow(img if s != "gray" else img[:, :, 0], quality=q, sampling=s,
                            progressive=True)
            for q, s in ((50, "420"), (90, "444"), (75, "gray"))] + \
        [J.encode_opencv(img, quality=80, sampling="420", progressive=True, restart_blocks=4)]


def _strict_rejects(data: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_image(data, STRICT)


def test_junk_before_eoi_and_restart(baselines):
    rs = np.random.RandomState(1)
    tried = 0
    for b in baselines:
        for _ in range(SWEEP["junk"]):
            junk = bytes(rs.randint(0, 255, rs.randint(1, 60)).astype(np.uint8))
            damaged = D.junk_before_eoi(b, junk)
            _strict_rejects(damaged)
            assert_like_libraries(damaged, "junk before EOI")
            tried += 1
        try:
            damaged = D.junk_before_restart(b, b"\x01\x02\x03", 0)
        except ValueError:  # no restart markers
            continue
        _strict_rejects(damaged)
        assert_like_libraries(damaged, "junk before RST0")
    assert tried == SWEEP["junk"] * len(baselines)
    image = read_jpeg(D.junk_before_eoi(baselines[0], b"abc"), recover=True)
    assert any("3 extraneous bytes" in w for w in image.warnings)


def test_motion_jpeg_without_dht_uses_annex_k(baselines):
    for b in baselines:
        damaged = D.without_dht(b)
        _strict_rejects(damaged)
        assert_like_libraries(damaged, "no DHT")
    image = read_jpeg(D.without_dht(baselines[0]), recover=True)
    assert any("Annex K" in w for w in image.warnings)


def test_annex_k_tables_are_what_libjpeg_writes(baselines):
    from conformance.reference.jpeg.entropy import ANNEX_K_TABLES

    written = J.huffman_tables(baselines[0])  # Pillow without optimize writes the example tables
    for key, (bits, huffval) in ANNEX_K_TABLES.items():
        assert written[key] == (bits, huffval), key


def test_scan_cut_short_then_eoi(baselines):
    rs = np.random.RandomState(2)
    for b in baselines:
        start, end = D.scan_data_spans(b)[0]
        for off in rs.randint(0, end - start, SWEEP["cut"]):
            damaged = D.cut_scan(b, 0, int(off), "eoi")
            _strict_rejects(damaged)
            assert_like_libraries(damaged, f"cut at +{off}")


def test_file_ending_inside_a_scan_stays_an_error(baselines):
    start, end = D.scan_data_spans(baselines[0])[0]
    damaged = D.cut_scan(baselines[0], 0, (end - start) // 2, "none")
    assert pillow_rgb(damaged) is None and opencv_rgb(damaged) is None
    with pytest.raises(DecodeError, match="truncated"):
        decode_image(damaged, RECOVER)


def test_progressive_scan_cut_short(progressives):
    """A progressive scan cut, then EOI (block smoothing reads the previous scan's coef_bits
    past the last good iMCU row) or the later scans (their refinements decode damaged history:
    libjpeg's refinement rules for bad sizes and runs past the band)."""
    rs = np.random.RandomState(3)
    tried = 0
    for b in progressives:
        for scan, (start, end) in enumerate(D.scan_data_spans(b)):
            for off in rs.randint(0, end - start, SWEEP["prog_cut"]):
                for rest in ("eoi", "next"):
                    damaged = D.cut_scan(b, scan, int(off), rest)
                    assert_like_libraries(damaged, f"scan {scan} cut at +{off}, then {rest}")
                    tried += 1
    assert tried >= 80


def test_ac_scans_before_dc(progressives):
    for b in progressives[:2]:
        for count in (1, 2, 5):
            damaged = D.ac_scans_first(b, count)
            _strict_rejects(damaged)
            assert_like_libraries(damaged, f"{count} AC scans first")
    image = read_jpeg(D.ac_scans_first(progressives[0], 1), recover=True)
    assert any("Inconsistent progression sequence" in w for w in image.warnings)


def test_zero_run_past_64():
    rs = np.random.RandomState(4)
    noise = (rs.rand(40, 40, 3) * 255).astype(np.uint8)
    tried = 0
    for q in (95, 98, 100):
        b = J.encode_pillow(noise, quality=q, sampling="444")
        last = D.last_nonzero(b)
        candidates = [(m, k) for m, mcu in enumerate(last) for k, lz in enumerate(mcu) if 48 <= lz <= 62]
        for _ in range(SWEEP["run64"]):
            assert candidates, f"quality {q}: no block ends at zig-zag 48..62"
            picks = rs.choice(len(candidates), min(3, len(candidates)), replace=False)
            overruns = {}
            for i in picks:
                m, k = candidates[i]
                low = 64 - (last[m][k] + 1)
                overruns[(m, k)] = (int(rs.randint(low, min(15, 77 - last[m][k]) + 1)),
                                    int(rs.choice([-3, -1, 1, 7, 100])))
            damaged = D.with_run_past_64(b, overruns)
            _strict_rejects(damaged)
            assert_like_libraries(damaged, f"overruns {overruns}")
            tried += 1
    assert tried == 3 * SWEEP["run64"]


def test_numba_and_python_recovery_agree(progressives, baselines):
    cases = [D.cut_scan(progressives[0], 1, 40, "next"), D.junk_before_eoi(baselines[4], b"zz"),
             D.cut_scan(baselines[5], 0, 300, "eoi")]
    for data in cases:
        a = read_jpeg(data, recover=True, use_numba=True)
        b = read_jpeg(data, recover=True, use_numba=False)
        assert a.warnings == b.warnings
        for ca, cb in zip(a.components, b.components):
            assert np.array_equal(ca.coefficients, cb.coefficients)


def test_recovery_mutation_sweep_raises_only_typed_errors(baselines, progressives):
    """Random byte flips and cuts anywhere: recovery never raises an untyped exception."""
    rs = np.random.RandomState(5)
    outcomes = {"decoded": 0, "typed error": 0}
    for b in baselines[:3] + progressives[:2]:
        for _ in range(40):
            data = bytearray(b)
            for _ in range(rs.randint(1, 6)):
                data[rs.randint(2, len(data))] = rs.randint(0, 256)
            if rs.rand() < 0.3:
                data = data[:rs.randint(2, len(data))]
            try:
                decode_image(bytes(data), RECOVER)
                outcomes["decoded"] += 1
            except ConformanceError:
                outcomes["typed error"] += 1
    assert sum(outcomes.values()) == 200


def test_default_bundle_damaged_files_match_the_libraries():
    files = D.damaged_jpegs()
    assert {f.id.rsplit(".", 1)[1] for f in files} >= {"junk_before_eoi", "mjpeg_no_dht", "short_scan",
                                                       "ac_before_dc", "run_past_64"}
    for f in files:
        _strict_rejects(f.data)
        assert_like_libraries(f.data, f.id)


def test_bad_huffman_code_reads_as_symbol_zero():
    """The corpus's invalid-Huffman-code negative (sixteen 1-bits where the first DC code is
    read): libjpeg-turbo consumes 17 bits, decodes symbol 0 and goes on; so does recovery."""
    data = J.invalid_huffman_code()
    _strict_rejects(data)
    assert_like_libraries(data, "invalid Huffman code")
    assert any("bad Huffman code" in w for w in read_jpeg(data, recover=True).warnings)
