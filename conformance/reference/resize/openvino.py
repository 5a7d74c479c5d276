"""OpenVINO's Pillow-mode resize as its CPU plugin computes it: ``arithmetic="openvino"``.

OpenVINO's PrePostProcessor ``resize(RESIZE_BILINEAR_PILLOW | RESIZE_BICUBIC_PILLOW)`` is an
Interpolate-11 in mode ``bilinear_pillow`` / ``bicubic_pillow`` (OpenVINO PR 16601). The CPU
plugin (2026.4, ``InterpolateExecutorBase::buildTblPillow`` and its pillow kernels) follows
Pillow's algorithm (``Resample.c``: a kernel centred on each output, support widened by the
downscale factor, weights normalised per output, horizontal pass first, the intermediate image in
the input's type) but in float32 instead of Pillow's 22-bit fixed point. Per axis, with s input
and d output pixels, all in float32:

    f       = f32(d) / f32(s)                        (the Interpolate scale)
    clip    = max(1 / f, 1)                          (support stretch on downscale)
    support = r · clip                               (r = 1 bilinear, 2 bicubic)
    centre  = (o + 0.5) / f                          (output o; Pillow's (o + 0.5)·s/d)
    xmin    = max(trunc(centre − support + 0.5), 0)  (Pillow's window)
    xmax    = min(trunc(centre + support + 0.5), s)
    w_k     = K((xmin + k − centre + 0.5) / clip)    (k = 0 .. xmax − xmin − 1)
    w_k     = w_k / Σ w                              (Σ in float32, left to right; skipped if 0)

K is the triangle 1 − |x| (float32), or Keys' cubic with a = −0.5 whose inner branch
((a + 2)|x| − (a + 3))·x² + 1 the plugin evaluates in double (a double literal) and whose outer
branch (((|x| − 5)|x| + 8)|x| − 4)·a in float32. Each output is Σ_k w_k · x_k accumulated left to
right with fused multiply-adds (one float32 rounding per tap; the JIT kernels use vfmadd). A
uint8 image is rounded half to even and saturated after each pass (the working buffer is uint8);
a float32 image is not rounded. An axis whose size does not change is skipped.

The knobs must describe this (the ``openvino.bilinear_pillow`` / ``openvino.bicubic_pillow``
presets): filter triangle or cubic, cubic_a −0.5, antialias, window pillow, border renormalize,
coords half_pixel, pass_order hv, intermediate uint8, rounding half_even, unchanged_axis skip.
Checked against OpenVINO itself at 0 LSB (tests/test_harness_openvino.py).
"""

from __future__ import annotations

import numpy as np

from ...errors import SpecError

F32 = np.float32
#: knob -> the value that describes the plugin (check_openvino_step)
FIXED_KNOBS = {"antialias": True, "window": "pillow", "border": "renormalize", "coords": "half_pixel",
               "pass_order": "hv", "intermediate": "uint8", "rounding": "half_even",
               "unchanged_axis": "skip", "output_dtype": "input"}
#: filter -> (support radius r, the kernel)
PILLOW_MODES = ("triangle", "cubic")
#: Keys' a of RESIZE_BICUBIC_PILLOW, a constant in the plugin (getPillowBicubicCoeffs)
BICUBIC_PILLOW_A = -0.5


def check_openvino_step(step) -> None:
    """SpecError unless every knob holds the value that describes the plugin (module docstring)."""
    if step.filter not in PILLOW_MODES:
        raise SpecError(f"arithmetic 'openvino' models the Pillow modes (filter triangle or cubic), "
                        f"not {step.filter!r}", field="filter", value=step.filter)
    for name, want in FIXED_KNOBS.items():
        if getattr(step, name) != want:
            raise SpecError(f"OpenVINO's Pillow modes use {name}={want!r}; the step asks "
                            f"{getattr(step, name)!r}", field=name, value=getattr(step, name))
    if step.filter == "cubic" and step.cubic_a != BICUBIC_PILLOW_A:
        raise SpecError(f"RESIZE_BICUBIC_PILLOW fixes a = {BICUBIC_PILLOW_A}", field="cubic_a",
                        value=step.cubic_a)


def triangle_f32(m: np.ndarray) -> np.ndarray:
    """getPillowBilinearCoeffs: 1 − |m| for |m| < 1, else 0 (float32)."""
    m = np.abs(m.astype(F32))
    return np.where(m < 1, F32(1) - m, F32(0)).astype(F32)


def bicubic_f32(m: np.ndarray) -> np.ndarray:
    """getPillowBicubicCoeffs, a = −0.5: the |m| < 1 branch in double (the plugin's ``1.0``
    literals promote it), rounded to float32; the 1 <= |m| < 2 branch in float32."""
    m = np.abs(m.astype(F32))
    a = BICUBIC_PILLOW_A
    md = m.astype(np.float64)
    inner = (((a + 2.0) * md - (a + 3.0)) * md * md + 1.0).astype(F32)
    outer = ((((m - F32(5)) * m + F32(8)) * m - F32(4)) * F32(a)).astype(F32)
    return np.where(m < 1, inner, np.where(m < 2, outer, F32(0))).astype(F32)


def pillow_taps(s: int, d: int, filter: str) -> list[tuple[int, np.ndarray]]:
    """[(xmin, float32 weights)] per output of one axis (module docstring)."""
    f = F32(d) / F32(s)
    clip = max(F32(1) / f, F32(1))
    support = (F32(1) if filter == "triangle" else F32(2)) * clip
    kernel = triangle_f32 if filter == "triangle" else bicubic_f32
    out = []
    for o in range(d):
        centre = (F32(o) + F32(0.5)) / f
        xmin = max(int(centre - support + F32(0.5)), 0)  # int(): truncation, as the C++ cast
        xmax = min(int(centre + support + F32(0.5)), s)
        x = np.arange(xmin, max(xmax, xmin), dtype=F32)
        w = kernel((x - centre + F32(0.5)) * (F32(1) / clip))
        total = F32(0)
        for v in w:  # float32, left to right
            total = F32(total + v)
        out.append((xmin, (w / total).astype(F32) if total != 0 else w))
    return out


def _pass(values: np.ndarray, taps: list[tuple[int, np.ndarray]], axis: int, integer: bool) -> np.ndarray:
    """One pass along ``axis``: Σ w_k·x_k with a fused multiply-add per tap (x·w is exact in
    float64 for float32 operands, so one rounding to float32 per tap), then for integer images
    half-even rounding and saturation to 0..255."""
    src = np.moveaxis(values, axis, 0).astype(F32)
    out = np.empty((len(taps),) + src.shape[1:], dtype=F32)
    for o, (xmin, w) in enumerate(taps):
        acc = np.zeros(src.shape[1:], dtype=F32)
        for k, wk in enumerate(w):
            acc = (acc.astype(np.float64) + src[xmin + k].astype(np.float64) * np.float64(wk)).astype(F32)
        out[o] = acc
    if integer:
        out = np.clip(np.rint(out), 0, 255).astype(F32)
    return np.moveaxis(out, 0, axis)


def resize_openvino(image: np.ndarray, out_h: int, out_w: int, step) -> np.ndarray:
    """RESIZE_BILINEAR_PILLOW / RESIZE_BICUBIC_PILLOW of a uint8 or float32 (H, W, C) image."""
    check_openvino_step(step)
    if image.dtype not in (np.uint8, np.float32):
        raise SpecError(f"OpenVINO's Pillow modes are modelled for uint8 and float32 images, not "
                        f"{image.dtype}", field="arithmetic", value="openvino")
    integer = image.dtype == np.uint8
    in_h, in_w = image.shape[:2]
    values = image
    if out_w != in_w:
        values = _pass(values, pillow_taps(in_w, out_w, step.filter), 1, integer)
    if out_h != in_h:
        values = _pass(values, pillow_taps(in_h, out_h, step.filter), 0, integer)
    return np.ascontiguousarray(values.astype(image.dtype))
