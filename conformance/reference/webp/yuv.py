"""YUV 4:2:0 -> RGB as libwebp 1.6 does it for lossy WebP (src/dsp/yuv.h, src/dsp/upsampling.c,
src/dec/io_dec.c).

Two steps, each vectorised with numpy (no step has a sequential dependency):

1. **Chroma upsampling** to full resolution, the ``upsampling`` knob:

   - ``"fancy"`` (libwebp's default; WebPDecoderConfig.options.no_fancy_upsampling = 0):
     EmitFancyRGB + UpsampleRgbLinePair, a 2-D "9-3-3-1" interpolation between the 4 nearest
     chroma samples (chroma samples sit at the centre of each 2x2 luma block, JPEG/MPEG-1
     siting). For output pixel (r, c) let N be the nearer chroma row and F the farther
     (row r uses N = row r // 2 and F = the neighbour on the other side, clamped at the frame
     edges: the first row and, for even heights, the last row use N = F). Along the row, with
     x = 1 .. (W - 1) // 2:

         a(x) = (N[x-1] + 3 N[x] + 3 F[x-1] + F[x] + 8) >> 3      ("diag_12")
         b(x) = (3 N[x-1] + N[x] + F[x-1] + 3 F[x] + 8) >> 3      ("diag_03")
         out[2x - 1] = (a(x) + N[x-1]) >> 1                       (~ 9/16 N[x-1] + ...)
         out[2x]     = (b(x) + N[x]) >> 1
         out[0]      = (3 N[0] + F[0] + 2) >> 2
         out[W - 1]  = (3 N[last] + F[last] + 2) >> 2             (even W only)

     libwebp packs U and V into one 32-bit word (u | v << 16) and computes both at once; no
     carry crosses between the halves (each stays below 2^16), so per-channel arithmetic is
     identical.
   - ``"nearest"`` (no_fancy_upsampling = 1): EmitSampledRGB + WebPSamplerProcessPlane /
     YuvToRgbRow, point sampling: pixel (r, c) takes chroma sample (r // 2, c // 2), each sample
     reused for its 2x2 pixels (the last odd row / column too).

2. **Colour conversion** (VP8YuvToRgb, yuv.h), BT.601 limited range ("studio swing": Y in
   16..235, U/V in 16..240 around 128):

       R = 1.164 (Y - 16) + 1.596 (V - 128)
       G = 1.164 (Y - 16) - 0.813 (V - 128) - 0.392 (U - 128)
       B = 1.164 (Y - 16) + 2.018 (U - 128)

   in fixed point with ``MultHi(v, c) = (v * c) >> 8`` (the _mm_mulhi_epu16 emulation: a
   coefficient scaled by 2^14, the product kept with 6 fractional bits) and VP8Clip8, which
   drops the 6 fractional bits (YUV_FIX2) and clamps to 0..255. See the constants below.

Checked bit-exact against libwebp through Pillow and OpenCV (``tests/test_webp_lossy.py``).
"""

from __future__ import annotations

import numpy as np

from ...errors import SpecError

# ---------------------------------------------------------------------------------------------
# Constants (yuv.h). Each coefficient is round(k * 2^14); MultHi(v, c) = (v * c) >> 8 leaves the
# product with YUV_FIX2 = 6 fractional bits. Offsets fold the -16 / -128 level shifts and the
# rounding half (2^5 = 32 in 6-bit fixed point) into one constant.
# ---------------------------------------------------------------------------------------------

YUV_FIX2 = 6  # fractional bits of the sums before VP8Clip8
YUV_MASK2 = (256 << YUV_FIX2) - 1  # a sum in [0, 2^14) gives 0..255 without clamping
MULT_HI_SHIFT = 8  # MultHi(v, coeff) = (v * coeff) >> 8

K_Y = 19077  # 255/219 = 1.16438 * 2^14 = 19077.2        (luma scale, 219 levels -> 255)
K_V_R = 26149  # 1.59603 * 2^14 = 26149.4                  (V contribution to R: 2 (1 - Kr) 255/224)
K_U_G = 6419  # 0.39176 * 2^14 = 6418.6                    (U contribution to G)
K_V_G = 13320  # 0.81297 * 2^14 = 13319.7                  (V contribution to G)
K_U_B = 33050  # 2.01723 * 2^14 = 33050.3                  (U contribution to B: 2 (1 - Kb) 255/224)
# Offsets: (16 K_Y + 128 K_V_R) / 256 - 32 = 14266.8 - 32 -> 14234 (R), and likewise
# (-16 K_Y + 128 (K_U_G + K_V_G)) / 256 + 32 = 8676.8 + 32 -> 8708 (G),
# (16 K_Y + 128 K_U_B) / 256 - 32 = 17717.3 - 32 -> 17685 (B). libwebp's values, exactly.
OFFSET_R = -14234
OFFSET_G = 8708
OFFSET_B = -17685

# Fancy upsampler rounders (UpsampleRgbLinePair): 0x00020002 = 2 per channel for the 3:1 edge
# pixels (divide by 4), 0x00080008 = 8 per channel for the diagonals (divide by 8).
EDGE_ROUNDER = 2
DIAG_ROUNDER = 8

UPSAMPLING_MODES = ("fancy", "nearest")


def mult_hi(v: np.ndarray, coeff: int) -> np.ndarray:
    """libwebp MultHi: (v * coeff) >> 8."""
    return (v * coeff) >> MULT_HI_SHIFT


def clip8(v: np.ndarray) -> np.ndarray:
    """libwebp VP8Clip8: v >> 6 if 0 <= v < 2^14, else 0 (negative) or 255."""
    return np.where((v & ~YUV_MASK2) == 0, v >> YUV_FIX2, np.where(v < 0, 0, 255))


def yuv_to_rgb_pixels(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """VP8YuvToRgb on same-shaped Y, U, V arrays: VP8YUVToR(y, v), VP8YUVToG(y, u, v),
    VP8YUVToB(y, u). Returns (..., 3) uint8."""
    y = y.astype(np.int32)
    u = u.astype(np.int32)
    v = v.astype(np.int32)
    yk = mult_hi(y, K_Y)
    r = clip8(yk + mult_hi(v, K_V_R) + OFFSET_R)
    g = clip8(yk - mult_hi(u, K_U_G) - mult_hi(v, K_V_G) + OFFSET_G)
    b = clip8(yk + mult_hi(u, K_U_B) + OFFSET_B)
    return np.stack([r, g, b], axis=-1).astype(np.uint8)


def upsample_fancy(c: np.ndarray, height: int, width: int) -> np.ndarray:
    """libwebp's fancy upsampling of one chroma plane c ((height+1)//2, (width+1)//2) to
    (height, width); the formulas are in the module docstring."""
    c = c.astype(np.int32)
    ch = c.shape[0]
    rows = np.arange(height)
    near_idx = rows // 2
    # Odd rows 2k-1 lie between chroma rows k-1 (near) and k (far); even rows 2k > 0 between k
    # (near) and k-1 (far); row 0 and, for even heights, the last row mirror (far = near).
    far_idx = np.where(rows % 2 == 1, np.minimum(near_idx + 1, ch - 1), near_idx - 1)
    far_idx[0] = 0
    near = c[near_idx]
    far = c[far_idx]
    out = np.empty((height, width), dtype=np.int32)
    out[:, 0] = (3 * near[:, 0] + far[:, 0] + EDGE_ROUNDER) >> 2
    pairs = (width - 1) >> 1  # last_pixel_pair
    if pairs > 0:
        n0, n1 = near[:, :pairs], near[:, 1:pairs + 1]
        f0, f1 = far[:, :pairs], far[:, 1:pairs + 1]
        diag_12 = (n0 + 3 * n1 + 3 * f0 + f1 + DIAG_ROUNDER) >> 3
        diag_03 = (3 * n0 + n1 + f0 + 3 * f1 + DIAG_ROUNDER) >> 3
        out[:, 1:2 * pairs:2] = (diag_12 + n0) >> 1
        out[:, 2:2 * pairs + 1:2] = (diag_03 + n1) >> 1
    if width % 2 == 0 and width > 1:
        last = pairs  # the last chroma column, (width - 1) >> 1
        out[:, width - 1] = (3 * near[:, last] + far[:, last] + EDGE_ROUNDER) >> 2
    return out


def upsample_nearest(c: np.ndarray, height: int, width: int) -> np.ndarray:
    """libwebp's point sampling (no_fancy_upsampling): pixel (r, col) = c[r // 2, col // 2]."""
    return c[np.arange(height)[:, None] // 2, np.arange(width)[None, :] // 2]


def yuv420_to_rgb(y: np.ndarray, u: np.ndarray, v: np.ndarray, *,
                  upsampling: str = "fancy") -> np.ndarray:
    """Y (H, W), U and V ((H+1)//2, (W+1)//2) uint8 -> RGB (H, W, 3) uint8, as libwebp.

    ``upsampling``: ``"fancy"`` = libwebp's default (WebPDecode, dwebp, Pillow, OpenCV);
    ``"nearest"`` = libwebp with ``options.no_fancy_upsampling = 1`` (dwebp -nofancy), each
    chroma sample used for its 2x2 pixels.
    """
    if upsampling not in UPSAMPLING_MODES:
        raise SpecError(f"upsampling must be one of {UPSAMPLING_MODES}, not {upsampling!r}",
                        field="upsampling", value=upsampling)
    height, width = y.shape
    cshape = ((height + 1) // 2, (width + 1) // 2)
    if u.shape != cshape or v.shape != cshape:
        raise SpecError(f"chroma planes {u.shape} / {v.shape} do not match luma {y.shape} in "
                        f"4:2:0 (expected {cshape})", field="u/v")
    up = upsample_fancy if upsampling == "fancy" else upsample_nearest
    return yuv_to_rgb_pixels(y, up(u, height, width), up(v, height, width))
