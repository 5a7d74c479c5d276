"""Chroma upsampling: one component's sample plane to the full image grid (T.81 A.1.1).

A component with sampling factors (h, v) in a frame with maxima (Hmax, Vmax) holds
dw × dh = ceil(X·h/Hmax) × ceil(Y·v/Vmax) real samples (T.81 A.1.1); its IDCT output is padded
to whole blocks (and MCUs). Upsampling by the integral ratios (hx, vx) = (Hmax/h, Vmax/v) maps
it onto the X × Y grid; T.81 leaves the filter to the decoder, so it is a knob:

``fancy`` — libjpeg-turbo's default (``jdsample.c jinit_upsampler`` with
``do_fancy_upsampling = TRUE``), chosen per ratio exactly as ``jinit_upsampler`` does:

- (1, 1): copy (``fullsize_upsample``).
- (2, 1) with dw > 2: ``h2v1_fancy_upsample``, a triangle filter ("3/4 nearest + 1/4 next"):
  ``out[2i] = (3·p[i] + p[i−1] + 1) >> 2``, ``out[2i+1] = (3·p[i] + p[i+1] + 2) >> 2``.
  The biases alternate 1, 2 ("ordered dither", jdsample.c) so that rounding has no drift.
- (1, 2): ``h1v2_fancy_upsample``, the same filter vertically, for any dw:
  ``out[2j] = (3·p[j] + p[j−1] + 1) >> 2``, ``out[2j+1] = (3·p[j] + p[j+1] + 2) >> 2``.
- (2, 2) with dw > 2: ``h2v2_fancy_upsample``: vertical sums first, kept exact (no rounding):
  ``s = 3·p[j] + p[j−1]`` for output row 2j, ``s = 3·p[j] + p[j+1]`` for row 2j+1; then
  ``out[2i] = (3·s[i] + s[i−1] + 8) >> 4``, ``out[2i+1] = (3·s[i] + s[i+1] + 7) >> 4``.
- (2, 1) or (2, 2) with dw ≤ 2, and every other integral ratio (4:1:1, 4:1:0, 3×, ...):
  replication (``h2v1_upsample``, ``h2v2_upsample``, ``int_upsample``).

Edges: neighbours outside the dw × dh region are the nearest real sample (replication). For
columns this is what the explicit first/last-column cases of the fancy kernels compute
(``out[0] = p[0]`` equals (3·p[0] + p[0] + 1) >> 2, and so on); for rows, ``jdmainct.c``
hands the upsampler row 0 as the context row above the image (``make_funny_pointers``) and
the last real row (row dh − 1, from ``downsampled_height``, not the padded block rows) for
every row below it (``set_bottom_pointers``). Between iMCU rows the true neighbours are used,
so the whole plane behaves as one array. The padded block data beyond dw × dh is never read.
The result is cropped to X × Y.

``nearest`` — replication for every ratio: what libjpeg-turbo does with
``do_fancy_upsampling = FALSE`` (``h2v1_upsample``/``h2v2_upsample``/``int_upsample``, or the
merged upsampler ``jdmerge.c`` for h2v1/h2v2 YCbCr->RGB, which is the same replication fused
with the ``jdcolor.c`` table arithmetic; tests/test_jpeg_decode.py checks that against
libjpeg-turbo 2.1.0 through jpeglib).

``zune`` — zune-jpeg 0.5.15 (the Rust ``image`` crate's decoder, ``src/upsampler/scalar.rs``
and ``src/worker.rs``), which works on the *padded* plane (the IDCT output of every block of
every MCU, width 8·h·MCUs per row), not on dw × dh:

- horizontal (2, 1): ``out[2i] = (3·p[i] + p[i−1] + 2) >> 2``, ``out[2i+1] = (3·p[i] + p[i+1] + 2) >> 2``
  (bias always 2), ``out[0] = p[0]``, ``out[last] = p[last]`` of the padded row;
- vertical (1, 2): ``(3·p[j] + p[j∓1] + 2) >> 2`` (the row above for the upper output row, the
  row below for the lower), top and bottom rows of the padded plane use themselves;
- (2, 2): vertical first, rounded to integers, then horizontal on each row (two roundings);
- other ratios: replication.

So its edge samples read the encoder's padding beyond the component's real size. (From the
notes on zune-jpeg; not checked here: this test environment has no Rust.)
"""

from __future__ import annotations

import numpy as np

from ...errors import UnsupportedFeature

UPSAMPLING_METHODS = ("fancy", "nearest", "zune")
# jdsample.c: fancy h2v1/h2v2 need at least 3 input columns ("downsampled_width > 2").
FANCY_MIN_WIDTH = 3


def neighbours(p: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """(previous, next) sample along ``axis``, replicating the first/last one at the edges."""
    n = p.shape[axis]
    prev_idx = np.concatenate([[0], np.arange(n - 1)])
    next_idx = np.concatenate([np.arange(1, n), [n - 1]])
    return np.take(p, prev_idx, axis=axis), np.take(p, next_idx, axis=axis)


def interleave(even: np.ndarray, odd: np.ndarray, axis: int) -> np.ndarray:
    """Outputs 2i from ``even`` and 2i+1 from ``odd`` along ``axis``."""
    out = np.stack([even, odd], axis=axis + 1)
    shape = list(even.shape)
    shape[axis] *= 2
    return out.reshape(shape)


def replicate(p: np.ndarray, hx: int, vx: int) -> np.ndarray:
    """Box upsampling: every sample repeated hx times across and vx times down."""
    return np.repeat(np.repeat(p, vx, axis=0), hx, axis=1)


def h2v1_fancy(p: np.ndarray) -> np.ndarray:
    """jdsample.c h2v1_fancy_upsample on a (rows, dw) int32 plane (module docstring)."""
    left, right = neighbours(p, 1)
    return interleave((3 * p + left + 1) >> 2, (3 * p + right + 2) >> 2, axis=1)


def h1v2_fancy(p: np.ndarray) -> np.ndarray:
    """jdsample.c h1v2_fancy_upsample on a (dh, cols) int32 plane."""
    above, below = neighbours(p, 0)
    return interleave((3 * p + above + 1) >> 2, (3 * p + below + 2) >> 2, axis=0)


def h2v2_fancy(p: np.ndarray) -> np.ndarray:
    """jdsample.c h2v2_fancy_upsample: exact column sums, one rounding per output sample."""
    above, below = neighbours(p, 0)
    s = interleave(3 * p + above, 3 * p + below, axis=0)  # "thiscolsum" of rows 2j, 2j+1
    left, right = neighbours(s, 1)
    return interleave((3 * s + left + 8) >> 4, (3 * s + right + 7) >> 4, axis=1)


def zune_h(p: np.ndarray) -> np.ndarray:
    """zune-jpeg horizontal 2x: bias 2 on both outputs. zune copies the first and last output
    from p[0] and p[last]; with a replicated neighbour the formula gives (4·p + 2) >> 2 = p too."""
    left, right = neighbours(p, 1)
    return interleave((3 * p + left + 2) >> 2, (3 * p + right + 2) >> 2, axis=1)


def zune_v(p: np.ndarray) -> np.ndarray:
    """zune-jpeg vertical 2x: bias 2 on both outputs, edge rows use themselves as neighbour."""
    above, below = neighbours(p, 0)
    return interleave((3 * p + above + 2) >> 2, (3 * p + below + 2) >> 2, axis=0)


def ratio(h: int, v: int, hmax: int, vmax: int, source: str = "<jpeg>") -> tuple[int, int]:
    """(Hmax/h, Vmax/v); UnsupportedFeature if not integral (libjpeg: JERR_FRACT_SAMPLE_NOTIMPL)."""
    if hmax % h or vmax % v:
        raise UnsupportedFeature(f"sampling factors {h}x{v} in a frame with maxima {hmax}x{vmax} "
                                 "give a non-integral upsampling ratio", source=source)
    return hmax // h, vmax // v


def upsample(plane: np.ndarray, dw: int, dh: int, hx: int, vx: int, width: int, height: int,
             method: str = "fancy") -> np.ndarray:
    """Upsample one component to (height, width) uint8 (module docstring for each ``method``).

    ``plane``: the component's IDCT output, (rows, cols) uint8 covering at least its dh × dw
    real samples (the padded block grid); ``hx``, ``vx``: the integral ratios Hmax/h, Vmax/v;
    ``width``, ``height``: the frame's X, Y.
    """
    if method not in UPSAMPLING_METHODS:
        raise ValueError(f"unknown upsampling {method!r}; known: {', '.join(UPSAMPLING_METHODS)}")
    if method == "zune":
        p = plane.astype(np.int32)
        if (hx, vx) == (2, 1):
            out = zune_h(p)
        elif (hx, vx) == (1, 2):
            out = zune_v(p)
        elif (hx, vx) == (2, 2):
            out = zune_h(zune_v(p))
        else:
            out = replicate(p, hx, vx)
        return out[:height, :width].astype(np.uint8)
    p = plane[:dh, :dw].astype(np.int32)  # only the real samples (jdmainct/jdsample)
    if method == "nearest" or (hx, vx) == (1, 1):
        out = replicate(p, hx, vx)
    elif (hx, vx) == (2, 1):
        out = h2v1_fancy(p) if dw >= FANCY_MIN_WIDTH else replicate(p, 2, 1)
    elif (hx, vx) == (1, 2):
        out = h1v2_fancy(p)
    elif (hx, vx) == (2, 2):
        out = h2v2_fancy(p) if dw >= FANCY_MIN_WIDTH else replicate(p, 2, 2)
    else:
        out = replicate(p, hx, vx)  # jdsample.c int_upsample
    return out[:height, :width].astype(np.uint8)
