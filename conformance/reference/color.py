"""Colour conversions on (H, W, C) arrays.

Luma (rgb -> gray) is where libraries differ by one level: each arithmetic is spelled out.
JPEG YCbCr here is the JFIF full-range transform (ITU-T T.871 §7), in float64. YUV 4:2:0 frames
(NV12, I420, one plane of H·3/2 rows as a camera or video decoder hands them over) are converted
with BT.601 limited-range coefficients (:func:`yuv420_to_rgb`).
"""

from __future__ import annotations

import numpy as np

from ..errors import SpecError
from ..spec import Color
from .rounding import round_to_int, saturate

# Rec. ITU-R BT.601 and BT.709 luma weights (kr, kg, kb).
GRAY_COEFFICIENTS = {"bt601": (0.299, 0.587, 0.114), "bt709": (0.2126, 0.7152, 0.0722)}

# Fixed-point luma, 8-bit input: (kr·R + kg·G + kb·B + half) >> shift.
# Pillow Convert.c L24: weights = round(0.299·2^16 ...) = 19595, 38470, 7471; + 0x8000, >> 16.
# OpenCV 5 cvtColor COLOR_RGB2GRAY (color_rgb.simd.hpp, gray_shift = 15): 9798, 19235, 3735,
# + 2^14, >> 15 (measured identical to cv2.cvtColor over all 2^24 RGB triples; the older 14-bit
# 4899/9617/1868 table differs on 0.3 % of them).
# Form: (weights, offset, divisor, coefficients): Y = (wr·R + wg·G + wb·B + offset) // divisor.
FIXED_GRAY = {"pillow_fixed": ((19595, 38470, 7471), 1 << 15, 1 << 16, "bt601"),
              "opencv_fixed": ((9798, 19235, 3735), 1 << 14, 1 << 15, "bt601")}

# The Rust image crate 0.25.10's luma (DynamicImage::to_luma8 / to_luma16 -> CicpTransform's
# fallback cast, metadata/cicp.rs): samples scaled to [0, 1] in float32 (v · f32(1/max)), then
# Y = (R·kr + G·kg) + B·kb in float32, left to right, no fused multiply-add (the default x86-64
# build), then round(Y · max) half away from zero, saturated. (kr, kg, kb) is the Y row of the
# RGB -> XYZ matrix moxcms 0.8.1 derives in float32 from the BT.709 primaries and D65 — not the
# rounded 0.2126/0.7152/0.0722. The three float32 values were identified against the crate on
# all 2^24 RGB triples: 0 mismatches (59,696 with f32(0.2126, 0.7152, 0.0722)).
IMAGE_LUMA_F32 = (np.float32(0.21264784038066864), np.float32(0.7151792049407959),
                  np.float32(0.07217303663492203))


# libvips 8.18 colourspace("b-w") of an sRGB image (colour/sRGB2scRGB.c, LabQ2sRGB.c
# vips_col_scRGB2BW), all float32 as libvips computes it, checked on all 2^24 RGB triples against
# pyvips-binary 8.18.7 (tests/test_harness_libvips.py): 0 mismatches.
#   1. linear light through a 256-entry table: f = f32(i) / 255f;
#      v2Y[i] = f / 12.92f if f <= 0.04045f else powf((f + 0.055f) / 1.055f, 2.4f)
#      (the C library's powf: numpy's float32 power differs in a few entries);
#   2. Y = (0.2126f·R + 0.7152f·G) + 0.0722f·B, each product and sum rounded to float32;
#   3. back to sRGB through a 256-entry table of integer codes, interpolated:
#      Y2v[i] = rint(255·v(i/255)) with the sRGB curve v in double (Y2v[256] = Y2v[255]);
#      Yf = clip(f32(Y·255), 0, 255), Yi = (int) Yf, g = rint(Y2v[Yi] + (Y2v[Yi+1] − Y2v[Yi])·(Yf − Yi))
#      in float32, rint = half to even (VIPS_RINT).
# Gray values map to themselves. The double-precision table (pow) instead of powf misses 103 triples,
# BT.601 weights or linear-light-free formulas most of them.
VIPS_LUMA_F32 = (np.float32(0.2126), np.float32(0.7152), np.float32(0.0722))


def _vips_tables() -> tuple[np.ndarray, np.ndarray]:
    """libvips' 8-bit sRGB tables (v2Y: code -> linear float32; Y2v: linear·255 -> code)."""
    import ctypes
    import ctypes.util

    libm = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
    libm.powf.restype = ctypes.c_float
    libm.powf.argtypes = [ctypes.c_float, ctypes.c_float]
    f32 = np.float32
    v2y = np.zeros(256, dtype=f32)
    y2v = np.zeros(257, dtype=np.int64)
    for i in range(256):
        f = f32(f32(i) / f32(255))
        v2y[i] = f / f32(12.92) if f <= f32(0.04045) else \
            f32(libm.powf(float((f + f32(0.055)) / f32(1.055)), 2.4))
        fd = float(f)
        v = f32(12.92 * fd) if fd <= 0.0031308 else f32(1.055 * fd ** (1.0 / 2.4) - 0.055)
        y2v[i] = int(np.rint(f32(255) * v))
    y2v[256] = y2v[255]
    return v2y, y2v


def vips_luma(rgb: np.ndarray) -> np.ndarray:
    """libvips' ``colourspace("b-w")`` of an (H, W, 3) uint8 sRGB array (:data:`VIPS_LUMA_F32`
    and the comment above it), as (H, W, 1) uint8."""
    if rgb.dtype != np.uint8:
        raise SpecError(f"arithmetic 'vips_linear' is defined for uint8 input, got {rgb.dtype}",
                        field="arithmetic", value="vips_linear")
    f32 = np.float32
    v2y, y2v = _vips_tables()
    kr, kg, kb = VIPS_LUMA_F32
    y = (kr * v2y[rgb[..., 0]] + kg * v2y[rgb[..., 1]]).astype(f32) + kb * v2y[rgb[..., 2]]
    yf = np.clip(y.astype(f32) * f32(255), f32(0), f32(255)).astype(f32)
    yi = yf.astype(np.int64)
    lo, hi = y2v[yi].astype(f32), y2v[yi + 1].astype(f32)
    v = (lo + ((hi - lo) * (yf - yi.astype(f32))).astype(f32)).astype(f32)
    return np.rint(v).astype(np.uint8)[..., None]


def rgb_to_gray(rgb: np.ndarray, coefficients: str = "bt601", arithmetic: str = "float",
                rounding: str = "half_up", memory_order: str = "rgb") -> np.ndarray:
    """Y = kr·R + kg·G + kb·B of an (H, W, 3) array, returned as (H, W, 1) in the input dtype.

    ``arithmetic="float"``: float64 sum, then ``rounding`` (integers) or kept (floats).
    ``pillow_fixed``/``opencv_fixed`` (bt601): the libraries' integer formulas (:data:`FIXED_GRAY`;
    8-bit input only). ``image_f32`` (bt709): the Rust image crate's float32 luma
    (:data:`IMAGE_LUMA_F32`; uint8 or uint16 input). ``openvino_f32`` (bt601): OpenVINO's CPU
    plugin (convert_color to GRAY, 2026.4), :func:`openvino_luma`; uint8 or float32 input.
    ``vips_linear`` (bt709): libvips' linear-light luma (:func:`vips_luma`; uint8 input).
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise SpecError(f"rgb_to_gray needs 3 channels, got shape {rgb.shape}", field="conversion")
    if arithmetic == "float":
        kr, kg, kb = GRAY_COEFFICIENTS[coefficients]
        x = rgb.astype(np.float64)
        y = kr * x[..., 0] + kg * x[..., 1] + kb * x[..., 2]
        if np.issubdtype(rgb.dtype, np.integer):
            y = saturate(round_to_int(y, rounding), rgb.dtype)
        else:
            y = y.astype(rgb.dtype)
        return y[..., None]
    if arithmetic == "openvino_f32":
        if coefficients != "bt601":
            raise SpecError("arithmetic 'openvino_f32' exists only for bt601", field="arithmetic",
                            value=arithmetic)
        return openvino_luma(rgb, rounding, memory_order)
    if arithmetic == "image_f32":
        if coefficients != "bt709":
            raise SpecError("arithmetic 'image_f32' exists only for bt709", field="arithmetic", value=arithmetic)
        return image_luma(rgb)
    if arithmetic == "vips_linear":
        if coefficients != "bt709":
            raise SpecError("arithmetic 'vips_linear' exists only for bt709", field="arithmetic",
                            value=arithmetic)
        return vips_luma(rgb)
    if rgb.dtype != np.uint8:
        raise SpecError(f"arithmetic {arithmetic!r} is defined for uint8 input, got {rgb.dtype}",
                        field="arithmetic", value=arithmetic)
    if arithmetic not in FIXED_GRAY:
        raise SpecError(f"unknown luma arithmetic {arithmetic!r}", field="arithmetic", value=arithmetic)
    if coefficients != FIXED_GRAY[arithmetic][3]:
        raise SpecError(f"arithmetic {arithmetic!r} exists only for {FIXED_GRAY[arithmetic][3]}",
                        field="arithmetic", value=arithmetic)
    return fixed_luma(rgb, arithmetic)


def openvino_luma(rgb: np.ndarray, rounding: str, memory_order: str = "rgb") -> np.ndarray:
    """OpenVINO's luma (PrePostProcessor ``convert_color(GRAY)`` on the CPU plugin, 2026.4):
    float32 BT.601 weights summed in the channels' *memory* order with fused multiply-adds:
    for an RGB tensor Y = fma(B, 0.114f, fma(G, 0.587f, R · 0.299f)), for a BGR tensor
    (``memory_order="bgr"``) Y = fma(R, 0.299f, fma(G, 0.587f, B · 0.114f)); one float32 rounding
    per operation, then ``rounding`` (the plugin's: half to even) and saturation for uint8;
    float32 input is returned unrounded. ``rgb`` is in R, G, B order either way. Identified
    against the plugin on all 2^24 uint8 triples, RGB and BGR: 0 mismatches (1,396 for the
    unfused left-to-right sum, 2,631 for float64, 1,386 for the other memory order)."""
    if rgb.dtype not in (np.uint8, np.float32):
        raise SpecError(f"arithmetic 'openvino_f32' is defined for uint8 and float32 input, got {rgb.dtype}",
                        field="arithmetic", value="openvino_f32")
    f, d = np.float32, np.float64
    kr, kg, kb = (f(k) for k in GRAY_COEFFICIENTS["bt601"])
    r, g, b = (rgb[..., k].astype(f) for k in range(3))

    def fma(x: np.ndarray, k: np.float32, acc: np.ndarray) -> np.ndarray:
        return (x.astype(d) * d(k) + acc.astype(d)).astype(f)  # float32 x·k is exact in float64
    if memory_order == "rgb":
        y = fma(b, kb, fma(g, kg, r * kr))
    else:
        y = fma(r, kr, fma(g, kg, b * kb))
    if rgb.dtype == np.uint8:
        y = saturate(round_to_int(y, rounding), np.dtype(np.uint8))
    return y[..., None]


def fixed_luma(rgb: np.ndarray, arithmetic: str) -> np.ndarray:
    """(wr·R + wg·G + wb·B + offset) // divisor with :data:`FIXED_GRAY`'s constants, as (H, W, 1)
    in the input's integer dtype. The weights sum to the divisor, so the formula maps 0..max onto
    0..max for uint16 samples as well as uint8 (the decode op uses it on kept 16-bit samples)."""
    (wr, wg, wb), offset, divisor, _ = FIXED_GRAY[arithmetic]
    x = rgb.astype(np.int64)
    y = (wr * x[..., 0] + wg * x[..., 1] + wb * x[..., 2] + offset) // divisor
    return y.astype(rgb.dtype)[..., None]


def image_luma(rgb: np.ndarray) -> np.ndarray:
    """The Rust image crate's luma (:data:`IMAGE_LUMA_F32`) of an (H, W, 3) uint8 or uint16 array,
    as (H, W, 1) of the same dtype."""
    if rgb.dtype not in (np.uint8, np.uint16):
        raise SpecError(f"arithmetic 'image_f32' is defined for uint8 and uint16 input, got {rgb.dtype}",
                        field="arithmetic", value="image_f32")
    top = np.float32(np.iinfo(rgb.dtype).max)
    x = rgb.astype(np.float32) * (np.float32(1.0) / top)
    kr, kg, kb = IMAGE_LUMA_F32
    y = x[..., 0] * kr          # float32 throughout: each product and sum rounded to float32
    y = y + x[..., 1] * kg
    y = y + x[..., 2] * kb
    scaled = (y * top).astype(np.float64)
    out = np.floor(np.abs(scaled) + 0.5) * np.sign(scaled)  # round half away from zero
    return np.clip(out, 0, float(top)).astype(rgb.dtype)[..., None]


def composite(colour: np.ndarray, alpha: np.ndarray, background) -> np.ndarray:
    """out = a·c + (1 − a)·bg per channel, a = alpha / max (max of an integer dtype, 1 for floats),
    in float64, rounded half up for integer images; ``colour`` (H, W, C), ``alpha`` (H, W, 1),
    ``background`` one value per channel in the image's units."""
    integer = np.issubdtype(colour.dtype, np.integer)
    maxval = float(np.iinfo(colour.dtype).max) if integer else 1.0
    a = alpha.astype(np.float64) / maxval
    out = a * colour.astype(np.float64) + (1.0 - a) * np.asarray(background, dtype=np.float64)
    if integer:
        return saturate(round_to_int(out, "half_up"), colour.dtype)
    return out.astype(colour.dtype)


def composite_over(rgba: np.ndarray, background: tuple) -> np.ndarray:
    """Alpha-composite an (H, W, 4) image over a constant RGB background (:func:`composite`)."""
    return composite(rgba[..., :3], rgba[..., 3:4], background)


# JFIF full-range YCbCr (ITU-T T.871 §7), from the BT.601 luma weights Kr, Kb (Kg = 1 − Kr − Kb):
#   Y  = Kr·R + Kg·G + Kb·B
#   Cb = (B − Y) / (2·(1 − Kb)) + 128   (= −0.168736R − 0.331264G + 0.5B + 128)
#   Cr = (R − Y) / (2·(1 − Kr)) + 128   (= 0.5R − 0.418688G − 0.081312B + 128)
# and its exact inverse (Cb' = Cb − 128, Cr' = Cr − 128):
#   R = Y + 2·(1 − Kr)·Cr'              (= Y + 1.402Cr')
#   G = Y − (2·Kb·(1 − Kb)/Kg)·Cb' − (2·Kr·(1 − Kr)/Kg)·Cr'
#   B = Y + 2·(1 − Kb)·Cb'              (= Y + 1.772Cb')
# Every coefficient is computed once in float64 from Kr and Kb, and every sum is evaluated left to
# right as written (never a BLAS matrix product, whose summation order and fused multiply-adds
# depend on the machine and decide exact .5 ties).
_KR, _KB = 0.299, 0.114
_KG = 1.0 - _KR - _KB
_CB_B, _CR_R = 2.0 * (1.0 - _KB), 2.0 * (1.0 - _KR)
_RGB_TO_YCBCR = ((_KR, _KG, _KB),
                 (-_KR / _CB_B, -_KG / _CB_B, (1.0 - _KB) / _CB_B),
                 ((1.0 - _KR) / _CR_R, -_KG / _CR_R, -_KB / _CR_R))
_YCBCR_TO_RGB = ((1.0, 0.0, _CR_R),
                 (1.0, -_KB * _CB_B / _KG, -_KR * _CR_R / _KG),
                 (1.0, _CB_B, 0.0))
YCBCR_OFFSET = 128.0


# --- YUV 4:2:0 (NV12, I420) ---------------------------------------------------------------------
# One plane of H·3/2 rows × W columns, uint8 (OpenVINO's NV12_SINGLE_PLANE / I420_SINGLE_PLANE
# tensor, (1, H·3/2, W, 1) NHWC): rows 0..H−1 are Y; then
# - NV12: H/2 rows of interleaved U, V pairs (U at even columns, V at odd), one pair per 2×2 block;
# - I420: the U plane (H/2 × W/2) then the V plane (H/2 × W/2), both packed row after row in the
#   remaining H/2 × W bytes.
# Chroma is replicated over its 2×2 block (no interpolation). H and W must be even.
# BT.601 limited ("video") range with the three-decimal coefficients of OpenVINO's NV12toRGB-8 /
# I420toRGB-8 specification (and many camera SDKs):
#   R = 1.164·(Y − 16) + 1.596·(V − 128)
#   G = 1.164·(Y − 16) − 0.391·(U − 128) − 0.813·(V − 128)
#   B = 1.164·(Y − 16) + 2.018·(U − 128)
# then ``rounding`` and clipping to 0..255.
YUV420_LAYOUTS = ("nv12", "i420")
YUV601_LIMITED = dict(y=1.164, rv=1.596, gu=0.391, gv=0.813, bu=2.018, y_offset=16.0, c_offset=128.0)


def yuv420_planes(plane: np.ndarray, layout: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Y, U, V), each (H, W) uint8, U and V replicated over their 2×2 blocks, from a single
    (H·3/2, W, 1) plane in ``layout`` ``nv12`` or ``i420`` (see the comment above)."""
    if plane.ndim != 3 or plane.shape[2] != 1 or plane.dtype != np.uint8:
        raise SpecError(f"a {layout} frame is one uint8 plane (H*3/2, W, 1); got {plane.dtype}"
                        f"{list(plane.shape)}", field="conversion", value=f"{layout}_to_rgb")
    rows, w = plane.shape[:2]
    h = rows * 2 // 3
    if rows % 3 or h % 2 or w % 2 or h == 0:
        raise SpecError(f"a {layout} plane has H*3/2 rows with H and W even; got {rows} rows x {w}",
                        field="conversion", value=f"{layout}_to_rgb")
    y, chroma = plane[:h, :, 0], plane[h:, :, 0]
    if layout == "nv12":
        pairs = chroma.reshape(h // 2, w // 2, 2)
        u, v = pairs[..., 0], pairs[..., 1]
    else:
        flat = chroma.reshape(-1)
        u = flat[:h * w // 4].reshape(h // 2, w // 2)
        v = flat[h * w // 4:].reshape(h // 2, w // 2)
    up = lambda c: np.repeat(np.repeat(c, 2, axis=0), 2, axis=1)  # noqa: E731 - 2x2 replication
    return y, up(u), up(v)


def yuv420_to_rgb(plane: np.ndarray, layout: str, arithmetic: str, rounding: str) -> np.ndarray:
    """(H, W, 3) uint8 RGB of a YUV 4:2:0 plane, BT.601 limited range (:data:`YUV601_LIMITED`).

    ``arithmetic``: ``float`` evaluates the formulas in float64 (exact for the decimal
    coefficients as float64 constants) before ``rounding``; ``openvino_f32`` is OpenVINO's CPU
    plugin (ColorConvert node, 2026.4): c = Y − 16, d = U − 128, e = V − 128 in float32, then
    R = 1.164c + 1.596e, G = (1.164c − 0.391d) − 0.813e, B = 1.164c + 2.018d with every product
    and sum rounded to float32 (no fused multiply-add) and the float32 coefficients, then
    ``rounding`` (the plugin's is half to even: ``rounding="half_even"``; OpenVINO's own reference
    implementation rounds with std::round, half away from zero, which is ``half_up`` here because
    negative values clip to 0 either way).
    """
    y, u, v = yuv420_planes(plane, layout)
    k = YUV601_LIMITED
    if arithmetic == "openvino_f32":
        f = np.float32
        c, d, e = y.astype(f) - f(k["y_offset"]), u.astype(f) - f(k["c_offset"]), v.astype(f) - f(k["c_offset"])
        yc = f(k["y"]) * c
        r = yc + f(k["rv"]) * e
        g = (yc - f(k["gu"]) * d) - f(k["gv"]) * e
        b = yc + f(k["bu"]) * d
    elif arithmetic == "float":
        c, d, e = (y.astype(np.float64) - k["y_offset"], u.astype(np.float64) - k["c_offset"],
                   v.astype(np.float64) - k["c_offset"])
        r = k["y"] * c + k["rv"] * e
        g = k["y"] * c - k["gu"] * d - k["gv"] * e
        b = k["y"] * c + k["bu"] * d
    else:
        raise SpecError(f"arithmetic {arithmetic!r} is not defined for YUV 4:2:0 (float or "
                        "openvino_f32)", field="arithmetic", value=arithmetic)
    out = np.stack([r, g, b], axis=-1).astype(np.float64)
    return saturate(round_to_int(out, rounding), np.dtype(np.uint8))


def _rows_times(m: tuple, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """(m[i][0]·a + m[i][1]·b) + m[i][2]·c for each row i, stacked on the last axis."""
    return np.stack([(row[0] * a + row[1] * b) + row[2] * c for row in m], axis=-1)


def rgb_to_ycbcr(x: np.ndarray) -> np.ndarray:
    """Float64 (..., 3) RGB -> JFIF YCbCr (T.871 §7), sums left to right."""
    out = _rows_times(_RGB_TO_YCBCR, x[..., 0], x[..., 1], x[..., 2])
    out[..., 1:] += YCBCR_OFFSET
    return out


def ycbcr_to_rgb(x: np.ndarray) -> np.ndarray:
    """Float64 (..., 3) JFIF YCbCr -> RGB, the exact inverse of :func:`rgb_to_ycbcr`."""
    return _rows_times(_YCBCR_TO_RGB, x[..., 0], x[..., 1] - YCBCR_OFFSET, x[..., 2] - YCBCR_OFFSET)


def _convert3(image: np.ndarray, fn, rounding: str) -> np.ndarray:
    out = fn(image.astype(np.float64))
    if np.issubdtype(image.dtype, np.integer):
        return saturate(round_to_int(out, rounding), image.dtype)
    return out.astype(image.dtype)


def color(image: np.ndarray, step: Color) -> np.ndarray:
    """Apply one ``color`` step (see :class:`conformance.spec.Color` for every conversion)."""
    c = image.shape[2]
    conv = step.conversion
    if conv.split("_to_")[0] in YUV420_LAYOUTS:
        rgb = yuv420_to_rgb(image, conv.split("_to_")[0], step.arithmetic, step.rounding)
        return rgb[..., ::-1].copy() if conv.endswith("_bgr") else rgb
    if step.arithmetic == "openvino_f32" and conv not in ("rgb_to_gray", "bgr_to_gray"):
        raise SpecError("arithmetic 'openvino_f32' is defined only for the nv12/i420 and gray conversions",
                        field="arithmetic", value=step.arithmetic)
    need = {"gray_to_rgb": 1, "rgba_to_rgb": 4}.get(step.conversion, 3)
    if c != need:
        raise SpecError(f"{step.conversion} needs {need} channel(s), the image has {c}",
                        field="conversion", value=step.conversion)
    if conv in ("rgb_to_bgr", "bgr_to_rgb"):
        return image[..., ::-1].copy()
    if conv in ("rgb_to_gray", "bgr_to_gray"):
        rgb = image if conv == "rgb_to_gray" else image[..., ::-1]
        return rgb_to_gray(rgb, step.gray_coefficients, step.arithmetic, step.rounding,
                           memory_order=conv.split("_to_")[0])
    if conv == "gray_to_rgb":
        return np.repeat(image, 3, axis=2)
    if conv == "rgba_to_rgb":
        return image[..., :3].copy() if step.alpha == "drop" else composite_over(image, step.background)
    if conv == "rgb_to_ycbcr":
        return _convert3(image, rgb_to_ycbcr, step.rounding)
    return _convert3(image, ycbcr_to_rgb, step.rounding)
