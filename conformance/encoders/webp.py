"""Deterministic WebP inputs for the test corpus (RFC 9649), written by the installed encoders
with every parameter pinned: Pillow (``Image.save(..., "WEBP")`` -> libwebp 1.6.0) and OpenCV
(``cv2.imencode(".webp")`` -> its own libwebp). The bytes depend on those builds
(:data:`PINNED_ENCODERS`; tests/test_webp_decode.py checks the installed versions).

Variants: lossy at several qualities and ``method`` settings (which switch the loop filter,
segmentation and token partitions), lossless (``exact``: RGB kept under alpha 0), lossy with an
ALPH chunk, few-colour images (VP8L colour indexing with pixel bundling), odd sizes down to
1x1, an EXIF orientation, OpenCV's lossy and lossless output; plus hostile files (truncated
lossy and lossless data, a broken VP8 start code) a conforming decoder rejects.

Test tooling, not part of the reference: it shares no code with ``conformance.reference.webp``.
"""

from __future__ import annotations

import io
from typing import Callable

import numpy as np

from .. import synthetic as syn
from .jpeg import JpegInput as WebpInput  # the same record: id, bytes, description, origin, tags
from .png import exif_payload

WEBP = "image/webp"
PINNED_ENCODERS = {"pillow": ("13.0.0", "libwebp 1.6.0"), "opencv": ("5.0.0", "libwebp")}


def encode_pillow(samples: np.ndarray, *, lossless: bool = False, quality: int = 80,
                  method: int = 4, exact: bool = True, alpha_quality: int = 100,
                  exif: bytes | None = None) -> bytes:
    """``Image.save(buf, "WEBP", ...)`` with every option explicit (RGB or RGBA samples)."""
    from PIL import Image

    a = np.ascontiguousarray(samples, dtype=np.uint8)
    mode = {3: "RGB", 4: "RGBA"}[a.shape[2]]
    options = dict(lossless=lossless, quality=quality, method=method, exact=exact,
                   alpha_quality=alpha_quality)
    if exif is not None:
        options["exif"] = exif
    buf = io.BytesIO()
    Image.frombytes(mode, (a.shape[1], a.shape[0]), a.tobytes()).save(buf, "WEBP", **options)
    return buf.getvalue()


def encode_opencv(samples: np.ndarray, *, quality: int) -> bytes:
    """``cv2.imencode(".webp", bgr, [IMWRITE_WEBP_QUALITY, quality])``; quality 101 = lossless."""
    import cv2

    a = np.ascontiguousarray(samples[:, :, ::-1] if samples.shape[2] == 3 else
                             samples[:, :, [2, 1, 0, 3]])
    ok, buf = cv2.imencode(".webp", a, [cv2.IMWRITE_WEBP_QUALITY, quality])
    if not ok:  # pragma: no cover - imencode does not fail on valid 8-bit input
        raise RuntimeError("cv2.imencode(.webp) failed")
    return buf.tobytes()


def _rgba(h: int, w: int) -> np.ndarray:
    rgb = syn.gradients(h, w)
    yy, xx = np.mgrid[0:h, 0:w]
    alpha = ((xx * 255) // max(w - 1, 1) ^ (yy * 37 % 256)).astype(np.uint8)
    return np.dstack([rgb, alpha])


def _few_colours(h: int, w: int, n: int) -> np.ndarray:
    """An image of ``n`` colours (VP8L colour indexing: 1-, 2- or 4-bit bundling up to 16)."""
    palette = syn.noise(1, n, 3, seed=n)[0]
    return palette[(np.arange(h)[:, None] * 3 + np.arange(w)[None, :]) % n]


def webp_variants(photo: Callable[[str, int], np.ndarray] | None) -> list[WebpInput]:
    """The corpus WebPs; ``photo`` (corpus.photo) adds the photographic ones."""
    out: list[WebpInput] = []

    def add(name, data, desc, origin, tags=()):
        out.append(WebpInput(id=f"webp.{name}", data=data, description=desc, origin=origin,
                             tags=("webp", *tags)))

    pil = "corpus: conformance.encoders.webp.encode_pillow (Pillow 13, libwebp 1.6.0)"
    ocv = "corpus: conformance.encoders.webp.encode_opencv (OpenCV 5)"
    grad = syn.gradients(33, 47)
    add("pillow.lossy.q75.m4.gradients.33x47", encode_pillow(grad, quality=75), "lossy q75", pil,
        ("webp_lossy",))
    add("pillow.lossy.q10.m0.zone_plate.29x41", encode_pillow(syn.zone_plate(29, 41), quality=10,
        method=0), "lossy q10, method 0 (simple settings)", pil, ("webp_lossy",))
    add("pillow.lossy.q95.m6.noise.17x9", encode_pillow(syn.noise(17, 9), quality=95, method=6),
        "lossy q95, method 6, odd size", pil, ("webp_lossy",))
    add("pillow.lossy.q50.gradients.1x1", encode_pillow(syn.gradients(1, 1), quality=50),
        "lossy 1x1", pil, ("webp_lossy",))
    add("pillow.lossy_alpha.q80.aq50.33x47", encode_pillow(_rgba(33, 47), quality=80,
        alpha_quality=50), "lossy with an ALPH chunk (alpha_quality 50: filtered, level-reduced)",
        pil, ("webp_lossy", "alpha"))
    add("pillow.lossless.gradients.33x47", encode_pillow(grad, lossless=True),
        "lossless", pil, ("webp_lossless",))
    add("pillow.lossless_alpha.exact.9x17", encode_pillow(_rgba(9, 17), lossless=True),
        "lossless RGBA, exact (RGB kept under alpha 0)", pil, ("webp_lossless", "alpha"))
    add("pillow.lossless.palette3.21x13", encode_pillow(_few_colours(21, 13, 3), lossless=True),
        "lossless, 3 colours (colour indexing, 2-bit bundling)", pil, ("webp_lossless",))
    add("pillow.lossless.palette12.19x23", encode_pillow(_few_colours(19, 23, 12), lossless=True),
        "lossless, 12 colours (colour indexing, 4-bit bundling)", pil, ("webp_lossless",))
    add("pillow.lossy.q90.exif6.33x47", encode_pillow(grad, quality=90, exif=exif_payload(6)),
        "lossy q90 with an EXIF chunk, Orientation 6", pil, ("webp_lossy", "webp_exif"))
    add("opencv.lossy.q60.colour_bars.24x40", encode_opencv(syn.colour_bars(24, 40), quality=60),
        "OpenCV lossy q60", ocv, ("webp_lossy",))
    add("opencv.lossless.checker.33x31", encode_opencv(syn.checkerboard(33, 31), quality=101),
        "OpenCV lossless (quality 101)", ocv, ("webp_lossless",))
    if photo is not None:
        for name, q in (("chelsea", 85), ("coffee", 40)):
            a = photo(name, 8)
            add(f"pillow.lossy.q{q}.photo_{name}.{a.shape[0]}x{a.shape[1]}",
                encode_pillow(a, quality=q), f"lossy q{q}, photograph", pil,
                ("webp_lossy", "photo"))
        a = photo("astronaut", 8)
        add(f"pillow.lossless.photo_astronaut.{a.shape[0]}x{a.shape[1]}",
            encode_pillow(a, lossless=True), "lossless photograph", pil, ("webp_lossless", "photo"))
    return out


def negative_webps() -> list[WebpInput]:
    """Hostile WebPs: a conforming decoder must raise DecodeError (libwebp refuses each too)."""
    lossy = encode_pillow(syn.gradients(16, 24), quality=80)
    lossless = encode_pillow(syn.gradients(16, 24), lossless=True)
    start = lossy.index(b"\x9d\x01\x2a")
    files = {
        "truncated_lossy": (lossy[:len(lossy) * 2 // 3], "lossy data cut at two thirds: a "
                            "conforming decoder must raise DecodeError"),
        "truncated_lossless": (lossless[:len(lossless) // 2], "lossless data cut in half: a "
                               "conforming decoder must raise DecodeError"),
        "bad_start_code": (lossy[:start] + b"\x9d\x01\x2b" + lossy[start + 3:],
                           "VP8 start code 9d 01 2b (RFC 6386 §9.1 wants 9d 01 2a): a conforming "
                           "decoder must raise DecodeError"),
    }
    return [WebpInput(id=f"neg.webp.{name}", data=data, description=desc,
                      origin="corpus: conformance.encoders.webp.negative_webps",
                      tags=("webp", "webp_negative"), expect="error")
            for name, (data, desc) in files.items()]
