"""What the JPEG reader hands to reconstruction: frame, metadata and quantised DCT coefficients.

Entropy decoding is exact by nature (ITU-T T.81 Annex F, G), so the reader runs it once and
returns a :class:`JpegImage`; every reconstruction knob (IDCT, upsampling, colour conversion,
CMYK convention, block smoothing) is then a cheap numpy function of this object.

Identifiers follow T.81 B.2.2 (frame header): X, Y (samples per line, lines), P (precision),
and per component Ci, Hi, Vi, Tqi.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Zig-zag order (T.81 Figure A.6): ZIGZAG[k] is the natural (row-major) index of the k-th
# coefficient in a scan. Coefficients in this module are always stored in natural order.
ZIGZAG = np.array([
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
    12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
    35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
    58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
], dtype=np.intp)


@dataclass(frozen=True)
class Component:
    """One frame component (T.81 B.2.2) with its quantised coefficients.

    - ``id``, ``h``, ``v``, ``tq``: Ci, Hi, Vi (1..4), Tqi of the frame header.
    - ``width``, ``height``: the component's own sample grid, T.81 A.1.1:
      ceil(X · Hi / Hmax) × ceil(Y · Vi / Vmax).
    - ``quant``: (64,) uint16, natural order: the table Tqi as it was when the component's first
      scan began (libjpeg latches it there, jdinput.c latch_quant_tables).
    - ``coefficients``: (blocks_high, blocks_wide, 64) int32, natural order, *quantised* (not yet
      multiplied by ``quant``). The block grid covers whole MCUs: for a frame of more than one
      component, blocks_wide = ceil(X / (8·Hmax)) · Hi and blocks_high = ceil(Y / (8·Vmax)) · Vi;
      for a one-component frame, ceil(width / 8) × ceil(height / 8). Blocks never coded stay 0.
    - ``coef_bits``: progressive frames only, (64,) int16 in natural order: for each coefficient
      the successive-approximation bit position Al of the last scan that sent it (0 = fully
      known), or -1 if no scan sent it. ``None`` for sequential frames. Block smoothing
      (libjpeg-turbo jdcoefct.c) decides from it.
    - ``prev_coef_bits``: progressive frames only, (64,) natural order: ``coef_bits`` as it was
      before the component's latest scan (libjpeg-turbo's second coef_bits half; all -1 for a
      one-scan file, as jdcoefct.c latches it). Smoothing uses it for the iMCU rows past
      ``JpegImage.last_good_imcu_row``.
    - ``samples``: lossless frames only (SOF3), (height, width) uint8: the component's decoded
      samples, point transform applied (T.81 H.1.2.1, :mod:`.lossless`). A lossless frame has no
      DCT: ``coefficients`` is then an empty (0, 0, 64) array and ``quant`` all zeros.
    """

    id: int
    h: int
    v: int
    tq: int
    width: int
    height: int
    quant: np.ndarray
    coefficients: np.ndarray
    coef_bits: np.ndarray | None = None
    samples: np.ndarray | None = None
    prev_coef_bits: np.ndarray | None = None

    @property
    def blocks_wide(self) -> int:
        return self.coefficients.shape[1]

    @property
    def blocks_high(self) -> int:
        return self.coefficients.shape[0]


@dataclass(frozen=True)
class JpegImage:
    """A parsed and entropy-decoded JPEG file, not yet reconstructed to samples.

    - ``width``, ``height``, ``precision``: X, Y, P of the frame header (P = 8 only).
    - ``process``: ``"baseline"`` (SOF0), ``"extended"`` (SOF1, SOF9), ``"progressive"`` (SOF2,
      SOF10), ``"lossless"`` (SOF3; the components carry ``samples``, not coefficients).
    - ``predictor``, ``point_transform``: lossless only, Ss and Al (Pt) of the last scan
      (T.81 H.1.2.1, Table H.1); 0 for DCT frames.
    - ``arithmetic``: the entropy coding was arithmetic (SOF9, SOF10), else Huffman.
    - ``components``: in frame-header order.
    - ``jfif``: an APP0 "JFIF\\0" segment was present.
    - ``adobe_transform``: the APP14 "Adobe" transform flag (0 = none/RGB/CMYK, 1 = YCbCr,
      2 = YCCK), or ``None`` without an Adobe segment.
    - ``exif``: the APP1 Exif payload *after* the "Exif\\0\\0" identifier (the TIFF structure), or
      ``None``; ``xmp``: the last APP1 XMP packet, or ``None`` (an orientation source of
      Pillow's, reference.orientation_sources); ``icc_profile``: the APP2 ICC_PROFILE chunks joined in sequence order, or ``None``
      (kept, never applied: the reference does no colour management).
    - ``restart_interval``: the last DRI value seen (0 = none), for information.
    - ``warnings``: problems that did not stop decoding (e.g. an unreadable Exif block).
    - ``last_good_imcu_row``: ``None`` when the last scan reached its last MCU with data; else
      (a scan cut short, recovery mode) the last iMCU row it began with data left
      (libjpeg-turbo ``last_good_iMCU_row``, read by block smoothing).
    """

    width: int
    height: int
    precision: int
    process: str
    components: tuple[Component, ...]
    arithmetic: bool = False
    jfif: bool = False
    adobe_transform: int | None = None
    exif: bytes | None = None
    xmp: bytes | None = None
    icc_profile: bytes | None = None
    restart_interval: int = 0
    warnings: tuple[str, ...] = ()
    predictor: int = 0
    point_transform: int = 0
    last_good_imcu_row: int | None = None

    @property
    def hmax(self) -> int:
        return max(c.h for c in self.components)

    @property
    def vmax(self) -> int:
        return max(c.v for c in self.components)
