"""The ALPH chunk: RFC 9649 §2.7.1.2 ("Alpha"), unfiltered as libwebp 1.6.0 does.

Header byte (§2.7.1.2): ``Rsv`` (bits 7..6, must be 0), ``P`` pre-processing (bits 5..4),
``F`` filtering method (bits 3..2), ``C`` compression method (bits 1..0). Then:

- C = 0: raw width * height alpha bytes (libwebp requires at least that many; extra bytes are
  ignored);
- C = 1: a VP8L image stream *without header* (§3.5.1) of the canvas width and height; the
  alpha values are its green channel (``(argb >> 8) & 0xff``).

The decoded values are then unfiltered row by row (§2.7.1.2; libwebp ``src/dsp/filters.c``
``*Unfilter_C``), each row predicted from the previous *unfiltered* row:

- F = 0 none;
- F = 1 horizontal: pixel (0, y) is predicted by (0, y - 1) (by 0 in the top row), the others
  by their left neighbour;
- F = 2 vertical: the top row as horizontal (first pixel 0, then left); other rows by the
  pixel above;
- F = 3 gradient: the top row as horizontal; in other rows ``clip(left + top - top_left)`` to
  0..255 where, for x = 0, left = top_left = top = the pixel above (so the prediction is the
  pixel above).

Each unfiltered value is ``(predictor + delta) mod 256``.

libwebp checks (``src/dec/alpha_dec.c`` ALPHInit), each refused here with DecodeError as libwebp
refuses the whole image ("Could not decode alpha data"): a payload of at most 1 byte, C > 1,
P > 1, reserved bits != 0, a raw payload shorter than width * height. P = 1 ("level
reduction") only matters when the caller asks for alpha dithering (``alpha_dithering_strength``
in WebPDecoderOptions, 0 by default, and neither Pillow nor OpenCV set it), so the values are
used as decoded. For C = 1 libwebp takes its 8-bit path (DecodeAlphaData) when the stream has
only a color-indexing transform, no color cache and one-symbol red, blue and alpha codes; that
path tolerates the last symbol reading past the end of the data, and so does this decoder.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import DecodeError
from .vp8l import decode_image_stream_argb

ALPHA_HEADER_BYTES = 1  # §2.7.1.2: one header byte before the alpha bitstream
COMPRESSION_NONE = 0  # §2.7.1.2 C
COMPRESSION_LOSSLESS = 1
FILTER_NONE, FILTER_HORIZONTAL, FILTER_VERTICAL, FILTER_GRADIENT = 0, 1, 2, 3  # §2.7.1.2 F
FILTER_NAMES = {0: "none", 1: "horizontal", 2: "vertical", 3: "gradient"}
PREPROCESSING_LEVEL_REDUCTION = 1  # §2.7.1.2 P = 1; P = 2, 3 are refused by libwebp


@dataclass(frozen=True)
class AlphaHeader:
    compression: int
    filtering: int
    preprocessing: int
    reserved: int


def parse_alpha_header(alph: bytes, *, source: str = "<bytes>") -> AlphaHeader:
    """§2.7.1.2 header byte, with libwebp's ALPHInit checks."""
    if len(alph) <= ALPHA_HEADER_BYTES:
        raise DecodeError(f"ALPH chunk of {len(alph)} bytes has no alpha data (libwebp needs > 1)",
                          source=source, offset=0)
    b = alph[0]
    h = AlphaHeader(compression=b & 3, filtering=(b >> 2) & 3, preprocessing=(b >> 4) & 3,
                    reserved=(b >> 6) & 3)
    if h.compression > COMPRESSION_LOSSLESS:
        raise DecodeError(f"ALPH compression method {h.compression} (only 0 raw, 1 lossless, "
                          "§2.7.1.2)", source=source, offset=0)
    if h.preprocessing > PREPROCESSING_LEVEL_REDUCTION:
        raise DecodeError(f"ALPH pre-processing {h.preprocessing} (only 0, 1, §2.7.1.2)",
                          source=source, offset=0)
    if h.reserved != 0:
        raise DecodeError(f"ALPH reserved bits are {h.reserved}, must be 0 (§2.7.1.2; libwebp "
                          "refuses them)", source=source, offset=0)
    return h


def unfilter_row(method: int, prev: np.ndarray | None, delta: np.ndarray) -> np.ndarray:
    """One row of libwebp's WebPUnfilters[method](prev, in, out, width); ``prev`` is None for
    the top row. Values are ints 0..255; arithmetic modulo 256."""
    width = delta.shape[0]
    d = delta.astype(np.int64)
    if method == FILTER_NONE:
        return d.astype(np.uint8)
    if method == FILTER_HORIZONTAL or prev is None:
        # HorizontalUnfilter_C: pred = prev[0] (0 without a previous row), then the left pixel.
        pred = 0 if prev is None else int(prev[0])
        out = np.empty(width, dtype=np.int64)
        for i in range(width):
            pred = (pred + int(d[i])) & 0xFF
            out[i] = pred
        return out.astype(np.uint8)
    p = prev.astype(np.int64)
    if method == FILTER_VERTICAL:
        return ((p + d) & 0xFF).astype(np.uint8)  # VerticalUnfilter_C
    # GradientUnfilter_C: top = top_left = left = prev[0] at x = 0.
    out = np.empty(width, dtype=np.int64)
    left = top_left = int(p[0])
    for i in range(width):
        top = int(p[i])
        g = left + top - top_left
        g = 0 if g < 0 else (255 if g > 255 else g)
        left = (g + int(d[i])) & 0xFF
        top_left = top
        out[i] = left
    return out.astype(np.uint8)


def unfilter(method: int, deltas: np.ndarray) -> np.ndarray:
    """§2.7.1.2 inverse filtering of a whole (H, W) plane, row by row."""
    out = np.empty_like(deltas, dtype=np.uint8)
    prev = None
    for y in range(deltas.shape[0]):
        out[y] = unfilter_row(method, prev, deltas[y])
        prev = out[y]
    return out


def decode_alpha(alph: bytes, width: int, height: int, *, source: str = "<bytes>",
                 use_numba: bool = True) -> np.ndarray:
    """Decode an ALPH chunk payload for a width x height image to an (H, W) uint8 plane."""
    alph = bytes(alph)
    h = parse_alpha_header(alph, source=source)
    body = alph[ALPHA_HEADER_BYTES:]
    if h.compression == COMPRESSION_NONE:
        need = width * height
        if len(body) < need:
            raise DecodeError(f"raw ALPH data has {len(body)} bytes, needs {need}",
                              source=source, offset=ALPHA_HEADER_BYTES + len(body))
        deltas = np.frombuffer(body[:need], dtype=np.uint8).reshape(height, width)
    else:
        argb = decode_image_stream_argb(body, width, height, source=source,
                                        use_numba=use_numba, lenient_last_symbol=True,
                                        base_offset=ALPHA_HEADER_BYTES)
        deltas = ((argb >> 8) & 0xFF).astype(np.uint8)  # §2.7.1.2: alpha in the green channel
    return unfilter(h.filtering, deltas)
