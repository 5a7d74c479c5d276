#!/usr/bin/env python
"""Coverage-guided fuzzing of the reference's readers with atheris (libFuzzer for Python).

The contract fuzzed: a reader given *any* bytes either returns a result or raises a subclass of
:class:`conformance.errors.ConformanceError` (DecodeError, UnsupportedFeature, LimitsExceeded,
BundleError, SpecError). Anything else is a crash: another exception (IndexError, ValueError from
numpy, KeyError, RecursionError, MemoryError, ZeroDivisionError, OverflowError, ...), a segfault,
an input that takes longer than ``--timeout`` seconds, or a process over ``--rss-limit-mb``.

Targets (each a one-input function ``fuzz_<target>(data: bytes)``, importable from this file;
tests/hostile/test_fuzz_regressions.py runs them over the seeds and the saved regressions):

- ``png``: ``probe()`` (headers only), then the decode op as
  ``conformance.reference.decode.decode_image`` runs it for a PNG: format sniff (a JPEG is left
  to the jpeg target), :func:`~conformance.reference.png.read_png`, then ``png_to_array`` under
  seven knob sets covering every output, alpha, tRNS, 16-bit, luma and orientation rule. A
  structure-aware mutator (:func:`png_mutator`) keeps chunk CRCs valid and mutates the
  *inflated* IDAT data (then deflates it again) most of the time, so mutations get past the CRC
  and zlib checks. Seeds: the PNG files of vectors/default/inputs (picked by signature) and the
  one non-image file there.
- ``jpeg``: the same for JPEG: ``probe()``, ``decode_image`` (sniff,
  :func:`~conformance.reference.decode.read_jpeg_cached`: markers, Huffman tables, entropy
  decoding, then reconstruction), and ``jpeg_to_array`` under five more knob sets
  (islow/float/zune IDCT, saturating/wrapping range limit, fancy/nearest/zune upsampling, the
  three YCbCr rules, block smoothing on/off, both CMYK rules, every output and both gray rules).
  Its mutator (:func:`jpeg_mutator`) rewrites segment length fields after mutating a segment.
  Seeds: the JPEG files of vectors/default/inputs.
- ``webp``: ``probe()``, then the decode op on a WebP (container, VP8L, VP8 + ALPH, the YUV
  conversion) under four knob sets (Pillow's RGB, every channel kept, OpenCV's gray with
  nearest upsampling, alpha composited and oriented). Seeds: the WebP files of
  vectors/default/inputs. The jpeg target also decodes with ``on_corrupt="libjpeg-turbo"``
  (libjpeg-turbo's repairs of damaged data).
- ``npy``: ``conformance.bundle.load_npy`` on the bytes. Seeds: a few expected/**.npy files of
  the default bundle (several dtypes and ranks).
- ``manifest``: the bytes as ``manifest.json`` of a small real bundle (two cases cut out of
  vectors/default, with their input and expected files), opened with ``conformance.bundle.Bundle``
  (pipelines, cases, listed files) and checked with ``verify_bundle``; and the same bytes as a
  pipeline file for ``conformance.spec.load_pipelines``, once as ``.toml`` and once as
  ``.json``. Seeds: that small manifest, examples/*.toml, and one pipeline as JSON.

Images are kept small by the decoders' own limit: every decode runs with ``max_pixels`` =
:data:`FUZZ_MAX_PIXELS` (2^18, e.g. 512 x 512), so a header may ask for anything and costs at most
that (the readers raise LimitsExceeded before allocating). Per-input timeout and memory limit
are libFuzzer's ``-timeout`` and ``-rss_limit_mb``.

Instrumentation: the ``conformance`` package's Python functions are instrumented for coverage
(and comparison tracing) with ``atheris.instrument_func`` *after* import. The numba-compiled
loops (PNG unfiltering, JPEG entropy decoding and IDCT: the ``@njit`` functions and their
``@register_jitable`` helpers) are skipped: they run as native code, are not instrumented (no
coverage feedback from inside them), and instrumenting their Python source would stop numba
from compiling it. To turn an out-of-bounds access in them into a crash that names the line
(numba does no bounds checking by default: memory would be read or written silently, or the
process would segfault), they are compiled with ``NUMBA_BOUNDSCHECK=1`` (an IndexError), in a
separate numba cache directory (``--no-boundscheck`` runs the normal build).

Crashes: a Python exception outside the contract is caught in the process, its first input per
signature (exception type and innermost ``conformance`` frame) is saved to the crash directory
as ``<target>-<Type>-<sha1>.<ext>`` with the traceback beside it (``.txt``), and fuzzing goes
on. A hard crash (segfault, timeout, out of memory) ends the libFuzzer process, which leaves its
``crash-``/``timeout-``/``oom-`` file in the crash directory; the script then starts libFuzzer
again on the same corpus until the time is spent (``--stop-on-crash``: stop at the first crash
of any kind, as plain libFuzzer does).

Usage::

    .venv/bin/python scripts/fuzz.py TARGET [--seconds N] [--runs N] [--corpus DIR]
                                            [--crashes DIR] [--work DIR] [--timeout S]
                                            [--rss-limit-mb MB] [-- LIBFUZZER_FLAGS...]

TARGET is png, jpeg, npy, manifest or all (each in turn, one process at a time, one worker).
Default time: 120 seconds for one target, 60 per target for ``all`` (four minutes); ``--seconds``
is per target. The corpus (default /tmp/conformance-fuzz/<target>/corpus)
keeps the inputs that found new coverage, so a second run continues where the first stopped.
At the end it prints, per target: executions, coverage (libFuzzer's ``cov`` = covered edges of
the instrumented Python code, ``ft`` = features), corpus size, time, and the crashes. Exit
status: 0 no new crash, 1 new crashes found by this run, 2 usage error.
"""

from __future__ import annotations

import argparse
import atexit
import hashlib
import json
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import zlib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BUNDLE = ROOT / "vectors" / "default"
EXAMPLES = ROOT / "examples"
WORK = Path(tempfile.gettempdir()) / "conformance-fuzz"
TARGET_NAMES = ("png", "jpeg", "webp", "npy", "manifest")

FUZZ_MAX_PIXELS = 1 << 18  # decoders' max_pixels for fuzzing: 512 x 512
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SOI = b"\xff\xd8\xff"
NPY_MAGIC = b"\x93NUMPY"
NPY_SEEDS = 8  # expected/**.npy files used as seeds (of different dtypes and ranks)
SEED_MAX_BYTES = 32 << 10  # larger input files are not used as seeds (slower executions)

# ---------------------------------------------------------------------------------------------
# The readers, imported on first use (the parent process never imports them, so it can set
# NUMBA_BOUNDSCHECK for the child before numba is loaded)
# ---------------------------------------------------------------------------------------------


class _Readers:
    loaded = False


R = _Readers()


def load_readers() -> _Readers:
    """Import the readers once; the knob sets the decode targets run under."""
    if R.loaded:
        return R
    from conformance import bundle, spec
    from conformance.errors import ConformanceError
    from conformance.reference import decode
    from conformance.spec import Decode

    R.ConformanceError = ConformanceError
    R.decode, R.bundle, R.spec = decode, bundle, spec
    lim = dict(max_pixels=FUZZ_MAX_PIXELS)
    R.png_steps = (
        # pillow: rgb, alpha and tRNS dropped, 16-bit colour >> 8, 16-bit gray clipped
        Decode(output="rgb", orientation="ignore", depth16_gray="clip", **lim),
        # everything kept: native channels, tRNS as alpha, 16 bits, EXIF orientation
        Decode(output="unchanged", alpha="keep", trns="apply", depth16="keep", **lim),
        # OpenCV gray (libpng luma at native depth), composited on a background, rounded 16-bit
        Decode(output="gray", gray_arithmetic="libpng_fixed", alpha="composite", trns="apply",
               depth16="round", background=(10, 200, 30), **lim),
        # bgr, 16-bit kept and composited (a 16-bit background), 16-bit gray rounded
        Decode(output="bgr", alpha="composite", trns="apply", depth16="keep",
               depth16_gray="round", **lim),
        # the image crate's float32 luma, 16-bit clipped, alpha kept
        Decode(output="gray", gray_coefficients="bt709", gray_arithmetic="image_f32",
               depth16="clip", alpha="keep", orientation="ignore", **lim),
        # float luma (after compositing), OpenCV's fixed point
        Decode(output="gray", gray_coefficients="bt709", gray_arithmetic="float",
               alpha="composite", **lim),
        Decode(output="gray", gray_arithmetic="opencv_fixed", depth16="keep", **lim),
    )
    R.jpeg_steps = (
        # libjpeg-turbo / Pillow / OpenCV: islow, fancy, libjpeg fixed-point, smoothing
        Decode(output="rgb", **lim),
        # the image crate (zune-jpeg), its float32 luma
        Decode(output="gray", jpeg_gray="from_rgb", gray_coefficients="bt709",
               gray_arithmetic="image_f32", idct="zune", upsampling="zune", ycc="zune_fixed14",
               block_smoothing="off", orientation="ignore", **lim),
        # the other arithmetic: float IDCT, wrapping range limit, replication, float YCbCr,
        # plain CMYK with OpenCV's formula, libjpeg's own grayscale
        Decode(output="gray", jpeg_gray="y_plane", idct="float", range_limit="wrap",
               upsampling="nearest", ycc="float", cmyk="plain", cmyk_rgb="opencv", **lim),
        # the file's colour model (CMYK ink), BGR
        Decode(output="unchanged", **lim),
        Decode(output="bgr", upsampling="nearest", **lim),
        Decode(output="gray", jpeg_gray="from_rgb", gray_arithmetic="opencv_fixed", **lim),
    )
    # libjpeg-turbo's repairs of damaged data (a separate entropy decode)
    R.jpeg_recover = Decode(output="rgb", on_corrupt="libjpeg-turbo", **lim)
    R.webp_steps = (
        Decode(output="rgb", orientation="ignore", **lim),  # Pillow convert('RGB')
        Decode(output="unchanged", alpha="keep", **lim),  # IMREAD_UNCHANGED, orientation applied
        Decode(output="gray", webp_gray="opencv_fixed", webp_upsampling="nearest", **lim),
        Decode(output="bgr", alpha="composite", background=(10, 200, 30),
               orientation_source="pillow", **lim),
    )
    R.loaded = True
    return R


# ---------------------------------------------------------------------------------------------
# The one-input functions (what atheris calls; the contract is enforced by letting anything
# other than a ConformanceError escape)
# ---------------------------------------------------------------------------------------------


def _sniffed_and_probed(r: _Readers, data: bytes, fmt: str, source: str) -> bool:
    """Whether ``data`` is of format ``fmt`` by the decode op's sniffing (the other formats are
    the other targets' job); if it is, ``probe()`` has run on it."""
    try:
        if r.decode.sniff_format(data, source) != fmt:
            return False
    except r.ConformanceError:
        return False
    try:
        r.decode.probe(data, source=source)
    except r.ConformanceError:
        pass
    return True


def fuzz_png(data: bytes) -> None:
    """probe(), then the decode op on a PNG: read_png and the conversions under every knob set."""
    r = load_readers()
    d = r.decode
    if not _sniffed_and_probed(r, data, "png", "fuzz.png"):
        return
    try:
        # what decode_image does for a PNG, with the read shared by the knob sets
        image = d.read_png(data, source="fuzz.png", max_pixels=FUZZ_MAX_PIXELS)
        for step in r.png_steps:
            d.png_to_array(image, step)
    except r.ConformanceError:
        pass


def fuzz_jpeg(data: bytes) -> None:
    """probe(), then the decode op on a JPEG: read_jpeg and reconstruction under every knob set."""
    r = load_readers()
    d = r.decode
    if not _sniffed_and_probed(r, data, "jpeg", "fuzz.jpg"):
        return
    try:
        # decode_image is the op's entry point; it memoises the entropy-decoded image, so the
        # other knob sets reuse it through read_jpeg_cached, as a bundle generation does.
        d.decode_image(data, r.jpeg_steps[0], source="fuzz.jpg")
        image = d.read_jpeg_cached(bytes(data), "fuzz.jpg", FUZZ_MAX_PIXELS)
        for step in r.jpeg_steps[1:]:
            d.jpeg_to_array(image, step, source="fuzz.jpg")
    except r.ConformanceError:
        pass
    try:
        d.decode_image(data, r.jpeg_recover, source="fuzz.jpg")
    except r.ConformanceError:
        pass


def fuzz_webp(data: bytes) -> None:
    """probe(), then the decode op on a WebP under every knob set."""
    r = load_readers()
    d = r.decode
    if not _sniffed_and_probed(r, data, "webp", "fuzz.webp"):
        return
    for step in r.webp_steps:
        try:
            d.decode_image(data, step, source="fuzz.webp")
        except r.ConformanceError:
            pass


def fuzz_npy(data: bytes) -> None:
    """``conformance.bundle.load_npy`` on ``data``."""
    r = load_readers()
    try:
        r.bundle.load_npy(data, where="fuzz.npy")
    except r.ConformanceError:
        pass


def fuzz_manifest(data: bytes) -> None:
    """``data`` as manifest.json of a small real bundle (Bundle, its pipelines, verify_bundle),
    and as a pipeline file (.toml and .json) for ``spec.load_pipelines``. All three readers run
    (a crash in one does not hide one in another); the first crash is raised at the end."""
    r = load_readers()
    root, spec_dir = manifest_workdirs()
    (root / "manifest.json").write_bytes(data)
    crashes: list[Exception] = []
    try:
        b = r.bundle.Bundle(root)
        b.pipelines
        b.cases
        b.listed_files()
        r.bundle.verify_bundle(root)
    except r.ConformanceError:
        pass
    except Exception as e:  # noqa: BLE001 - re-raised below
        crashes.append(e)
    for suffix in (".toml", ".json"):
        path = spec_dir / f"pipeline{suffix}"
        path.write_bytes(data)
        try:
            r.spec.load_pipelines(path)
        except r.ConformanceError:
            pass
        except Exception as e:  # noqa: BLE001 - re-raised below
            crashes.append(e)
    if crashes:
        raise crashes[0]


TARGETS = {"png": fuzz_png, "jpeg": fuzz_jpeg, "webp": fuzz_webp, "npy": fuzz_npy,
           "manifest": fuzz_manifest}
EXTENSIONS = {"png": "png", "jpeg": "jpg", "webp": "webp", "npy": "npy", "manifest": "json"}

# ---------------------------------------------------------------------------------------------
# Seeds
# ---------------------------------------------------------------------------------------------


def seeds(target: str) -> list[tuple[str, bytes]]:
    """(name, bytes) of the seed inputs of ``target``, from the repository."""
    if target in ("png", "jpeg"):
        magic = PNG_SIGNATURE if target == "png" else JPEG_SOI
        out = []
        for p in sorted((DEFAULT_BUNDLE / "inputs").iterdir()):
            data = p.read_bytes()
            is_image = data.startswith((PNG_SIGNATURE, JPEG_SOI, b"RIFF"))
            if len(data) <= SEED_MAX_BYTES and (data.startswith(magic)
                                                or (target == "png" and not is_image)):
                out.append((p.name, data))
        return out + synthetic_seeds(target, out)
    if target == "webp":
        return [(p.name, p.read_bytes()) for p in sorted((DEFAULT_BUNDLE / "inputs").iterdir())
                if p.read_bytes()[:4] == b"RIFF" and p.stat().st_size <= SEED_MAX_BYTES]
    if target == "npy":
        import numpy as np

        found: dict[tuple[str, int], Path] = {}
        for p in sorted((DEFAULT_BUNDLE / "expected").glob("*/*.npy")):
            if p.stat().st_size > 16384:
                continue
            with open(p, "rb") as f:
                np.lib.format.read_magic(f)
                shape, _, dtype = np.lib.format.read_array_header_1_0(f)
            found.setdefault((dtype.str, len(shape)), p)
            if len(found) >= NPY_SEEDS:
                break
        return [(f"{p.parent.name}_{p.name}", p.read_bytes()) for p in found.values()]
    if target == "manifest":
        out = [("manifest.json", small_manifest()[0])]
        for p in sorted(EXAMPLES.glob("*.toml")):
            out.append((p.name, p.read_bytes()))
        m = json.loads(out[0][1])
        pid, pipeline = sorted(m["pipelines"].items())[0]
        out.append((f"{pid}.json", json.dumps(pipeline, indent=1).encode()))
        return out
    raise ValueError(f"unknown target {target!r}")


def synthetic_seeds(target: str, files: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """Inputs with valid features no file of the corpus has, so that mutations start from
    them: JPEG frames built by :func:`zero_jpeg` (progressive with successive approximation and
    restart intervals, unusual sampling factors and component counts, Adobe CMYK/YCCK) and one
    with 16-bit quantisation tables (Pq = 1); a truecolour PNG with a suggested palette (PLTE)."""
    out = []
    if target == "jpeg":
        ycc = [(1, 2, 2), (2, 1, 1), (3, 1, 1)]
        out += [
            ("synthetic-prog-sa-rst.jpg", zero_jpeg(19, 11, ycc, restart=2, progressive=True)),
            ("synthetic-prog-gray.jpg", zero_jpeg(9, 17, [(1, 1, 1)], progressive=True)),
            ("synthetic-420-rst1.jpg", zero_jpeg(17, 9, ycc, restart=1, interleave=True)),
            ("synthetic-cmyk-ycck.jpg", zero_jpeg(9, 9, [(1, 1, 1), (2, 1, 1), (3, 1, 1),
                                                         (4, 2, 2)], adobe=2, interleave=True)),
            ("synthetic-gray-2x2.jpg", zero_jpeg(17, 17, [(1, 2, 2)])),
            ("synthetic-non-integral.jpg", zero_jpeg(16, 8, [(1, 4, 1), (2, 3, 1), (3, 1, 1)])),
            ("synthetic-2-components.jpg", zero_jpeg(8, 8, [(1, 1, 1), (2, 1, 1)])),
        ]
        for name, data in files:
            items = split_jpeg(data)
            if not items or not data.endswith(b"\xff\xd9") or \
                    not any(code == 0xC0 for code, _ in items):
                continue
            for item in items:
                if item[0] == 0xDB:  # DQT: every table to 16-bit precision
                    body, i, new = item[1], 0, b""
                    while i + 65 <= len(body) and body[i] >> 4 == 0:
                        new += bytes((0x10 | (body[i] & 0x0F),)) + b"".join(
                            b"\x00" + body[i + 1 + k:i + 2 + k] for k in range(64))
                        i += 65
                    item[1] = new + body[i:]
            out.append(("synthetic-dqt16.jpg", join_jpeg(items)))
            break
    if target == "png":
        for name, data in files:
            chunks = split_png(data)
            if chunks and chunks[0][0] == b"IHDR" and chunks[0][1][9] == 2:  # colour type 2
                chunks.insert(1, [b"PLTE", bytes(range(48))])
                out.append(("synthetic-rgb-plte.png", join_png(chunks)))
                break
    return out


def zero_jpeg(width: int, height: int, comps: list[tuple[int, int, int]], *, restart: int = 0,
              adobe: int | None = None, interleave: bool = False,
              progressive: bool = False) -> bytes:
    """A valid JPEG whose coefficients are all 0, for any frame layout: ``comps`` are
    (id, H, V). Its Huffman tables have one 1-bit code each (DC: category 0, AC: EOB), so every
    block costs 2 bits in a sequential scan and 1 bit in each progressive scan (DC first with
    Al = 1, AC first 1..63, DC refinement, AC refinement)."""

    def seg(code: int, body: bytes) -> bytes:
        return bytes((0xFF, code)) + struct.pack(">H", len(body) + 2) + body

    def ecs(blocks_per_mcu: int, mcus: int, bits_per_block: int) -> bytes:
        out, nbits = bytearray(), 0
        for m in range(mcus):
            if restart and m and m % restart == 0:
                if nbits % 8:  # pad with 1-bits (F.1.2.3), then RSTm
                    out[-1] |= (1 << (8 - nbits % 8)) - 1
                out += bytes((0xFF, 0xD0 + (m // restart - 1) % 8))
                nbits = 0
            for _ in range(blocks_per_mcu * bits_per_block):
                if nbits % 8 == 0:
                    out.append(0)
                nbits += 1
        if nbits % 8:
            out[-1] |= (1 << (8 - nbits % 8)) - 1
        return bytes(out)

    data = b"\xff\xd8"
    if adobe is not None:
        data += seg(0xEE, b"Adobe\x00\x64\x00\x00\x00\x00" + bytes((adobe,)))
    data += seg(0xDB, b"\x00" + bytes([1] * 64))
    one_code = bytes([1] + [0] * 15) + b"\x00"
    data += seg(0xC4, b"\x00" + one_code + b"\x10" + one_code)
    data += seg(0xC2 if progressive else 0xC0, struct.pack(">BHHB", 8, height, width, len(comps))
                + b"".join(bytes((c, (h << 4) | v, 0)) for c, h, v in comps))
    if restart:
        data += seg(0xDD, struct.pack(">H", restart))
    hmax, vmax = max(c[1] for c in comps), max(c[2] for c in comps)
    interleaved = interleave and len(comps) <= 4 and sum(h * v for _, h, v in comps) <= 10
    groups = [comps] if interleaved else [[c] for c in comps]
    if progressive:
        scans = ([(g, 0, 0, 0, 1, 1) for g in groups] + [([c], 1, 63, 0, 1, 1) for c in comps]
                 + [(g, 0, 0, 1, 0, 1) for g in groups] + [([c], 1, 63, 1, 0, 1) for c in comps])
    else:
        scans = [(g, 0, 63, 0, 0, 2) for g in groups]
    for g, ss, se, ah, al, bits in scans:
        data += seg(0xDA, bytes((len(g),)) + b"".join(bytes((c[0], 0)) for c in g)
                    + bytes((ss, se, (ah << 4) | al)))
        if len(g) == 1:
            _, h, v = g[0]
            blocks_x = -(-(-(-width * h // hmax)) // 8)
            blocks_y = -(-(-(-height * v // vmax)) // 8)
            data += ecs(1, blocks_x * blocks_y, bits)
        else:
            mcus = -(-width // (8 * hmax)) * -(-height // (8 * vmax))
            data += ecs(sum(h * v for _, h, v in g), mcus, bits)
    return data + b"\xff\xd9"


def small_manifest() -> tuple[bytes, dict[str, Path]]:
    """A two-case manifest cut out of vectors/default (a short ok case with the smallest input,
    and a negative case), and the files it lists: {relative path: source file}."""
    m = json.loads((DEFAULT_BUNDLE / "manifest.json").read_bytes())
    size = {iid: meta.get("bytes", 1 << 30) for iid, meta in m["inputs"].items()}
    ok = [c for c in m["cases"] if c["expect"] == "ok" and 2 <= len(c["steps"]) <= 3]
    ok.sort(key=lambda c: (size[c["input"]], c["id"]))
    bad = sorted((c for c in m["cases"] if c["expect"] == "error"),
                 key=lambda c: (size[c["input"]], c["id"]))
    cases = ok[:1] + bad[:1]
    used_inputs = {c["input"] for c in cases}
    used_pipelines = {c["pipeline"] for c in cases}
    small = {k: v for k, v in m.items() if k not in ("cases", "inputs", "pipelines", "files",
                                                   "skipped")}
    small["cases"] = cases
    small["inputs"] = {k: v for k, v in m["inputs"].items() if k in used_inputs}
    small["pipelines"] = {k: v for k, v in m["pipelines"].items() if k in used_pipelines}
    small["files"] = {}
    if "skipped" in m:
        small["skipped"] = []
    files = {meta["path"]: DEFAULT_BUNDLE / meta["path"] for meta in small["inputs"].values()}
    for c in cases:
        for s in c["steps"]:
            files[s["output"]] = DEFAULT_BUNDLE / s["output"]
    text = json.dumps(small, sort_keys=True, indent=1, ensure_ascii=True) + "\n"
    return text.encode(), files


_MANIFEST_DIRS: list[Path] = []


def manifest_workdirs() -> tuple[Path, Path]:
    """A temporary bundle directory holding the small manifest's files (manifest.json is what
    the fuzzer writes), and a directory for pipeline files; made once per process."""
    if not _MANIFEST_DIRS:
        base = Path(tempfile.mkdtemp(prefix="conformance-fuzz-manifest-"))
        atexit.register(shutil.rmtree, base, ignore_errors=True)
        root, spec_dir = base / "bundle", base / "spec"
        spec_dir.mkdir(parents=True)
        for rel, src in small_manifest()[1].items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, root / rel)
        _MANIFEST_DIRS.extend([root, spec_dir])
    return _MANIFEST_DIRS[0], _MANIFEST_DIRS[1]


# libFuzzer dictionaries: tokens the formats are made of (comparison tracing finds others).
DICTIONARIES = {
    "png": [PNG_SIGNATURE, b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"eXIf", b"iCCP", b"zTXt",
            b"Exif\x00\x00", b"MM\x00\x2a\x00\x00\x00\x08", b"II\x2a\x00\x08\x00\x00\x00",
            b"\x01\x12\x00\x03\x00\x00\x00\x01", b"\x12\x01\x03\x00\x01\x00\x00\x00",
            b"\x78\x9c", b"\x78\x01"],
    "jpeg": [b"\xff\xd8", b"\xff\xd9", b"\xff\xc0", b"\xff\xc1", b"\xff\xc2", b"\xff\xc4",
             b"\xff\xda", b"\xff\xdb", b"\xff\xdd", b"\xff\xdc", b"\xff\xd0", b"\xff\xd7",
             b"\xff\xe0", b"\xff\xe1", b"\xff\xe2", b"\xff\xee", b"\xff\xfe", b"\xff\x00",
             b"JFIF\x00", b"Exif\x00\x00", b"ICC_PROFILE\x00", b"Adobe", b"MM\x00\x2a",
             b"\x01\x12\x00\x03"],
    "webp": [b"RIFF", b"WEBP", b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF", b"ICCP",
             b"EXIF", b"XMP ", b"\x9d\x01\x2a", b"\x2f", b"MM\x00\x2a", b"\x01\x12\x00\x03"],
    "npy": [NPY_MAGIC + b"\x01\x00", NPY_MAGIC + b"\x02\x00", NPY_MAGIC + b"\x03\x00",
            b"'descr': ", b"'fortran_order': ", b"'shape': ", b"True", b"False", b"'<f4'",
            b"'<f8'", b"'|u1'", b"'<u2'", b"'>i4'", b"'|b1'", b"'<c16'", b"'|O'", b"'<U3'",
            b"'|V8'", b"'<M8[s]'", b"[('a', '<i4')]", b"(1,)", b"()"],
    "manifest": [b'"format"', b'"preprocessing-vectors"', b'"version"', b'"cases"', b'"inputs"',
                 b'"pipelines"', b'"steps"', b'"expect"', b'"error"', b'"output"', b'"sha256"',
                 b'"shape"', b'"dtype"', b'"path"', b'"files"', b'"tolerance"', b'"op"',
                 b'"decode"', b'"resize"', b'"preset"', b"[[steps]]", b"op = ", b"preset = ",
                 b"1e999", b"-0.0", b"NaN", b"Infinity", b"null", b"true", b"\\u0000"],
}


def write_dictionary(target: str, path: Path) -> None:
    lines = []
    for token in DICTIONARIES[target]:
        escaped = "".join(chr(b) if 32 <= b < 127 and b not in (34, 92) else f"\\x{b:02x}"
                          for b in token)
        lines.append(f'"{escaped}"')
    path.write_text("\n".join(lines) + "\n")


# ---------------------------------------------------------------------------------------------
# Structure-aware mutation for PNG: valid CRCs, mutations inside the inflated image data
# ---------------------------------------------------------------------------------------------

MAX_INFLATED = 1 << 20  # IDAT data is mutated inflated only if it inflates to at most this


def split_png(data: bytes) -> list[list] | None:
    """[[type, body], ...] of a PNG datastream that is well formed at the chunk level, else
    None (CRCs are not checked: the mutator rewrites them)."""
    if not data.startswith(PNG_SIGNATURE):
        return None
    chunks, pos = [], len(PNG_SIGNATURE)
    while pos + 12 <= len(data):
        length = struct.unpack_from(">I", data, pos)[0]
        if pos + 12 + length > len(data):
            return None
        chunks.append([data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]])
        pos += 12 + length
    return chunks or None


def join_png(chunks: list[list], tail: bytes = b"") -> bytes:
    out = [PNG_SIGNATURE]
    for ctype, body in chunks:
        out.append(struct.pack(">I", len(body)) + ctype + body
                   + struct.pack(">I", zlib.crc32(body, zlib.crc32(ctype)) & 0xFFFFFFFF))
    return b"".join(out) + tail


def png_mutator(data: bytes, max_size: int, seed: int) -> bytes:
    """libFuzzer custom mutator: with probability 0.2 a plain byte-level mutation (which also
    tests the CRC and framing checks); otherwise, on a chunk-level parse, mutate the inflated
    IDAT data (re-deflated) or one chunk's body, or drop/duplicate/swap chunks; CRCs fixed."""
    import atheris

    rng = random.Random(seed)
    chunks = split_png(data)
    if chunks is None or rng.random() < 0.2:
        return atheris.Mutate(data, max_size)
    idat = [i for i, (t, _) in enumerate(chunks) if t == b"IDAT"]
    choice = rng.random()
    if idat and choice < 0.45:
        stream = b"".join(chunks[i][1] for i in idat)
        d = zlib.decompressobj()
        try:
            raw = d.decompress(stream, MAX_INFLATED)
        except zlib.error:
            raw = stream
        raw = atheris.Mutate(raw, max(2 * len(raw), 64))
        new = zlib.compress(raw, rng.choice((0, 1, 6, 9)))
        if rng.random() < 0.3 and len(new) > 2:  # split into two IDAT chunks
            cut = rng.randrange(1, len(new))
            parts = [[b"IDAT", new[:cut]], [b"IDAT", new[cut:]]]
        else:
            parts = [[b"IDAT", new]]
        chunks = chunks[:idat[0]] + parts + [c for i, c in enumerate(chunks)
                                             if i > idat[0] and i not in idat]
    else:
        i = rng.randrange(len(chunks))
        op = rng.random()
        if op < 0.7:
            chunks[i][1] = atheris.Mutate(chunks[i][1], len(chunks[i][1]) + 64)
        elif op < 0.8 and len(chunks) > 1:
            del chunks[i]
        elif op < 0.9:
            chunks.insert(i, list(chunks[i]))
        elif i + 1 < len(chunks):
            chunks[i], chunks[i + 1] = chunks[i + 1], chunks[i]
    out = join_png(chunks)
    return out if len(out) <= max_size else atheris.Mutate(data, max_size)


# JPEG: marker segments whose length fields stay right

STANDALONE_MARKERS = {0x01, 0xD8, 0xD9, *range(0xD0, 0xD8)}  # TEM, SOI, EOI, RSTm: no length


def split_jpeg(data: bytes) -> list[list] | None:
    """[[code, body] for marker segments, [None, bytes] for everything else (SOI, EOI, RSTm,
    entropy-coded data, trailing bytes)], or None if ``data`` is not SOI then marker segments."""
    if not data.startswith(b"\xff\xd8"):
        return None
    items, pos, n = [[None, data[:2]]], 2, len(data)
    while pos < n:
        if data[pos] == 0xFF and pos + 3 < n and data[pos + 1] not in (0x00, 0xFF) \
                and data[pos + 1] not in STANDALONE_MARKERS:
            length = struct.unpack_from(">H", data, pos + 2)[0]
            if length < 2 or pos + 2 + length > n:
                return None
            items.append([data[pos + 1], data[pos + 4:pos + 2 + length]])
            pos += 2 + length
            continue
        # anything else up to the next marker that starts a segment: one raw item
        end = pos + 1
        while end < n and not (data[end] == 0xFF and end + 1 < n and data[end + 1] not in
                               (0x00, 0xFF) and data[end + 1] not in STANDALONE_MARKERS):
            end += 1
        items.append([None, data[pos:end]])
        pos = end
    return items


def join_jpeg(items: list[list]) -> bytes:
    out = []
    for code, body in items:
        if code is None:
            out.append(body)
        else:
            body = body[:0xFFFF - 2]
            out.append(bytes((0xFF, code)) + struct.pack(">H", len(body) + 2) + body)
    return b"".join(out)


def jpeg_mutator(data: bytes, max_size: int, seed: int) -> bytes:
    """libFuzzer custom mutator: with probability 0.25 a plain byte-level mutation; otherwise
    mutate one item of :func:`split_jpeg` (a segment's body with its length field rewritten, or
    the entropy-coded data), or drop/duplicate/swap items."""
    import atheris

    rng = random.Random(seed)
    items = split_jpeg(data)
    if items is None or len(items) < 2 or rng.random() < 0.25:
        return atheris.Mutate(data, max_size)
    i = rng.randrange(1, len(items))
    op = rng.random()
    if op < 0.75:
        items[i][1] = atheris.Mutate(items[i][1], len(items[i][1]) + 64)
    elif op < 0.85 and len(items) > 2:
        del items[i]
    elif op < 0.95:
        items.insert(i, list(items[i]))
    elif i + 1 < len(items):
        items[i], items[i + 1] = items[i + 1], items[i]
    out = join_jpeg(items)
    return out if len(out) <= max_size else atheris.Mutate(data, max_size)


# ---------------------------------------------------------------------------------------------
# Instrumentation that leaves numba's functions alone
# ---------------------------------------------------------------------------------------------


def _numba_functions() -> set:
    """Python functions numba compiles: dispatchers' py_func, @register_jitable / @njit helpers,
    and any function that defines a jitted function inside itself."""
    import inspect

    from numba.core.dispatcher import Dispatcher

    skip = set()
    for name, module in list(sys.modules.items()):
        if not name.startswith("conformance") or module is None:
            continue
        for value in vars(module).values():
            if isinstance(value, Dispatcher):
                skip.add(value.py_func)
            elif inspect.isfunction(value) and value.__module__ == name:
                try:
                    src = inspect.getsource(value)
                except (OSError, TypeError):
                    continue
                if "jit" in src and re.search(r"^\s*@[\w.]*(njit|jit|register_jitable)\b", src,
                                              re.M):
                    skip.add(value)
    return skip


# Besides the conformance package, the pure-Python code a target's reader hands its bytes to
# (instrumented so that its branches guide the fuzzer too).
INSTRUMENT_ALSO = {
    "npy": ("numpy.lib._format_impl", "numpy.lib.format", "tokenize", "ast"),
    "manifest": ("tomllib", "json", "jsonschema"),
}


def instrument_conformance(also: tuple[str, ...] = ()) -> int:
    """Instrument every Python function of the loaded ``conformance`` modules (and of the
    modules named in ``also``, with their submodules), except the ones numba compiles.
    Returns the number instrumented."""
    import gc
    import types

    import atheris

    prefixes = ("conformance", *also)

    def wanted(module: str) -> bool:
        return any(module == p or module.startswith(p + ".") for p in prefixes)

    skip = _numba_functions()
    count = 0
    for obj in gc.get_objects():
        if (isinstance(obj, types.FunctionType) and obj not in skip
                and wanted(getattr(obj, "__module__", None) or "")
                and obj.__module__ in sys.modules):
            try:
                atheris.instrument_func(obj)
                count += 1
            except Exception as e:  # noqa: BLE001 - report and keep going
                print(f"INFO: not instrumented: {obj.__qualname__}: {e}", file=sys.stderr)
    return count


# ---------------------------------------------------------------------------------------------
# The fuzzing process (child)
# ---------------------------------------------------------------------------------------------


def crash_signature(exc: BaseException) -> str:
    """Type and innermost frame in the conformance package (or the innermost frame)."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/conformance/" in f.filename]
    f = (ours or frames or [None])[-1]
    where = f"{Path(f.filename).name}:{f.lineno} {f.name}" if f else "?"
    return f"{type(exc).__name__} at {where}"


def run_child(args: argparse.Namespace, libfuzzer: list[str]) -> int:
    target = args.target
    one_input = TARGETS[target]
    crashes = Path(args.crashes)
    # signatures already saved (by an earlier process of this run, or an earlier run)
    seen = {p.read_text().split("\n", 1)[0] for p in crashes.glob(f"{target}-*.txt")}
    ext = EXTENSIONS[target]

    # Warm-up on the seeds, uninstrumented: numba compiles (or loads) its functions here.
    t0 = time.time()
    for _, data in seeds(target):
        try:
            one_input(data)
        except Exception as e:  # noqa: BLE001 - a seed that crashes is reported like any crash
            print(f"WARNING: seed crashes: {crash_signature(e)}", file=sys.stderr)
    n = instrument_conformance(INSTRUMENT_ALSO.get(target, ()))
    print(f"INFO: warm-up {time.time() - t0:.1f} s; {n} functions instrumented", file=sys.stderr,
          flush=True)

    def test_one_input(data: bytes) -> None:
        try:
            one_input(data)
        except Exception as e:  # noqa: BLE001 - outside the contract: a crash
            if args.stop_on_crash:
                raise
            sig = crash_signature(e)
            if sig in seen:
                return
            seen.add(sig)
            digest = hashlib.sha1(data).hexdigest()[:12]
            stem = crashes / f"{target}-{type(e).__name__}-{digest}"
            stem.with_suffix(f".{ext}").write_bytes(data)
            stem.with_suffix(".txt").write_text(
                f"{sig}\n\n" + "".join(traceback.format_exception(e)))
            print(f"CRASH {sig} -> {stem}.{ext}", file=sys.stderr, flush=True)

    import atheris

    remaining = int(args.deadline - time.time()) if args.deadline else 0
    flags = list(libfuzzer)
    if args.deadline:
        flags.append(f"-max_total_time={max(remaining, 1)}")
    mutator = {"png": png_mutator, "jpeg": jpeg_mutator}.get(target)
    kwargs = {"custom_mutator": mutator} if mutator else {}
    atheris.Setup([sys.argv[0], *flags, str(args.corpus), str(args.seed_dir)], test_one_input,
                  **kwargs)
    atheris.Fuzz()
    return 0


# ---------------------------------------------------------------------------------------------
# The driver (parent): restarts libFuzzer after hard crashes, parses its statistics
# ---------------------------------------------------------------------------------------------

STATUS = re.compile(r"^#(\d+)\s+(\w+)\s+cov: (\d+) ft: (\d+)(?: corp: (\d+)/(\S+))?")
EXECUTED = re.compile(r"^stat::number_of_executed_units: (\d+)")
ARTIFACT = re.compile(r"Test unit written to (\S+)")
MAX_RESTARTS = 20


@dataclass
class Summary:
    target: str
    execs: int = 0
    cov: int = 0
    ft: int = 0
    corpus: str = ""
    seconds: float = 0.0
    restarts: int = 0
    crashes: list[str] = field(default_factory=list)  # every crash file in the directory
    new_crashes: list[str] = field(default_factory=list)  # those found by this run


def run_target(target: str, args: argparse.Namespace, extra: list[str]) -> Summary:
    summary = Summary(target)
    work = Path(args.work) / target
    corpus = Path(args.corpus or work / "corpus")
    crashes = Path(args.crashes or work / "crashes")
    seed_dir = work / "seeds"
    for d in (corpus, crashes, seed_dir):
        d.mkdir(parents=True, exist_ok=True)
    for name, data in seeds(target):
        (seed_dir / name).write_bytes(data)
    dictionary = work / f"{target}.dict"
    write_dictionary(target, dictionary)
    before = set(crashes.iterdir())
    flags = [f"-timeout={args.timeout}", f"-rss_limit_mb={args.rss_limit_mb}",
             f"-artifact_prefix={crashes}/", "-print_final_stats=1", f"-dict={dictionary}",
             f"-max_len={args.max_len}"]
    if args.runs:
        flags.append(f"-runs={args.runs}")
    flags += extra
    env = dict(os.environ)
    if args.boundscheck:
        env["NUMBA_BOUNDSCHECK"] = "1"
        env["NUMBA_CACHE_DIR"] = str(Path(args.work) / "numba-cache-boundscheck")
    start = time.time()
    deadline = start + args.seconds
    log_path = work / "fuzz.log"
    with open(log_path, "w") as log:
        while True:
            cmd = [sys.executable, str(Path(__file__).resolve()), target, "--child",
                   "--corpus", str(corpus), "--crashes", str(crashes),
                   "--seed-dir", str(seed_dir), "--deadline", str(deadline)]
            if args.stop_on_crash:
                cmd.append("--stop-on-crash")
            cmd += ["--", *flags]
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True, errors="replace", env=env, cwd=str(work))
            last_execs, final = 0, None
            for line in proc.stdout:
                log.write(line)
                m = STATUS.match(line)
                if m:
                    last_execs = int(m.group(1))
                    summary.cov, summary.ft = int(m.group(3)), int(m.group(4))
                    summary.corpus = f"{m.group(5)}/{m.group(6)}" if m.group(5) else summary.corpus
                    if m.group(2) in ("INITED", "DONE") or "pulse" in line:
                        print(f"[{target}] {line.rstrip()}", flush=True)
                elif EXECUTED.match(line):
                    final = int(EXECUTED.match(line).group(1))
                elif (line.startswith(("CRASH", "WARNING: seed", "INFO: warm-up", "==", "ERROR"))
                      or ARTIFACT.search(line) or "Uncaught Python exception" in line):
                    print(f"[{target}] {line.rstrip()}", flush=True)
            code = proc.wait()
            summary.execs += final if final is not None else last_execs
            if (args.stop_on_crash or code == 0 or time.time() >= deadline - 5
                    or summary.restarts >= MAX_RESTARTS):
                break
            summary.restarts += 1
            print(f"[{target}] libFuzzer exited with {code}; restarting on the corpus "
                  f"({summary.restarts}/{MAX_RESTARTS})", flush=True)
    summary.seconds = time.time() - start
    summary.new_crashes = sorted(str(p) for p in set(crashes.iterdir()) - before
                                 if p.suffix != ".txt")
    summary.crashes = sorted(str(p) for p in crashes.iterdir() if p.suffix != ".txt")
    print(f"[{target}] log: {log_path}", flush=True)
    return summary


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    extra: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("target", choices=(*TARGET_NAMES, "all"))
    p.add_argument("--seconds", type=float, help="time per target (default 120; 60 with 'all')")
    p.add_argument("--runs", type=int, default=0, help="stop after this many executions")
    p.add_argument("--work", default=str(WORK), help="working directory: seeds, logs, default "
                                                     f"corpus and crashes (default {WORK})")
    p.add_argument("--corpus", help="corpus directory (default WORK/TARGET/corpus)")
    p.add_argument("--crashes", help="crash directory (default WORK/TARGET/crashes)")
    p.add_argument("--timeout", type=int, default=10, help="seconds per input (libFuzzer -timeout)")
    p.add_argument("--rss-limit-mb", type=int, default=2048, help="libFuzzer -rss_limit_mb")
    p.add_argument("--max-len", type=int, default=SEED_MAX_BYTES, help="libFuzzer -max_len")
    p.add_argument("--no-boundscheck", dest="boundscheck", action="store_false",
                   help="run numba's normal (unchecked) build")
    p.add_argument("--stop-on-crash", action="store_true", help="stop at the first crash")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--seed-dir", help=argparse.SUPPRESS)
    p.add_argument("--deadline", type=float, default=0, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.target == "all" and (args.corpus or args.crashes):
        p.error("--corpus/--crashes name one target's directories; give a TARGET")
    if args.seconds is None:
        args.seconds = 60 if args.target == "all" else 120
    return args, extra


def main(argv: list[str] | None = None) -> int:
    args, extra = parse_args(sys.argv[1:] if argv is None else argv)
    if args.child:
        return run_child(args, extra)
    targets = TARGET_NAMES if args.target == "all" else (args.target,)
    summaries = [run_target(t, args, extra) for t in targets]
    print()
    print(f"{'target':<10}{'execs':>10}{'cov':>8}{'ft':>8}  {'corpus':<14}{'time':>8}  "
          "crashes (new / in the crash directory)")
    for s in summaries:
        print(f"{s.target:<10}{s.execs:>10}{s.cov:>8}{s.ft:>8}  {s.corpus:<14}"
              f"{s.seconds:>7.0f}s  {len(s.new_crashes)} / {len(s.crashes)}"
              + (f" ({s.restarts} restarts)" if s.restarts else ""))
        for c in s.crashes:
            print(f"    {'new ' if c in s.new_crashes else ''}{c}")
    return 1 if any(s.new_crashes for s in summaries) else 0


if __name__ == "__main__":
    sys.exit(main())
