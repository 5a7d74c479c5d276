"""The ``libvips`` harness: each step as a pyvips deployment writes it (``pyvips`` with the
``pyvips-binary`` wheel's libvips, the optional ``[libvips]`` extra).

Library: libvips 8.18 (pyvips-binary 8.18.7 bundles libvips with mozjpeg 5.0 for JPEG, libpng
1.6 for PNG, libwebp, and highway SIMD kernels: :meth:`LibvipsHarness.versions` says which).
Images go in and out through ``Image.new_from_memory`` / ``write_to_memory`` (uint8 ``uchar``,
uint16 ``ushort``, float32 ``float``, float64 ``double``). The knob rule of :mod:`.base`
applies: an *intent* knob libvips cannot express makes the step unsupported, a *behaviour*
knob it has no parameter for is left to libvips' fixed behaviour. Per op:

decode — ``pyvips.Image.new_from_buffer(data, "", access="sequential")`` (JPEG through
  jpegload: libjpeg-turbo's defaults as mozjpeg builds them, ISLOW IDCT and fancy upsampling,
  bit-exact with the ``libjpeg-turbo`` preset on every colour corpus JPEG; PNG through pngload,
  WebP through webpload), then:
  - ``orientation`` (behaviour, exposed): ``apply`` -> ``Image.autorot()`` (the EXIF tag; libvips
    reads no XMP or text-chunk orientation), ``ignore`` -> nothing (libvips never rotates on load).
  - ``output`` (intent): ``rgb``/``bgr`` -> gray files ``colourspace("srgb")`` (the band
    replicated), CMYK files ``colourspace("srgb")`` (libvips' lcms transform with its built-in CMYK
    profile: not the naive formulas of the ``cmyk_rgb`` knob); ``bgr`` reverses the colour
    bands. ``gray`` -> colour images ``colourspace("b-w")``, libvips' own luma: linear light
    (sRGB decoded through a table, BT.709 weights, encoded again), which is none of the
    reference's ``gray_arithmetic`` values: the score shows the difference. ``unchanged`` ->
    the bands as loaded (gray, gray+alpha, rgb, rgba; CMYK as 4 bands of libvips' inverted ink).
  - ``alpha`` (intent for ``keep``): ``drop`` -> the colour bands only (``extract_band``);
    ``keep`` -> kept; ``composite`` -> ``Image.flatten(background=...)``. libpng's loader turns a
    tRNS chunk into alpha always (``trns`` is behaviour).
  - ``depth16`` (behaviour, exposed as the output format): ``keep`` -> ``ushort`` as loaded;
    otherwise ``Image.cast("uchar", shift=True)`` (v >> 8, the ``shift`` rule).
  - ``dct_scale`` (intent: decode at 1/N in the DCT domain) -> ``new_from_buffer(data, "",
    shrink=N)`` for a JPEG (jpegload's shrink-on-load, what ``vips_thumbnail`` uses): libjpeg's
    scale_denom, then libvips crops the result to floor(W/N) x floor(H/N) where libjpeg gives
    ceil: on the kept area it is the reference's ``dct_scale`` decode bit for bit (every corpus
    colour JPEG at 1/2, 1/4, 1/8), the last partial row/column is dropped, and a JPEG smaller
    than N pixels on a side is refused by libvips (unsupported here). On a lossless JPEG, which
    libjpeg does not scale, libvips still returns floor(W/N) x floor(H/N) pixels: the top-left
    corner of the full image (measured). No effect on PNG/WebP.
  - ``max_pixels``: checked on the header (width × height) before any pixel is decoded: libvips
    has no limit of its own (a 100000 × 100000 PNG header kept its gray conversion busy for over
    60 s before it failed, measured).
  - idct, upsampling, block smoothing, CMYK conventions, damaged data: libjpeg's defaults.

resize — ``Image.resize(out_w / in_w, vscale=out_h / in_h, kernel=..., gap=reducing_gap)``
  (``vips_resize``). ``filter`` (intent): nearest -> ``nearest``, triangle -> ``linear``, cubic
  -> ``cubic`` (Catmull-Rom), mitchell -> ``mitchell``, lanczos -> ``lanczos3`` (``lanczos2``
  with ``lobes = 2``). box,
  hamming, gaussian and area are **unsupported**: libvips' kernels are nearest, linear, cubic,
  mitchell, lanczos2/3 and mks2013/2021. ``output_dtype`` (intent): ``float32`` casts the image
  to float first (libvips then resizes with its float path and returns float32).
  ``reducing_gap`` (behaviour, exposed as ``gap``): 0
  turns the box pre-shrink off (a pure ``vips_reduce``), vips_resize's default is 2.0. Every
  other behaviour knob is libvips': ``reference.resize.vips`` (the ``libvips.*`` presets) models
  its downsizing, and its upsizing (``vips_affine`` with an interpolator) for cubic and lanczos
  (the bicubic interpolator), not for linear and nearest. The output size is libvips' (round(in · scale) per axis):
  a difference from the size asked for is shown by the score. ``vips_thumbnail`` is not used: it
  is decode + shrink-on-load + resize in one call (see decode); on an opaque 8-bit PNG, which
  has no shrink-on-load, ``thumbnail_buffer(size="force")`` equals the ``libvips`` decode then
  ``libvips.lanczos3`` bit for bit (tests/test_harness_libvips.py).

color — rgb_to_gray -> ``colourspace("b-w")`` (libvips' linear-light luma; ``arithmetic``,
  ``gray_coefficients`` and ``rounding`` are behaviour), bgr_to_gray -> bands reversed first;
  gray_to_rgb -> ``colourspace("srgb")`` of a b-w image (the band replicated); rgb_to_bgr /
  bgr_to_rgb -> ``bandjoin`` of the bands reversed; rgba_to_rgb -> ``extract_band(0, n=3)``
  (drop) or ``flatten(background=...)`` (composite). rgb_to_ycbcr / ycbcr_to_rgb are
  **unsupported** (libvips has no JPEG YCbCr colourspace). Only uint8 images.

Other ops (crop, pad, letterbox, normalize, layout, the way back) are **unsupported**: libvips
has ``crop``/``embed``/``linear`` calls for some, but they are numpy one-liners in any libvips
deployment and comparing them measures nothing of libvips.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pyvips

from .base import Harness, Unsupported, package_versions, resize_target

OPS = ("decode", "resize", "color")
KERNELS = {"nearest": "nearest", "triangle": "linear", "cubic": "cubic", "lanczos": "lanczos3",
           "mitchell": "mitchell"}
RESIZE_UNSUPPORTED = {
    "box": "vips_resize has no box kernel (vips_shrink averages boxes only for integer factors); "
           "use Pillow's BOX or the reference",
    "hamming": "libvips has no Hamming kernel; use Pillow's HAMMING or the reference",
    "gaussian": "libvips' resize has no Gaussian kernel (vips_gaussblur is a blur, not a "
                "resampler); use the image crate or the reference",
    "area": "libvips has no OpenCV INTER_AREA resampler; use OpenCV or the reference",
}
COLOR_UNSUPPORTED = {
    "rgb_to_ycbcr": "libvips has no JPEG (JFIF) YCbCr colourspace",
    "ycbcr_to_rgb": "libvips has no JPEG (JFIF) YCbCr colourspace",
    **{f"{src}_to_{dst}": f"libvips has no YUV 4:2:0 ({src.upper()}) image: a frame is one band of "
                          "height H*3/2 to it; convert with cv2.cvtColor or the reference"
       for src in ("nv12", "i420") for dst in ("rgb", "bgr")},
}
JPEG_SOI = b"\xff\xd8"
FORMATS = {np.dtype(np.uint8): "uchar", np.dtype(np.uint16): "ushort",
           np.dtype(np.float32): "float", np.dtype(np.float64): "double"}
DTYPES = {v: k for k, v in FORMATS.items()}


def to_vips(array: np.ndarray) -> pyvips.Image:
    """An (H, W, C) array as a libvips image (a copy, so ``array`` is never modified)."""
    if array.ndim != 3:
        raise ValueError(f"libvips images are (H, W, C), got shape {array.shape}")
    fmt = FORMATS.get(array.dtype)
    if fmt is None:
        raise Unsupported(f"libvips harness: no {array.dtype} images here (uint8, uint16, float32, "
                          "float64)")
    h, w, c = array.shape
    return pyvips.Image.new_from_memory(np.ascontiguousarray(array).tobytes(), w, h, c, fmt)


def from_vips(image: pyvips.Image) -> np.ndarray:
    """The pixels of a libvips image as an (H, W, C) array of its format."""
    dtype = DTYPES.get(image.format)
    if dtype is None:
        raise ValueError(f"libvips returned a {image.format} image")
    data = image.write_to_memory()
    return np.ndarray(buffer=data, dtype=dtype, shape=(image.height, image.width, image.bands)).copy()


class LibvipsHarness(Harness):
    """libvips through pyvips; see the module docstring."""

    name = "libvips"
    summary = "libvips (pyvips + pyvips-binary): jpeg/png/webpload, vips_resize, colourspace"

    def __init__(self) -> None:
        pyvips.cache_set_max(0)  # no operation cache: every case computes afresh

    def versions(self) -> dict[str, str]:
        import importlib.metadata

        out = package_versions("pyvips", pyvips.__version__)
        try:
            out["pyvips-binary"] = importlib.metadata.version("pyvips-binary")
        except importlib.metadata.PackageNotFoundError:
            pass  # pyvips on a system libvips
        out["libvips"] = ".".join(str(pyvips.version(i)) for i in range(3))
        out.update(build_facts())
        return out

    def capabilities(self) -> dict[str, str]:
        return {"decode": "new_from_buffer (jpeg/png/webpload; shrink=N for dct_scale), autorot, "
                          "colourspace srgb/b-w, flatten, cast(shift) for 16 -> 8",
                "resize": "vips_resize (nearest, linear, cubic, lanczos2/3; gap = reducing_gap)",
                "color": "colourspace b-w/srgb, band reversal, flatten; uint8 only"}

    def check(self, step: dict[str, Any]) -> str | None:
        op = step.get("op")
        if op not in OPS:
            return (f"the libvips harness covers decode, resize and color, not {op!r} (libvips' "
                    "calls for it are numpy one-liners in a deployment)")
        if op == "resize" and step["filter"] in RESIZE_UNSUPPORTED:
            return RESIZE_UNSUPPORTED[step["filter"]]
        if op == "resize" and step["filter"] not in KERNELS:
            return (f"vips_resize has no {step['filter']!r} kernel (nearest, linear, cubic, mitchell, "
                    "lanczos2/3, mks2013/2021)")
        if op == "color" and step["conversion"] in COLOR_UNSUPPORTED:
            return COLOR_UNSUPPORTED[step["conversion"]]
        return None

    def describe(self, step: dict[str, Any]) -> str:
        op = step["op"]
        if op == "decode":
            rot = ".autorot()" if step["orientation"] == "apply" else ""
            return (f"Image.new_from_buffer(data, '', access='sequential'){rot} then output "
                    f"{step['output']!r} (colourspace srgb/b-w), alpha {step['alpha']!r}")
        if op == "resize":
            return (f"Image.resize(out_w/in_w, vscale=out_h/in_h, kernel={_kernel(step)!r}, "
                    f"gap={float(step.get('reducing_gap', 0.0))})")
        return {"rgb_to_gray": "colourspace('b-w')", "bgr_to_gray": "bands reversed, colourspace('b-w')",
                "gray_to_rgb": "colourspace('srgb')", "rgb_to_bgr": "bandjoin(bands reversed)",
                "bgr_to_rgb": "bandjoin(bands reversed)",
                "rgba_to_rgb": "extract_band(0, n=3) or flatten(background)"}[step["conversion"]]

    def run(self, step: dict[str, Any], value: bytes | np.ndarray) -> np.ndarray:
        reason = self.check(step)
        if reason:
            raise Unsupported(reason)
        op = step["op"]
        if op == "decode":
            return _decode(step, bytes(value))
        if op == "resize":
            return _resize(step, value)
        return _color(step, value)


def _kernel(step: dict[str, Any]) -> str:
    if step["filter"] == "lanczos" and step.get("lobes") == 2:
        return "lanczos2"
    return KERNELS[step["filter"]]


def _decode(step: dict[str, Any], data: bytes) -> np.ndarray:
    image = pyvips.Image.new_from_buffer(data, "", access="sequential")
    shrink = int(step.get("dct_scale", 1))
    if shrink != 1 and data[:2] == JPEG_SOI:
        if image.width < shrink or image.height < shrink:
            raise Unsupported(f"libvips' jpegload shrink={shrink} keeps floor(W/{shrink}) x "
                              f"floor(H/{shrink}) pixels and refuses a {image.width} x "
                              f"{image.height} JPEG ('image has shrunk to nothing')")
        image = pyvips.Image.new_from_buffer(data, "", access="sequential", shrink=shrink)
    if image.width * image.height > int(step["max_pixels"]):
        # libvips has no pixel limit: on a PNG header declaring 100000 x 100000 pixels its gray
        # conversion ran past 60 s before failing (measured); a deployment checks the header
        raise ValueError(f"{image.width} x {image.height} pixels is over max_pixels "
                         f"{step['max_pixels']} (checked on the header, before decoding)")
    if step["orientation"] == "apply":
        image = image.autorot()
    has_alpha = image.hasalpha()
    colour = image.bands - (1 if has_alpha else 0)
    output, alpha = step["output"], step["alpha"]
    if has_alpha and alpha == "composite":
        background = list(step["background"])
        if image.format == "ushort":
            background = [v * 257 for v in background]
        image = image.flatten(background=background[:colour] if colour < 3 else background)
        has_alpha = False
    elif has_alpha and alpha == "drop":
        image = image.extract_band(0, n=colour)
        has_alpha = False
    if image.format == "ushort" and step["depth16"] != "keep":
        # 16 -> 8 first (the spec's order: luma after the 16-bit rule); cast keeps the
        # interpretation, so name the 8-bit one colourspace expects
        interpretation = {"grey16": "b-w", "rgb16": "srgb"}.get(image.interpretation,
                                                                image.interpretation)
        image = image.cast("uchar", shift=True).copy(interpretation=interpretation)
    if output in ("rgb", "bgr") and image.interpretation in ("b-w", "grey16", "cmyk"):
        image = image.colourspace("srgb")
    elif output == "gray" and colour >= 3:
        image = image.colourspace("b-w")
    out = from_vips(image)
    if output == "bgr":
        n = 3
        out = np.ascontiguousarray(np.concatenate([out[..., :n][..., ::-1], out[..., n:]], axis=2))
    return out


def _resize(step: dict[str, Any], image: np.ndarray) -> np.ndarray:
    in_h, in_w = image.shape[:2]
    out_h, out_w = resize_target(step, in_h, in_w)
    if (out_h, out_w) == (in_h, in_w):
        return image.copy()
    vimage = to_vips(image)
    if step.get("output_dtype", "input") == "float32" and image.dtype != np.float32:
        vimage = vimage.cast("float")  # intent: a float32 result (libvips then resizes in float)
    resized = vimage.resize(out_w / in_w, vscale=out_h / in_h, kernel=_kernel(step),
                            gap=float(step.get("reducing_gap", 0.0)))
    return from_vips(resized)


def _color(step: dict[str, Any], image: np.ndarray) -> np.ndarray:
    if image.dtype != np.uint8:
        raise Unsupported(f"the libvips harness converts uint8 images only, got {image.dtype}")
    conversion = step["conversion"]
    vimage = to_vips(image)
    if conversion in ("rgb_to_gray", "bgr_to_gray"):
        if conversion == "bgr_to_gray":
            vimage = vimage[2].bandjoin([vimage[1], vimage[0]])
        return from_vips(vimage.copy(interpretation="srgb").colourspace("b-w"))
    if conversion == "gray_to_rgb":
        return from_vips(vimage.copy(interpretation="b-w").colourspace("srgb"))
    if conversion in ("rgb_to_bgr", "bgr_to_rgb"):
        bands = [vimage[i] for i in range(vimage.bands)]
        return from_vips(bands[2].bandjoin([bands[1], bands[0]] + bands[3:]))
    if step["alpha"] == "composite":
        return from_vips(vimage.copy(interpretation="srgb").flatten(background=list(step["background"])))
    return from_vips(vimage.extract_band(0, n=3))


@functools.cache
def build_facts() -> dict[str, str]:
    """What the libvips binary was built with: the JPEG and PNG libraries' banners and the SIMD
    (highway) targets, read from the loaded shared library; 'unknown' where not found."""
    import ctypes
    import mmap
    import re

    facts = {"libjpeg": "unknown", "libpng": "unknown", "simd": "unknown"}
    path = _libvips_path()
    if path is None:
        return facts
    try:
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            for key, pattern in (("libjpeg", rb"(mozjpeg|libjpeg-turbo) version ([0-9.]+)"),
                                 ("libpng", rb"libpng version ([0-9.]+)")):
                found = re.search(pattern, m)
                if found:
                    facts[key] = " ".join(g.decode() for g in found.groups())
            if facts["libpng"] == "unknown":
                found = re.search(rb"\x00(1\.6\.[0-9]+)\x00", m)  # libpng's PNG_LIBPNG_VER_STRING
                if found:
                    facts["libpng"] = found.group(1).decode()
    except (OSError, ValueError):
        pass
    try:
        lib = ctypes.CDLL(str(path))
        lib.vips_vector_isenabled.restype = ctypes.c_int
        lib.vips_vector_get_supported_targets.restype = ctypes.c_int64
        lib.vips_vector_target_name.restype = ctypes.c_char_p
        lib.vips_vector_target_name.argtypes = [ctypes.c_int64]
        targets = lib.vips_vector_get_supported_targets()
        names = [lib.vips_vector_target_name(1 << b).decode() for b in range(63) if targets >> b & 1]
        enabled = "on" if lib.vips_vector_isenabled() else "off"
        facts["simd"] = f"highway {enabled}: {', '.join(names) or 'none'}"
    except (OSError, AttributeError):
        pass
    return facts


def _libvips_path():
    """The libvips shared library pyvips loaded: the pyvips-binary wheel's, else the system's."""
    import ctypes.util
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("_libvips")
    if spec and spec.origin:
        libs = Path(spec.origin).parent / "pyvips_binary.libs"
        found = sorted(libs.glob("libvips*.so*")) if libs.is_dir() else []
        if found:
            return found[0]
    name = ctypes.util.find_library("vips")
    return Path(name) if name and Path(name).is_file() else None
