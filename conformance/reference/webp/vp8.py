"""VP8 key-frame decoding (RFC 6386) as WebP lossy uses it, bit-exact with libwebp 1.6.

Input is the payload of a WebP ``VP8 `` chunk (RFC 9649 §2.5); output is the decoded Y, U, V
planes (4:2:0) cropped to the frame size. :mod:`.yuv` turns them into RGB as libwebp does.

Procedure (RFC 6386 section numbers; libwebp function names in brackets):

1. **Frame tag and key-frame header** (§9.1, §9.2, §19.1) [VP8GetInfo, VP8GetHeaders]: 3-byte
   tag (key frame bit, 3-bit version, show_frame, 19-bit first partition size), start code
   9d 01 2a, 14-bit width/height each with a 2-bit scale.
2. **Boolean entropy decoder** (§7) [VP8GetBit, VP8GetSigned, VP8GetValue]: libwebp keeps
   ``range - 1`` and a bit count, loads one byte at a time here (libwebp loads up to 7, which
   gives the same bits), and past the end of a partition shifts in one zero byte, sets ``eof``
   and from then on stops shifting (``bits = 0``) -- it never fails by itself. VP8GetSigned (the
   coefficient sign) is libwebp's "prob = 128 with a fixed shift of 1" shortcut, which can leave
   ``range - 1 = 255``; it is reproduced as is because the following bits depend on it.
3. **Frame header in partition 1** (§9.3-§9.11, §19.2) [ParseSegmentHeader,
   ParseFilterHeader, ParsePartitions, VP8ParseQuant, VP8ParseProba]: colour space and
   clamping type, segmentation (quantizer / filter level per segment, absolute or delta, map
   probabilities), filter type, level, sharpness, loop-filter deltas, the number of DCT token
   partitions and their sizes, quantizer indices and deltas, token probability updates (§13.4),
   mb_no_coeff_skip and prob_skip_false.
4. **Dequantization factors** (§9.6, §14.1) [VP8ParseQuant]: ``dc_qlookup``/``ac_qlookup``
   with libwebp's rules: Y2 DC x2, Y2 AC x155/100 (at least 8), UV DC index clipped to 117
   (factor <= 132).
5. **Per macroblock, in raster order**: segment id (§10), skip flag (§11.1), intra modes with
   the key-frame fixed probabilities and contexts (§11.2-§11.5) [ParseIntraMode] from the first
   partition; DCT tokens (§13) [GetCoeffs, ParseResiduals] from token partition ``mb_y mod n``,
   dequantized, with the Y2 inverse WHT (§14.3) [TransformWHT]; intra prediction (§12)
   [ReconstructRow, dsp/dec.c] with the 127 (above) / 129 (left) borders and the above-right
   rule of §12.3; inverse DCT added to the prediction (§14.4) [TransformOne].
6. **Loop filter** (§15) [PrecomputeFilterStrengths, DoFilter]: on the whole frame after all
   macroblocks are reconstructed (intra prediction uses unfiltered pixels), macroblock by
   macroblock in raster order: left edge, inner vertical edges, top edge, inner horizontal
   edges; simple (§15.2, luma only) or normal (§15.3) filter.

libwebp behaviours reproduced here, where the RFC says something else or nothing:

- The frame header's 3-bit *version* only has to be <= 3; it does not select the loop filter
  (§9.1 ties version 1..3 to the simple or no filter; libwebp uses the filter_type bit). A
  non-zero version is accepted with a warning.
- ``color_space`` = 1 (reserved, §9.2) and ``clamping_type`` = 1 are read and ignored: pixels
  are always clamped. The scale bits are ignored (no upscaling). Each gives a warning.
- The frame level ``loop_filter_level`` = 0 disables the loop filter for every segment even if
  a segment's own level is not 0 (libwebp: ``filter_type = (level == 0) ? 0 : ...``).
- Inner edges are filtered only in macroblocks with non-zero coefficients or B_PRED
  (``f_inner = is_i4x4 | !skip``, where *skip* is "no non-zero coefficient", whether signalled by
  mb_skip_coeff or found while parsing).
- A skipped B_PRED macroblock keeps its neighbours' Y2 "non-zero" context (only non-B_PRED
  ones reset it).
- Dequantized coefficients are stored as int16 (the product wraps), and so is the WHT output.
- Partition sizes: a size larger than what is left is clipped to it, but then the last
  partition is empty and the frame is refused ("cannot parse partitions"). The last partition
  takes all remaining bytes.
- Reading past the end of a partition: the header parsers check ``eof`` after the segment and
  filter headers; the mode parser after each macroblock row ("Premature end-of-partition0");
  the token parser after each macroblock ("Premature end-of-file"). The token probability
  updates, quantizer fields and the skip probability are not checked (zeros are read).

What differs from libwebp: libwebp's WebPDecode on a whole file lets the last partition run on
into bytes after the ``VP8 `` chunk (e.g. a following EXIF chunk); here the partition ends with
the chunk, as with WebPDemux / Pillow. Only files whose last partition is short can tell.

The per-frame loop :func:`decode_frame` is plain Python (the specification);
:data:`decode_frame_jit` is the same function compiled by numba. Helpers are
``register_jitable`` so both run the same code. Errors inside the loop are integer codes that
:func:`decode_vp8` turns into :class:`DecodeError`.

Speed (numba cache warm, this machine): a 500x375 photo at quality 90 decodes (VP8 + fancy
upsampling + RGB) in about 23 ms against Pillow's 3.4 ms, i.e. about 7x slower than libwebp
(``tests/test_webp_lossy.py::test_speed_vs_pillow`` prints the ratio). The plain-Python engine
is several hundred times slower and meant for tiny files.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numba import njit
from numba.extending import register_jitable

from ...errors import DecodeError, LimitsExceeded, SpecError, UnsupportedFeature

# ---------------------------------------------------------------------------------------------
# Constants
# ---------------------------------------------------------------------------------------------

START_CODE = b"\x9d\x01\x2a"  # RFC 6386 §9.1: key frame start code
FRAME_TAG_SIZE = 3  # §9.1: 3-byte frame tag
KEY_FRAME_HEADER_SIZE = 7  # §9.2: start code (3) + width (2) + height (2)
DIMENSION_MASK = 0x3FFF  # §9.2: 14-bit width and height; the top 2 bits are the scale
MAX_VERSION = 3  # §9.1: versions 0..3 are defined; libwebp refuses "profile > 3"
MIN_CHUNK_SIZE = 10  # libwebp VP8GetInfo: tag + key frame header

NUM_MB_SEGMENTS = 4  # §9.3: up to 4 segments
MB_FEATURE_TREE_PROBS = 3  # §9.3: segment id tree has 3 probabilities
NUM_REF_LF_DELTAS = 4  # §9.6: ref_frame_delta_update (intra frame = index 0)
NUM_MODE_LF_DELTAS = 4  # §9.6: mb_mode_delta_update (B_PRED = index 0)
MAX_LOOP_FILTER_LEVEL = 63  # §9.6: 6-bit level
MAX_QUANT_INDEX = 127  # §9.6: 7-bit quantizer index
MAX_UV_DC_QUANT_INDEX = 117  # libwebp VP8ParseQuant: clip(q + dquv_dc, 117), i.e. factor <= 132
Y2_AC_MIN = 8  # §14.1 / libwebp: the Y2 AC factor is at least 8
# Y2 AC factor x*155/100: libwebp computes (x * 101581) >> 16, equal to x*155//100 for every
# table value x in [0, 284] (the comment in VP8ParseQuant); both are written out below.
Y2_AC_NUM, Y2_AC_DEN = 155, 100

NUM_TYPES, NUM_BANDS, NUM_CTX, NUM_PROBAS = 4, 8, 3, 11  # §13.4: coefficient probability shape
# §13.3 block types: 0 = Y after Y2 (starts at coefficient 1), 1 = Y2, 2 = U/V, 3 = Y with DC.
TYPE_Y_AFTER_Y2, TYPE_Y2, TYPE_UV, TYPE_Y_WITH_DC = 0, 1, 2, 3
MAX_PARTITIONS = 8  # §9.5: 1, 2, 4 or 8 token partitions
PARTITION_SIZE_BYTES = 3  # §9.5: each partition size but the last is a 3-byte little-endian field

# Intra modes, numbered as libwebp numbers them (its kBModesProba is indexed in this order; the
# RFC's enum lists LD before RD/VR). 16x16 and chroma modes reuse the matching sub-block ids
# (§11.3: "B_PRED ... the sub-block modes implied by the 16x16 mode").
B_DC_PRED, B_TM_PRED, B_VE_PRED, B_HE_PRED = 0, 1, 2, 3
B_RD_PRED, B_VR_PRED, B_LD_PRED, B_VL_PRED, B_HD_PRED, B_HU_PRED = 4, 5, 6, 7, 8, 9
NUM_BMODES = 10
DC_PRED, TM_PRED, V_PRED, H_PRED = B_DC_PRED, B_TM_PRED, B_VE_PRED, B_HE_PRED
# DC prediction variants at the frame edges (libwebp CheckMode; §12.2: "if the MB is on the
# top row ... the average of the left column only", etc.).
DC_PRED_NOTOP, DC_PRED_NOLEFT, DC_PRED_NOTOPLEFT = 10, 11, 12

# §11.2 key-frame fixed probabilities of the mode trees (kf_ymode_prob, kf_uv_mode_prob).
KF_IS_B_PRED_PROB = 145  # first bit of kf_ymode_tree: 0 = B_PRED
KF_YMODE_PROBS = (156, 163, 128)  # {DC,V} vs {H,TM}, then DC vs V, then H vs TM
KF_UV_MODE_PROBS = (142, 114, 183)  # DC, then V, then H vs TM

# §11.2 bmode_tree as a flat table: positive = index of the next node pair, -m = leaf mode m.
# Bit i of the tree uses probability i of the context's 9 (libwebp kYModesIntra4).
BMODE_TREE = np.array([
    -B_DC_PRED, 1, -B_TM_PRED, 2, -B_VE_PRED, 3,
    4, 6, -B_HE_PRED, 5, -B_RD_PRED, -B_VR_PRED,
    -B_LD_PRED, 7, -B_VL_PRED, 8, -B_HD_PRED, -B_HU_PRED], dtype=np.int32)

# §13: zig-zag scan order and coefficient bands (a 17th entry as sentinel, libwebp kBands).
ZIGZAG = np.array([0, 1, 4, 8, 5, 2, 3, 6, 9, 12, 13, 10, 7, 11, 14, 15], dtype=np.int32)
BANDS = np.array([0, 1, 2, 3, 6, 4, 5, 6, 6, 6, 6, 6, 6, 6, 6, 7, 0], dtype=np.int32)
# §13.2 Table: extra-bit probabilities of DCT_CAT3..DCT_CAT6 (Pcat3..Pcat6), 0-terminated;
# the categories start at 3 + (8 << cat) = 11, 19, 35, 67. CAT1/CAT2 use fixed 159 and 165, 145.
CAT_PROBS = np.array([
    [173, 148, 140, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    [176, 155, 140, 135, 0, 0, 0, 0, 0, 0, 0, 0],
    [180, 157, 141, 134, 130, 0, 0, 0, 0, 0, 0, 0],
    [254, 254, 243, 230, 196, 177, 153, 140, 133, 130, 129, 0]], dtype=np.int32)
CAT1_PROB = 159  # §13.2 Pcat1
CAT2_PROBS = (165, 145)  # §13.2 Pcat2

# §7.3 bool decoder: the range starts at 255; libwebp stores range - 1.
INITIAL_RANGE_MINUS_ONE = 254
HALF_PROB = 0x80  # §7: literal bits (L(n) fields) are coded with probability 128

# §15.2: the loop filter levels per segment and mode, and the HEV thresholds of key frames.
HEV_THRESHOLD_LEVELS = (40, 15)  # level >= 40: 2, >= 15: 1, else 0 (§15.2, key frames)
MB_EDGE_LIMIT_EXTRA = 4  # libwebp passes limit + 4 for macroblock edges: ((level + 2) * 2 + I)

# Bool decoder state, one row per partition (row 0 = first partition, 1..8 = token partitions).
BR_POS, BR_END, BR_VALUE, BR_RANGE, BR_BITS, BR_EOF = 0, 1, 2, 3, 4, 5
BR_FIELDS = 6

# Error codes of the frame loop (0 = success) and the state vector that locates them.
OK = 0
ERR_PARTITION0_EOF = 1  # libwebp "Premature end-of-partition0 encountered."
ERR_TOKEN_EOF = 2  # libwebp "Premature end-of-file encountered."
S_ERR_MB_X, S_ERR_MB_Y, S_ERR_PART = 0, 1, 2
STATE_SIZE = 3

# Border values of intra prediction (§12.2): above the frame 127, left of it 129.
ABOVE_BORDER = 127
LEFT_BORDER = 129
DC_NO_EDGE = 128  # §12.2: DC with neither edge available

# Inverse DCT constants (§14.4): cos(pi/8)*sqrt(2) - 1 and sin(pi/8)*sqrt(2) in 16-bit fixed
# point: 20091 = round((cos(pi/8)*sqrt(2) - 1) * 65536), 35468 = round(sin(pi/8)*sqrt(2)*65536).
COS_PI8_SQRT2_MINUS1 = 20091
SIN_PI8_SQRT2 = 35468

# ---------------------------------------------------------------------------------------------
# Tables: §14.1 dc_qlookup / ac_qlookup, §13.5 default_coeff_probs, §13.4 coeff_update_probs,
# §11.5 kf_bmode_probs (libwebp order of the modes: see B_* above). Checked byte for byte
# against the tables inside Pillow's libwebp 1.6 build.
# ---------------------------------------------------------------------------------------------

DC_TABLE = np.array([
    4, 5, 6, 7, 8, 9, 10, 10, 11, 12, 13, 14, 15, 16, 17, 17,
    18, 19, 20, 20, 21, 21, 22, 22, 23, 23, 24, 25, 25, 26, 27, 28,
    29, 30, 31, 32, 33, 34, 35, 36, 37, 37, 38, 39, 40, 41, 42, 43,
    44, 45, 46, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58,
    59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74,
    75, 76, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89,
    91, 93, 95, 96, 98, 100, 101, 102, 104, 106, 108, 110, 112, 114, 116, 118,
    122, 124, 126, 128, 130, 132, 134, 136, 138, 140, 143, 145, 148, 151, 154, 157,
], dtype=np.int32).reshape(128,)

AC_TABLE = np.array([
    4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
    20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35,
    36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51,
    52, 53, 54, 55, 56, 57, 58, 60, 62, 64, 66, 68, 70, 72, 74, 76,
    78, 80, 82, 84, 86, 88, 90, 92, 94, 96, 98, 100, 102, 104, 106, 108,
    110, 112, 114, 116, 119, 122, 125, 128, 131, 134, 137, 140, 143, 146, 149, 152,
    155, 158, 161, 164, 167, 170, 173, 177, 181, 185, 189, 193, 197, 201, 205, 209,
    213, 217, 221, 225, 229, 234, 239, 245, 249, 254, 259, 264, 269, 274, 279, 284,
], dtype=np.int32).reshape(128,)

COEFF_PROBS_DEFAULT = np.array([
    128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
    128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
    128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
    253, 136, 254, 255, 228, 219, 128, 128, 128, 128, 128,
    189, 129, 242, 255, 227, 213, 255, 219, 128, 128, 128,
    106, 126, 227, 252, 214, 209, 255, 255, 128, 128, 128,
    1, 98, 248, 255, 236, 226, 255, 255, 128, 128, 128,
    181, 133, 238, 254, 221, 234, 255, 154, 128, 128, 128,
    78, 134, 202, 247, 198, 180, 255, 219, 128, 128, 128,
    1, 185, 249, 255, 243, 255, 128, 128, 128, 128, 128,
    184, 150, 247, 255, 236, 224, 128, 128, 128, 128, 128,
    77, 110, 216, 255, 236, 230, 128, 128, 128, 128, 128,
    1, 101, 251, 255, 241, 255, 128, 128, 128, 128, 128,
    170, 139, 241, 252, 236, 209, 255, 255, 128, 128, 128,
    37, 116, 196, 243, 228, 255, 255, 255, 128, 128, 128,
    1, 204, 254, 255, 245, 255, 128, 128, 128, 128, 128,
    207, 160, 250, 255, 238, 128, 128, 128, 128, 128, 128,
    102, 103, 231, 255, 211, 171, 128, 128, 128, 128, 128,
    1, 152, 252, 255, 240, 255, 128, 128, 128, 128, 128,
    177, 135, 243, 255, 234, 225, 128, 128, 128, 128, 128,
    80, 129, 211, 255, 194, 224, 128, 128, 128, 128, 128,
    1, 1, 255, 128, 128, 128, 128, 128, 128, 128, 128,
    246, 1, 255, 128, 128, 128, 128, 128, 128, 128, 128,
    255, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
    198, 35, 237, 223, 193, 187, 162, 160, 145, 155, 62,
    131, 45, 198, 221, 172, 176, 220, 157, 252, 221, 1,
    68, 47, 146, 208, 149, 167, 221, 162, 255, 223, 128,
    1, 149, 241, 255, 221, 224, 255, 255, 128, 128, 128,
    184, 141, 234, 253, 222, 220, 255, 199, 128, 128, 128,
    81, 99, 181, 242, 176, 190, 249, 202, 255, 255, 128,
    1, 129, 232, 253, 214, 197, 242, 196, 255, 255, 128,
    99, 121, 210, 250, 201, 198, 255, 202, 128, 128, 128,
    23, 91, 163, 242, 170, 187, 247, 210, 255, 255, 128,
    1, 200, 246, 255, 234, 255, 128, 128, 128, 128, 128,
    109, 178, 241, 255, 231, 245, 255, 255, 128, 128, 128,
    44, 130, 201, 253, 205, 192, 255, 255, 128, 128, 128,
    1, 132, 239, 251, 219, 209, 255, 165, 128, 128, 128,
    94, 136, 225, 251, 218, 190, 255, 255, 128, 128, 128,
    22, 100, 174, 245, 186, 161, 255, 199, 128, 128, 128,
    1, 182, 249, 255, 232, 235, 128, 128, 128, 128, 128,
    124, 143, 241, 255, 227, 234, 128, 128, 128, 128, 128,
    35, 77, 181, 251, 193, 211, 255, 205, 128, 128, 128,
    1, 157, 247, 255, 236, 231, 255, 255, 128, 128, 128,
    121, 141, 235, 255, 225, 227, 255, 255, 128, 128, 128,
    45, 99, 188, 251, 195, 217, 255, 224, 128, 128, 128,
    1, 1, 251, 255, 213, 255, 128, 128, 128, 128, 128,
    203, 1, 248, 255, 255, 128, 128, 128, 128, 128, 128,
    137, 1, 177, 255, 224, 255, 128, 128, 128, 128, 128,
    253, 9, 248, 251, 207, 208, 255, 192, 128, 128, 128,
    175, 13, 224, 243, 193, 185, 249, 198, 255, 255, 128,
    73, 17, 171, 221, 161, 179, 236, 167, 255, 234, 128,
    1, 95, 247, 253, 212, 183, 255, 255, 128, 128, 128,
    239, 90, 244, 250, 211, 209, 255, 255, 128, 128, 128,
    155, 77, 195, 248, 188, 195, 255, 255, 128, 128, 128,
    1, 24, 239, 251, 218, 219, 255, 205, 128, 128, 128,
    201, 51, 219, 255, 196, 186, 128, 128, 128, 128, 128,
    69, 46, 190, 239, 201, 218, 255, 228, 128, 128, 128,
    1, 191, 251, 255, 255, 128, 128, 128, 128, 128, 128,
    223, 165, 249, 255, 213, 255, 128, 128, 128, 128, 128,
    141, 124, 248, 255, 255, 128, 128, 128, 128, 128, 128,
    1, 16, 248, 255, 255, 128, 128, 128, 128, 128, 128,
    190, 36, 230, 255, 236, 255, 128, 128, 128, 128, 128,
    149, 1, 255, 128, 128, 128, 128, 128, 128, 128, 128,
    1, 226, 255, 128, 128, 128, 128, 128, 128, 128, 128,
    247, 192, 255, 128, 128, 128, 128, 128, 128, 128, 128,
    240, 128, 255, 128, 128, 128, 128, 128, 128, 128, 128,
    1, 134, 252, 255, 255, 128, 128, 128, 128, 128, 128,
    213, 62, 250, 255, 255, 128, 128, 128, 128, 128, 128,
    55, 93, 255, 128, 128, 128, 128, 128, 128, 128, 128,
    128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
    128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
    128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
    202, 24, 213, 235, 186, 191, 220, 160, 240, 175, 255,
    126, 38, 182, 232, 169, 184, 228, 174, 255, 187, 128,
    61, 46, 138, 219, 151, 178, 240, 170, 255, 216, 128,
    1, 112, 230, 250, 199, 191, 247, 159, 255, 255, 128,
    166, 109, 228, 252, 211, 215, 255, 174, 128, 128, 128,
    39, 77, 162, 232, 172, 180, 245, 178, 255, 255, 128,
    1, 52, 220, 246, 198, 199, 249, 220, 255, 255, 128,
    124, 74, 191, 243, 183, 193, 250, 221, 255, 255, 128,
    24, 71, 130, 219, 154, 170, 243, 182, 255, 255, 128,
    1, 182, 225, 249, 219, 240, 255, 224, 128, 128, 128,
    149, 150, 226, 252, 216, 205, 255, 171, 128, 128, 128,
    28, 108, 170, 242, 183, 194, 254, 223, 255, 255, 128,
    1, 81, 230, 252, 204, 203, 255, 192, 128, 128, 128,
    123, 102, 209, 247, 188, 196, 255, 233, 128, 128, 128,
    20, 95, 153, 243, 164, 173, 255, 203, 128, 128, 128,
    1, 222, 248, 255, 216, 213, 128, 128, 128, 128, 128,
    168, 175, 246, 252, 235, 205, 255, 255, 128, 128, 128,
    47, 116, 215, 255, 211, 212, 255, 255, 128, 128, 128,
    1, 121, 236, 253, 212, 214, 255, 255, 128, 128, 128,
    141, 84, 213, 252, 201, 202, 255, 219, 128, 128, 128,
    42, 80, 160, 240, 162, 185, 255, 205, 128, 128, 128,
    1, 1, 255, 128, 128, 128, 128, 128, 128, 128, 128,
    244, 1, 255, 128, 128, 128, 128, 128, 128, 128, 128,
    238, 1, 255, 128, 128, 128, 128, 128, 128, 128, 128,
], dtype=np.int32).reshape(4, 8, 3, 11)

COEFF_UPDATE_PROBS = np.array([
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    176, 246, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    223, 241, 252, 255, 255, 255, 255, 255, 255, 255, 255,
    249, 253, 253, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 244, 252, 255, 255, 255, 255, 255, 255, 255, 255,
    234, 254, 254, 255, 255, 255, 255, 255, 255, 255, 255,
    253, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 246, 254, 255, 255, 255, 255, 255, 255, 255, 255,
    239, 253, 254, 255, 255, 255, 255, 255, 255, 255, 255,
    254, 255, 254, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 248, 254, 255, 255, 255, 255, 255, 255, 255, 255,
    251, 255, 254, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 253, 254, 255, 255, 255, 255, 255, 255, 255, 255,
    251, 254, 254, 255, 255, 255, 255, 255, 255, 255, 255,
    254, 255, 254, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 254, 253, 255, 254, 255, 255, 255, 255, 255, 255,
    250, 255, 254, 255, 254, 255, 255, 255, 255, 255, 255,
    254, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    217, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    225, 252, 241, 253, 255, 255, 254, 255, 255, 255, 255,
    234, 250, 241, 250, 253, 255, 253, 254, 255, 255, 255,
    255, 254, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    223, 254, 254, 255, 255, 255, 255, 255, 255, 255, 255,
    238, 253, 254, 254, 255, 255, 255, 255, 255, 255, 255,
    255, 248, 254, 255, 255, 255, 255, 255, 255, 255, 255,
    249, 254, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 253, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    247, 254, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 253, 254, 255, 255, 255, 255, 255, 255, 255, 255,
    252, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 254, 254, 255, 255, 255, 255, 255, 255, 255, 255,
    253, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 254, 253, 255, 255, 255, 255, 255, 255, 255, 255,
    250, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    254, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    186, 251, 250, 255, 255, 255, 255, 255, 255, 255, 255,
    234, 251, 244, 254, 255, 255, 255, 255, 255, 255, 255,
    251, 251, 243, 253, 254, 255, 254, 255, 255, 255, 255,
    255, 253, 254, 255, 255, 255, 255, 255, 255, 255, 255,
    236, 253, 254, 255, 255, 255, 255, 255, 255, 255, 255,
    251, 253, 253, 254, 254, 255, 255, 255, 255, 255, 255,
    255, 254, 254, 255, 255, 255, 255, 255, 255, 255, 255,
    254, 254, 254, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 254, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    254, 254, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    254, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    254, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    248, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    250, 254, 252, 254, 255, 255, 255, 255, 255, 255, 255,
    248, 254, 249, 253, 255, 255, 255, 255, 255, 255, 255,
    255, 253, 253, 255, 255, 255, 255, 255, 255, 255, 255,
    246, 253, 253, 255, 255, 255, 255, 255, 255, 255, 255,
    252, 254, 251, 254, 254, 255, 255, 255, 255, 255, 255,
    255, 254, 252, 255, 255, 255, 255, 255, 255, 255, 255,
    248, 254, 253, 255, 255, 255, 255, 255, 255, 255, 255,
    253, 255, 254, 254, 255, 255, 255, 255, 255, 255, 255,
    255, 251, 254, 255, 255, 255, 255, 255, 255, 255, 255,
    245, 251, 254, 255, 255, 255, 255, 255, 255, 255, 255,
    253, 253, 254, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 251, 253, 255, 255, 255, 255, 255, 255, 255, 255,
    252, 253, 254, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 254, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 252, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    249, 255, 254, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 254, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 253, 255, 255, 255, 255, 255, 255, 255, 255,
    250, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    254, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
], dtype=np.int32).reshape(4, 8, 3, 11)

KF_BMODE_PROBS = np.array([
    231, 120, 48, 89, 115, 113, 120, 152, 112,
    152, 179, 64, 126, 170, 118, 46, 70, 95,
    175, 69, 143, 80, 85, 82, 72, 155, 103,
    56, 58, 10, 171, 218, 189, 17, 13, 152,
    114, 26, 17, 163, 44, 195, 21, 10, 173,
    121, 24, 80, 195, 26, 62, 44, 64, 85,
    144, 71, 10, 38, 171, 213, 144, 34, 26,
    170, 46, 55, 19, 136, 160, 33, 206, 71,
    63, 20, 8, 114, 114, 208, 12, 9, 226,
    81, 40, 11, 96, 182, 84, 29, 16, 36,
    134, 183, 89, 137, 98, 101, 106, 165, 148,
    72, 187, 100, 130, 157, 111, 32, 75, 80,
    66, 102, 167, 99, 74, 62, 40, 234, 128,
    41, 53, 9, 178, 241, 141, 26, 8, 107,
    74, 43, 26, 146, 73, 166, 49, 23, 157,
    65, 38, 105, 160, 51, 52, 31, 115, 128,
    104, 79, 12, 27, 217, 255, 87, 17, 7,
    87, 68, 71, 44, 114, 51, 15, 186, 23,
    47, 41, 14, 110, 182, 183, 21, 17, 194,
    66, 45, 25, 102, 197, 189, 23, 18, 22,
    88, 88, 147, 150, 42, 46, 45, 196, 205,
    43, 97, 183, 117, 85, 38, 35, 179, 61,
    39, 53, 200, 87, 26, 21, 43, 232, 171,
    56, 34, 51, 104, 114, 102, 29, 93, 77,
    39, 28, 85, 171, 58, 165, 90, 98, 64,
    34, 22, 116, 206, 23, 34, 43, 166, 73,
    107, 54, 32, 26, 51, 1, 81, 43, 31,
    68, 25, 106, 22, 64, 171, 36, 225, 114,
    34, 19, 21, 102, 132, 188, 16, 76, 124,
    62, 18, 78, 95, 85, 57, 50, 48, 51,
    193, 101, 35, 159, 215, 111, 89, 46, 111,
    60, 148, 31, 172, 219, 228, 21, 18, 111,
    112, 113, 77, 85, 179, 255, 38, 120, 114,
    40, 42, 1, 196, 245, 209, 10, 25, 109,
    88, 43, 29, 140, 166, 213, 37, 43, 154,
    61, 63, 30, 155, 67, 45, 68, 1, 209,
    100, 80, 8, 43, 154, 1, 51, 26, 71,
    142, 78, 78, 16, 255, 128, 34, 197, 171,
    41, 40, 5, 102, 211, 183, 4, 1, 221,
    51, 50, 17, 168, 209, 192, 23, 25, 82,
    138, 31, 36, 171, 27, 166, 38, 44, 229,
    67, 87, 58, 169, 82, 115, 26, 59, 179,
    63, 59, 90, 180, 59, 166, 93, 73, 154,
    40, 40, 21, 116, 143, 209, 34, 39, 175,
    47, 15, 16, 183, 34, 223, 49, 45, 183,
    46, 17, 33, 183, 6, 98, 15, 32, 183,
    57, 46, 22, 24, 128, 1, 54, 17, 37,
    65, 32, 73, 115, 28, 128, 23, 128, 205,
    40, 3, 9, 115, 51, 192, 18, 6, 223,
    87, 37, 9, 115, 59, 77, 64, 21, 47,
    104, 55, 44, 218, 9, 54, 53, 130, 226,
    64, 90, 70, 205, 40, 41, 23, 26, 57,
    54, 57, 112, 184, 5, 41, 38, 166, 213,
    30, 34, 26, 133, 152, 116, 10, 32, 134,
    39, 19, 53, 221, 26, 114, 32, 73, 255,
    31, 9, 65, 234, 2, 15, 1, 118, 73,
    75, 32, 12, 51, 192, 255, 160, 43, 51,
    88, 31, 35, 67, 102, 85, 55, 186, 85,
    56, 21, 23, 111, 59, 205, 45, 37, 192,
    55, 38, 70, 124, 73, 102, 1, 34, 98,
    125, 98, 42, 88, 104, 85, 117, 175, 82,
    95, 84, 53, 89, 128, 100, 113, 101, 45,
    75, 79, 123, 47, 51, 128, 81, 171, 1,
    57, 17, 5, 71, 102, 57, 53, 41, 49,
    38, 33, 13, 121, 57, 73, 26, 1, 85,
    41, 10, 67, 138, 77, 110, 90, 47, 114,
    115, 21, 2, 10, 102, 255, 166, 23, 6,
    101, 29, 16, 10, 85, 128, 101, 196, 26,
    57, 18, 10, 102, 102, 213, 34, 20, 43,
    117, 20, 15, 36, 163, 128, 68, 1, 26,
    102, 61, 71, 37, 34, 53, 31, 243, 192,
    69, 60, 71, 38, 73, 119, 28, 222, 37,
    68, 45, 128, 34, 1, 47, 11, 245, 171,
    62, 17, 19, 70, 146, 85, 55, 62, 70,
    37, 43, 37, 154, 100, 163, 85, 160, 1,
    63, 9, 92, 136, 28, 64, 32, 201, 85,
    75, 15, 9, 9, 64, 255, 184, 119, 16,
    86, 6, 28, 5, 64, 255, 25, 248, 1,
    56, 8, 17, 132, 137, 255, 55, 116, 128,
    58, 15, 20, 82, 135, 57, 26, 121, 40,
    164, 50, 31, 137, 154, 133, 25, 35, 218,
    51, 103, 44, 131, 131, 123, 31, 6, 158,
    86, 40, 64, 135, 148, 224, 45, 183, 128,
    22, 26, 17, 131, 240, 154, 14, 1, 209,
    45, 16, 21, 91, 64, 222, 7, 1, 197,
    56, 21, 39, 155, 60, 138, 23, 102, 213,
    83, 12, 13, 54, 192, 255, 68, 47, 28,
    85, 26, 85, 85, 128, 128, 32, 146, 171,
    18, 11, 7, 63, 144, 171, 4, 4, 246,
    35, 27, 10, 146, 174, 171, 12, 26, 128,
    190, 80, 35, 99, 180, 80, 126, 54, 45,
    85, 126, 47, 87, 176, 51, 41, 20, 32,
    101, 75, 128, 139, 118, 146, 116, 128, 85,
    56, 41, 15, 176, 236, 85, 37, 9, 62,
    71, 30, 17, 119, 118, 255, 17, 18, 138,
    101, 38, 60, 138, 55, 70, 43, 26, 142,
    146, 36, 19, 30, 171, 255, 97, 27, 20,
    138, 45, 61, 62, 219, 1, 81, 188, 64,
    32, 41, 20, 117, 151, 142, 20, 21, 163,
    112, 19, 12, 61, 195, 128, 48, 4, 24,
], dtype=np.int32).reshape(10, 10, 9)


# ---------------------------------------------------------------------------------------------
# §7 Boolean entropy decoder (libwebp VP8BitReader)
# ---------------------------------------------------------------------------------------------


@register_jitable
def br_load(data, br, k):
    """Load one more byte into partition k's value (libwebp VP8LoadFinalBytes).

    Past the end: once, a zero byte is shifted in and ``eof`` is set; after that nothing is
    shifted and the bit count is set to 0 (libwebp: "to avoid undefined behaviour with shifts").
    """
    if br[k, BR_POS] < br[k, BR_END]:
        br[k, BR_BITS] += 8
        br[k, BR_VALUE] = (br[k, BR_VALUE] << 8) | data[br[k, BR_POS]]
        br[k, BR_POS] += 1
    elif br[k, BR_EOF] == 0:
        br[k, BR_VALUE] = br[k, BR_VALUE] << 8
        br[k, BR_BITS] += 8
        br[k, BR_EOF] = 1
    else:
        br[k, BR_BITS] = 0


@register_jitable
def br_init(data, br, k, start, size):
    """§7.3 init_bool_decoder (libwebp VP8InitBitReader: loads at once, so an empty partition
    is at ``eof`` from the start)."""
    br[k, BR_POS] = start
    br[k, BR_END] = start + size
    br[k, BR_VALUE] = 0
    br[k, BR_RANGE] = INITIAL_RANGE_MINUS_ONE
    br[k, BR_BITS] = -8
    br[k, BR_EOF] = 0
    br_load(data, br, k)


@register_jitable
def get_bit(data, br, k, prob):
    """§7.3 read_bool(prob): split = 1 + (((range - 1) * prob) >> 8); 1 if value >= split
    (libwebp VP8GetBit, which keeps range - 1 and compares value > split - 1)."""
    rng = br[k, BR_RANGE]
    if br[k, BR_BITS] < 0:
        br_load(data, br, k)
    pos = br[k, BR_BITS]
    split = (rng * prob) >> 8
    value = br[k, BR_VALUE] >> pos
    if value > split:
        rng -= split
        br[k, BR_VALUE] -= (split + 1) << pos
        bit = 1
    else:
        rng = split + 1
        bit = 0
    # §7.3 normalisation: shift until range >= 128 (libwebp: 7 ^ BitsLog2Floor(range)).
    shift = 0
    while rng < 128:
        rng <<= 1
        shift += 1
    br[k, BR_BITS] -= shift
    br[k, BR_RANGE] = rng - 1
    return bit


@register_jitable
def get_signed(data, br, k, v):
    """The sign of a DCT coefficient (§13.2 "followed by a sign bit", probability 128):
    libwebp VP8GetSigned, a shortcut that always shifts by one bit and sets range - 1 to an odd
    value (so it can be 255). Returns -v or v."""
    if br[k, BR_BITS] < 0:
        br_load(data, br, k)
    pos = br[k, BR_BITS]
    split = br[k, BR_RANGE] >> 1
    value = br[k, BR_VALUE] >> pos
    br[k, BR_BITS] -= 1
    if value > split:  # libwebp: mask = (int32)(split - value) >> 31 = -1
        br[k, BR_RANGE] = (br[k, BR_RANGE] - 1) | 1
        br[k, BR_VALUE] -= (split + 1) << pos
        return -v
    br[k, BR_RANGE] = br[k, BR_RANGE] | 1
    return v


@register_jitable
def get_value(data, br, k, nbits):
    """§7.3 / §19.2 L(n): an n-bit unsigned literal, most significant bit first (VP8GetValue)."""
    v = 0
    while nbits > 0:
        nbits -= 1
        v |= get_bit(data, br, k, HALF_PROB) << nbits
    return v


@register_jitable
def get_signed_value(data, br, k, nbits):
    """§19.2 a magnitude L(n) followed by a sign bit (VP8GetSignedValue)."""
    v = get_value(data, br, k, nbits)
    return -v if get_value(data, br, k, 1) else v


# ---------------------------------------------------------------------------------------------
# §14.3, §14.4 inverse transforms
# ---------------------------------------------------------------------------------------------


@register_jitable
def wrap16(v):
    """Store into an int16_t as libwebp does (two's complement wrap)."""
    return ((v + 32768) & 0xFFFF) - 32768


@register_jitable
def inverse_wht(dc, coeffs):
    """§14.3 iwalsh4x4 (libwebp TransformWHT): the 16 Y2 values ``dc`` become the DC (index 0)
    of the 16 luma blocks in ``coeffs`` (16 values per block). Rounding: (x + 3) >> 3."""
    tmp = np.empty(16, dtype=np.int64)
    for i in range(4):
        a0 = dc[0 + i] + dc[12 + i]
        a1 = dc[4 + i] + dc[8 + i]
        a2 = dc[4 + i] - dc[8 + i]
        a3 = dc[0 + i] - dc[12 + i]
        tmp[0 + i] = a0 + a1
        tmp[8 + i] = a0 - a1
        tmp[4 + i] = a3 + a2
        tmp[12 + i] = a3 - a2
    for i in range(4):
        d = tmp[0 + i * 4] + 3  # rounder
        a0 = d + tmp[3 + i * 4]
        a1 = tmp[1 + i * 4] + tmp[2 + i * 4]
        a2 = tmp[1 + i * 4] - tmp[2 + i * 4]
        a3 = d - tmp[3 + i * 4]
        coeffs[(4 * i + 0) * 16] = wrap16((a0 + a1) >> 3)
        coeffs[(4 * i + 1) * 16] = wrap16((a3 + a2) >> 3)
        coeffs[(4 * i + 2) * 16] = wrap16((a0 - a1) >> 3)
        coeffs[(4 * i + 3) * 16] = wrap16((a3 - a2) >> 3)


@register_jitable
def mul1(a):
    """a * cos(pi/8) * sqrt(2) = a + ((a * 20091) >> 16) (§14.4, libwebp MUL1)."""
    return ((a * COS_PI8_SQRT2_MINUS1) >> 16) + a


@register_jitable
def mul2(a):
    """a * sin(pi/8) * sqrt(2) = (a * 35468) >> 16 (§14.4, libwebp MUL2)."""
    return (a * SIN_PI8_SQRT2) >> 16


@register_jitable
def clip8(v):
    return 0 if v < 0 else (255 if v > 255 else v)


@register_jitable
def inverse_dct_add(coeffs, off, buf, r0, c0):
    """§14.4 vp8_short_idct4x4llm_c as libwebp TransformOne: columns first, then rows with
    (x + 4) >> 3, added to the prediction in ``buf[r0:r0+4, c0:c0+4]`` and clamped."""
    tmp = np.empty(16, dtype=np.int64)
    for i in range(4):  # vertical pass over column i
        a = coeffs[off + i] + coeffs[off + 8 + i]
        b = coeffs[off + i] - coeffs[off + 8 + i]
        c = mul2(coeffs[off + 4 + i]) - mul1(coeffs[off + 12 + i])
        d = mul1(coeffs[off + 4 + i]) + mul2(coeffs[off + 12 + i])
        tmp[4 * i + 0] = a + d
        tmp[4 * i + 1] = b + c
        tmp[4 * i + 2] = b - c
        tmp[4 * i + 3] = a - d
    for i in range(4):  # horizontal pass, output row i
        dc = tmp[i] + 4
        a = dc + tmp[8 + i]
        b = dc - tmp[8 + i]
        c = mul2(tmp[4 + i]) - mul1(tmp[12 + i])
        d = mul1(tmp[4 + i]) + mul2(tmp[12 + i])
        r = r0 + i
        buf[r, c0 + 0] = clip8(buf[r, c0 + 0] + ((a + d) >> 3))
        buf[r, c0 + 1] = clip8(buf[r, c0 + 1] + ((b + c) >> 3))
        buf[r, c0 + 2] = clip8(buf[r, c0 + 2] + ((b - c) >> 3))
        buf[r, c0 + 3] = clip8(buf[r, c0 + 3] + ((a - d) >> 3))


# ---------------------------------------------------------------------------------------------
# §13 DCT token decoding
# ---------------------------------------------------------------------------------------------


@register_jitable
def large_value(data, br, k, probs, t, band, ctx):
    """§13.2 dct_value above 1: DCT_2..DCT_4, cat1 (5-6), cat2 (7-10), cat3..cat6 with extra bits
    (libwebp GetLargeValue)."""
    if not get_bit(data, br, k, probs[t, band, ctx, 3]):
        if not get_bit(data, br, k, probs[t, band, ctx, 4]):
            return 2
        return 3 + get_bit(data, br, k, probs[t, band, ctx, 5])
    if not get_bit(data, br, k, probs[t, band, ctx, 6]):
        if not get_bit(data, br, k, probs[t, band, ctx, 7]):
            return 5 + get_bit(data, br, k, CAT1_PROB)  # DCT_CAT1: 5..6
        v = 7 + 2 * get_bit(data, br, k, CAT2_PROBS[0])  # DCT_CAT2: 7..10
        return v + get_bit(data, br, k, CAT2_PROBS[1])
    bit1 = get_bit(data, br, k, probs[t, band, ctx, 8])
    bit0 = get_bit(data, br, k, probs[t, band, ctx, 9 + bit1])
    cat = 2 * bit1 + bit0  # DCT_CAT3..DCT_CAT6
    v = 0
    j = 0
    while CAT_PROBS[cat, j] != 0:
        v += v + get_bit(data, br, k, CAT_PROBS[cat, j])
        j += 1
    return v + 3 + (8 << cat)


@register_jitable
def get_coeffs(data, br, k, probs, t, ctx, dq_dc, dq_ac, n, out, off):
    """§13.2-§13.3 the tokens of one block from position ``n`` (0, or 1 after Y2): writes the
    dequantized coefficients (int16-wrapped) at ``out[off + zigzag[i]]`` and returns the index
    after the last coefficient decoded (libwebp GetCoeffs; 16 if no end-of-block token).
    After a DCT_0 token the next token cannot be end-of-block (§13.2), so its tree starts at
    probability 1; the context of the next token is 0, 1 or 2 by the magnitude (§13.3)."""
    while n < 16:
        if not get_bit(data, br, k, probs[t, BANDS[n], ctx, 0]):
            return n  # dct_eob
        while not get_bit(data, br, k, probs[t, BANDS[n], ctx, 1]):  # DCT_0
            n += 1
            ctx = 0
            if n == 16:
                return 16
        band = BANDS[n]
        if not get_bit(data, br, k, probs[t, band, ctx, 2]):
            v = 1
            ctx = 1
        else:
            v = large_value(data, br, k, probs, t, band, ctx)
            ctx = 2
        s = get_signed(data, br, k, v)
        out[off + ZIGZAG[n]] = wrap16(s * (dq_dc if n == 0 else dq_ac))  # §14.1 dequantize
        n += 1
    return 16


@register_jitable
def nz_code(nz, dc_nz):
    """libwebp NzCodeBits: 3 = more than 3 coefficients, 2 = 2..3, else whether DC != 0."""
    if nz > 3:
        return 3
    if nz > 1:
        return 2
    return dc_nz


@register_jitable
def parse_residuals(data, br, k, probs, dq, is_i4x4, coeffs, codes, nz_top, nz_dc_top, mb_x,
                    left):
    """§13 all blocks of one macroblock in bitstream order: Y2 (if not B_PRED), 16 Y, 4 U, 4 V
    (libwebp ParseResiduals). Contexts (§13.3): per 4x4 column/row whether the block above /
    left had a non-zero coefficient, kept as bit masks: ``nz_top[mb_x]`` / ``left[0]`` hold 4
    luma bits then 2+2 chroma bits, ``nz_dc_top`` / ``left[1]`` the Y2 flags.
    Returns True when no block has a non-zero coefficient (for the loop filter)."""
    for i in range(384):
        coeffs[i] = 0
    for i in range(24):
        codes[i] = 0
    any_nz = 0
    if not is_i4x4:
        dc = np.zeros(16, dtype=np.int64)
        ctx = nz_dc_top[mb_x] + left[1]
        nz = get_coeffs(data, br, k, probs, TYPE_Y2, ctx, dq[2], dq[3], 0, dc, 0)
        flag = 1 if nz > 0 else 0
        nz_dc_top[mb_x] = flag
        left[1] = flag
        inverse_wht(dc, coeffs)  # equal to libwebp's "(dc[0] + 3) >> 3" shortcut when nz <= 1
        first = 1
        t = TYPE_Y_AFTER_Y2
    else:
        first = 0
        t = TYPE_Y_WITH_DC
    tnz = nz_top[mb_x] & 0x0F
    lnz = left[0] & 0x0F
    for y in range(4):
        l = lnz & 1
        for x in range(4):
            ctx = l + (tnz & 1)
            b = 4 * y + x
            nz = get_coeffs(data, br, k, probs, t, ctx, dq[0], dq[1], first, coeffs, 16 * b)
            l = 1 if nz > first else 0
            tnz = (tnz >> 1) | (l << 7)
            codes[b] = nz_code(nz, 1 if coeffs[16 * b] != 0 else 0)
            any_nz |= codes[b]
        tnz >>= 4
        lnz = (lnz >> 1) | (l << 7)
    out_t_nz = tnz
    out_l_nz = lnz >> 4
    for ch in range(0, 4, 2):
        tnz = nz_top[mb_x] >> (4 + ch)
        lnz = left[0] >> (4 + ch)
        for y in range(2):
            l = lnz & 1
            for x in range(2):
                ctx = l + (tnz & 1)
                b = 16 + 2 * ch + 2 * y + x
                nz = get_coeffs(data, br, k, probs, TYPE_UV, ctx, dq[4], dq[5], 0, coeffs, 16 * b)
                l = 1 if nz > 0 else 0
                tnz = (tnz >> 1) | (l << 3)
                codes[b] = nz_code(nz, 1 if coeffs[16 * b] != 0 else 0)
                any_nz |= codes[b]
            tnz >>= 2
            lnz = (lnz >> 1) | (l << 5)
        out_t_nz |= (tnz << 4) << ch
        out_l_nz |= (lnz & 0xF0) << ch
    nz_top[mb_x] = out_t_nz
    left[0] = out_l_nz
    return any_nz == 0


# ---------------------------------------------------------------------------------------------
# §12 intra prediction (libwebp dsp/dec.c), on a work buffer with a 1-pixel border
# ---------------------------------------------------------------------------------------------
# The luma work buffer ``yb`` is 17 x 21: row 0 is the row above the macroblock (column 0 the
# above-left pixel, columns 17..20 the 4 above-right pixels of §12.3), column 0 the left
# column; the macroblock is yb[1:17, 1:17]. Rows 4, 8 and 12, columns 17..20, repeat the
# above-right pixels for the rightmost sub-blocks of rows 1..3 (§12.3: "the pixels of row -1
# of the macroblock to the right", which libwebp copies below). Chroma buffers are 9 x 9.


@register_jitable
def avg3(a, b, c):
    return (a + 2 * b + c + 2) >> 2


@register_jitable
def avg2(a, b):
    return (a + b + 1) >> 1


@register_jitable
def predict_block(buf, r0, c0, size, mode):
    """§12.2 16x16 luma and 8x8 chroma prediction (DC with its edge variants, V, H, TM) into
    ``buf[r0:r0+size, c0:c0+size]``; the edges are row r0 - 1 and column c0 - 1."""
    if mode == V_PRED:
        for r in range(size):
            for c in range(size):
                buf[r0 + r, c0 + c] = buf[r0 - 1, c0 + c]
    elif mode == H_PRED:
        for r in range(size):
            for c in range(size):
                buf[r0 + r, c0 + c] = buf[r0 + r, c0 - 1]
    elif mode == TM_PRED:  # §12.2 TrueMotion: clamp(left + above - above_left)
        for r in range(size):
            for c in range(size):
                buf[r0 + r, c0 + c] = clip8(buf[r0 + r, c0 - 1] + buf[r0 - 1, c0 + c]
                                            - buf[r0 - 1, c0 - 1])
    else:
        shift = 3 if size == 8 else 4  # log2(size)
        if mode == DC_PRED:
            s = size
            for i in range(size):
                s += buf[r0 - 1, c0 + i] + buf[r0 + i, c0 - 1]
            dc = s >> (shift + 1)
        elif mode == DC_PRED_NOTOP:  # left column only
            s = size >> 1
            for i in range(size):
                s += buf[r0 + i, c0 - 1]
            dc = s >> shift
        elif mode == DC_PRED_NOLEFT:  # above row only
            s = size >> 1
            for i in range(size):
                s += buf[r0 - 1, c0 + i]
            dc = s >> shift
        else:
            dc = DC_NO_EDGE
        for r in range(size):
            for c in range(size):
                buf[r0 + r, c0 + c] = dc


@register_jitable
def predict_subblock(buf, r0, c0, mode):
    """§12.3 4x4 sub-block prediction (libwebp DC4, TM4, VE4, HE4, RD4, VR4, LD4, VL4, HD4,
    HU4). Edges: above A..D = buf[r0-1, c0..c0+3], above-right E..H = buf[r0-1, c0+4..c0+7],
    left I..L = buf[r0..r0+3, c0-1], above-left X = buf[r0-1, c0-1]. Note VE and HE are smoothed
    (§12.3: "B_VE_PRED ... uses the average (A[-1] + 2A[0] + A[1] + 2) >> 2")."""
    X = buf[r0 - 1, c0 - 1]
    A = buf[r0 - 1, c0]
    B = buf[r0 - 1, c0 + 1]
    C = buf[r0 - 1, c0 + 2]
    D = buf[r0 - 1, c0 + 3]
    E = buf[r0 - 1, c0 + 4]
    F = buf[r0 - 1, c0 + 5]
    G = buf[r0 - 1, c0 + 6]
    H = buf[r0 - 1, c0 + 7]
    I = buf[r0, c0 - 1]  # noqa: E741 (RFC names)
    J = buf[r0 + 1, c0 - 1]
    K = buf[r0 + 2, c0 - 1]
    L = buf[r0 + 3, c0 - 1]
    p = np.empty((4, 4), dtype=np.int64)  # p[y, x]
    if mode == B_DC_PRED:
        dc = (A + B + C + D + I + J + K + L + 4) >> 3
        for y in range(4):
            for x in range(4):
                p[y, x] = dc
    elif mode == B_TM_PRED:
        top = (A, B, C, D)
        left = (I, J, K, L)
        for y in range(4):
            for x in range(4):
                p[y, x] = clip8(left[y] + top[x] - X)
    elif mode == B_VE_PRED:
        v0, v1, v2, v3 = avg3(X, A, B), avg3(A, B, C), avg3(B, C, D), avg3(C, D, E)
        for y in range(4):
            p[y, 0], p[y, 1], p[y, 2], p[y, 3] = v0, v1, v2, v3
    elif mode == B_HE_PRED:
        h = (avg3(X, I, J), avg3(I, J, K), avg3(J, K, L), avg3(K, L, L))
        for y in range(4):
            for x in range(4):
                p[y, x] = h[y]
    elif mode == B_RD_PRED:
        e = (L, K, J, I, X, A, B, C, D)  # the edge from bottom-left to top-right
        for y in range(4):
            for x in range(4):
                i = 3 - y + x  # pixels on one down-right diagonal share a value
                p[y, x] = avg3(e[i], e[i + 1], e[i + 2])
    elif mode == B_LD_PRED:
        e = (A, B, C, D, E, F, G, H, H)
        for y in range(4):
            for x in range(4):
                i = x + y
                p[y, x] = avg3(e[i], e[i + 1], e[i + 2])
    elif mode == B_VR_PRED:
        p[0, 0] = p[2, 1] = avg2(X, A)
        p[0, 1] = p[2, 2] = avg2(A, B)
        p[0, 2] = p[2, 3] = avg2(B, C)
        p[0, 3] = avg2(C, D)
        p[3, 0] = avg3(K, J, I)
        p[2, 0] = avg3(J, I, X)
        p[1, 0] = p[3, 1] = avg3(I, X, A)
        p[1, 1] = p[3, 2] = avg3(X, A, B)
        p[1, 2] = p[3, 3] = avg3(A, B, C)
        p[1, 3] = avg3(B, C, D)
    elif mode == B_VL_PRED:
        p[0, 0] = avg2(A, B)
        p[0, 1] = p[2, 0] = avg2(B, C)
        p[0, 2] = p[2, 1] = avg2(C, D)
        p[0, 3] = p[2, 2] = avg2(D, E)
        p[1, 0] = avg3(A, B, C)
        p[1, 1] = p[3, 0] = avg3(B, C, D)
        p[1, 2] = p[3, 1] = avg3(C, D, E)
        p[1, 3] = p[3, 2] = avg3(D, E, F)
        p[2, 3] = avg3(E, F, G)  # §12.3: these two break the pattern
        p[3, 3] = avg3(F, G, H)
    elif mode == B_HD_PRED:
        p[0, 0] = p[1, 2] = avg2(I, X)
        p[1, 0] = p[2, 2] = avg2(J, I)
        p[2, 0] = p[3, 2] = avg2(K, J)
        p[3, 0] = avg2(L, K)
        p[0, 3] = avg3(A, B, C)
        p[0, 2] = avg3(X, A, B)
        p[0, 1] = p[1, 3] = avg3(I, X, A)
        p[1, 1] = p[2, 3] = avg3(J, I, X)
        p[2, 1] = p[3, 3] = avg3(K, J, I)
        p[3, 1] = avg3(L, K, J)
    else:  # B_HU_PRED
        p[0, 0] = avg2(I, J)
        p[0, 2] = p[1, 0] = avg2(J, K)
        p[1, 2] = p[2, 0] = avg2(K, L)
        p[0, 1] = avg3(I, J, K)
        p[0, 3] = p[1, 1] = avg3(J, K, L)
        p[1, 3] = p[2, 1] = avg3(K, L, L)
        p[2, 3] = p[2, 2] = p[3, 0] = p[3, 1] = p[3, 2] = p[3, 3] = L
    for y in range(4):
        for x in range(4):
            buf[r0 + y, c0 + x] = p[y, x]


@register_jitable
def check_mode(mb_x, mb_y, mode):
    """libwebp CheckMode: DC prediction without the missing edges on the frame's first row /
    column (§12.2)."""
    if mode == DC_PRED:
        if mb_x == 0:
            return DC_PRED_NOTOPLEFT if mb_y == 0 else DC_PRED_NOLEFT
        return DC_PRED_NOTOP if mb_y == 0 else DC_PRED
    return mode


@register_jitable
def load_edges(buf, plane, mb_x, mb_y, size, above_right):
    """Fill row 0 / column 0 of a work buffer from the (unfiltered) plane, with the 127/129
    borders of §12.2 as libwebp sets them: above the frame 127 (above-left and above-right
    too), left of it 129 (and the above-left pixel of the first column below row 0)."""
    r = mb_y * size
    c = mb_x * size
    width = plane.shape[1]
    if mb_y == 0:
        for i in range(buf.shape[1]):
            buf[0, i] = ABOVE_BORDER
    else:
        buf[0, 0] = LEFT_BORDER if mb_x == 0 else plane[r - 1, c - 1]
        for i in range(size):
            buf[0, 1 + i] = plane[r - 1, c + i]
        if above_right:
            for i in range(4):  # §12.3: from the next macroblock's above row, or repeat
                buf[0, 1 + size + i] = (plane[r - 1, c + size + i] if c + size + i < width
                                        else plane[r - 1, c + size - 1])
    for j in range(size):
        buf[1 + j, 0] = LEFT_BORDER if mb_x == 0 else plane[r + j, c - 1]


@register_jitable
def reconstruct_mb(mb_x, mb_y, is_i4x4, imodes, uvmode, coeffs, codes, yb, ub, vb, ypl, upl,
                   vpl):
    """§12 + §14: predict and add the residue of one macroblock (libwebp ReconstructRow)."""
    load_edges(yb, ypl, mb_x, mb_y, 16, True)
    if is_i4x4:
        for j in (4, 8, 12):  # above-right of the rightmost sub-blocks in rows 1..3 (§12.3)
            for i in range(17, 21):
                yb[j, i] = yb[0, i]
        for n in range(16):
            r0 = 1 + 4 * (n >> 2)
            c0 = 1 + 4 * (n & 3)
            predict_subblock(yb, r0, c0, imodes[n])
            luma_transform(coeffs, codes[n], 16 * n, yb, r0, c0)
    else:
        predict_block(yb, 1, 1, 16, check_mode(mb_x, mb_y, imodes[0]))
        for n in range(16):
            luma_transform(coeffs, codes[n], 16 * n, yb, 1 + 4 * (n >> 2), 1 + 4 * (n & 3))
    load_edges(ub, upl, mb_x, mb_y, 8, False)
    load_edges(vb, vpl, mb_x, mb_y, 8, False)
    mode = check_mode(mb_x, mb_y, uvmode)
    predict_block(ub, 1, 1, 8, mode)
    predict_block(vb, 1, 1, 8, mode)
    chroma_transform(coeffs, codes, 16, ub)
    chroma_transform(coeffs, codes, 20, vb)
    for j in range(16):
        for i in range(16):
            ypl[16 * mb_y + j, 16 * mb_x + i] = yb[1 + j, 1 + i]
    for j in range(8):
        for i in range(8):
            upl[8 * mb_y + j, 8 * mb_x + i] = ub[1 + j, 1 + i]
            vpl[8 * mb_y + j, 8 * mb_x + i] = vb[1 + j, 1 + i]


@register_jitable
def luma_transform(coeffs, code, off, buf, r0, c0):
    """libwebp DoTransform by the block's non-zero code: 3 (more than 3 coefficients) ->
    TransformOne, 2 (only coefficients 0, 1, 4) -> TransformAC3, 1 (DC only) -> TransformDC,
    0 -> nothing; the C versions of the last two equal TransformOne on such blocks.
    Known difference: x86-64 libwebp runs TransformOne as Transform_SSE2 in 16-bit lanes, which
    differs from the C code (followed here) when intermediate values leave int16 -- only in
    corrupt streams (2 of 6000 mutants in the slow sweep)."""
    if code != 0:
        inverse_dct_add(coeffs, off, buf, r0, c0)


@register_jitable
def chroma_transform(coeffs, codes, first, buf):
    """libwebp DoUVTransform for the 4 blocks from ``first``: if any has an AC coefficient
    (code >= 2), all four go through VP8Transform; else TransformDC on those with a non-zero
    DC. Both equal TransformOne on every block (an all-zero block adds (0 + 4) >> 3 = 0)."""
    any_ac = False
    for n in range(4):
        if codes[first + n] >= 2:
            any_ac = True
    for n in range(4):
        off = 16 * (first + n)
        if any_ac or codes[first + n] != 0:  # code 1 = non-zero DC
            inverse_dct_add(coeffs, off, buf, 1 + 4 * (n >> 1), 1 + 4 * (n & 1))


@register_jitable
def block_nonzero(coeffs, off):
    """A block whose coefficients are all 0 adds (0 + 4) >> 3 = 0 everywhere: skipping it is
    exact (libwebp skips by its non-zero codes, with the same result)."""
    for i in range(16):
        if coeffs[off + i] != 0:
            return True
    return False


# ---------------------------------------------------------------------------------------------
# §15 loop filter (libwebp dsp/dec.c), on flat planes: ``p`` is a flat index of q0, ``step``
# the distance across the edge (1 for a vertical edge, the stride for a horizontal one).
# ---------------------------------------------------------------------------------------------


@register_jitable
def sclip1(v):
    """libwebp VP8ksclip1: clamp to a signed byte [-128, 127] (§15.2 c())."""
    return -128 if v < -128 else (127 if v > 127 else v)


@register_jitable
def sclip2(v):
    """libwebp VP8ksclip2: clamp to [-16, 15] (the §15.2 (c(a + 4) >> 3) range)."""
    return -16 if v < -16 else (15 if v > 15 else v)


@register_jitable
def do_filter2(pl, p, step):
    """§15.2 common_adjust(use_outer_taps = 1): 2 pixels changed (libwebp DoFilter2)."""
    p1 = pl[p - 2 * step]
    p0 = pl[p - step]
    q0 = pl[p]
    q1 = pl[p + step]
    a = 3 * (q0 - p0) + sclip1(p1 - q1)
    a1 = sclip2((a + 4) >> 3)
    a2 = sclip2((a + 3) >> 3)
    pl[p - step] = clip8(p0 + a2)
    pl[p] = clip8(q0 - a1)


@register_jitable
def do_filter4(pl, p, step):
    """§15.3 subblock_filter without high edge variance: 4 pixels (libwebp DoFilter4)."""
    p1 = pl[p - 2 * step]
    p0 = pl[p - step]
    q0 = pl[p]
    q1 = pl[p + step]
    a = 3 * (q0 - p0)
    a1 = sclip2((a + 4) >> 3)
    a2 = sclip2((a + 3) >> 3)
    a3 = (a1 + 1) >> 1
    pl[p - 2 * step] = clip8(p1 + a3)
    pl[p - step] = clip8(p0 + a2)
    pl[p] = clip8(q0 - a1)
    pl[p + step] = clip8(q1 - a3)


@register_jitable
def do_filter6(pl, p, step):
    """§15.3 mbfilter without high edge variance: 6 pixels with weights 27, 18, 9 / 128
    (libwebp DoFilter6)."""
    p2 = pl[p - 3 * step]
    p1 = pl[p - 2 * step]
    p0 = pl[p - step]
    q0 = pl[p]
    q1 = pl[p + step]
    q2 = pl[p + 2 * step]
    a = sclip1(3 * (q0 - p0) + sclip1(p1 - q1))
    a1 = (27 * a + 63) >> 7
    a2 = (18 * a + 63) >> 7
    a3 = (9 * a + 63) >> 7
    pl[p - 3 * step] = clip8(p2 + a3)
    pl[p - 2 * step] = clip8(p1 + a2)
    pl[p - step] = clip8(p0 + a1)
    pl[p] = clip8(q0 - a1)
    pl[p + step] = clip8(q1 - a2)
    pl[p + 2 * step] = clip8(q2 - a3)


@register_jitable
def hev(pl, p, step, thresh):
    """§15.3 high edge variance: |p1 - p0| > thresh or |q1 - q0| > thresh."""
    return (abs(pl[p - 2 * step] - pl[p - step]) > thresh
            or abs(pl[p + step] - pl[p]) > thresh)


@register_jitable
def needs_filter(pl, p, step, t):
    """§15.2 simple_segment test |p0 - q0| * 2 + |p1 - q1| / 2 <= limit, written as libwebp
    does: 4 |p0 - q0| + |p1 - q1| <= 2 * limit + 1 (the same for integers)."""
    return 4 * abs(pl[p - step] - pl[p]) + abs(pl[p - 2 * step] - pl[p + step]) <= t


@register_jitable
def needs_filter2(pl, p, step, t, it):
    """§15.3 filter_yes: the edge test plus every interior difference <= interior limit."""
    if 4 * abs(pl[p - step] - pl[p]) + abs(pl[p - 2 * step] - pl[p + step]) > t:
        return False
    p3 = pl[p - 4 * step]
    p2 = pl[p - 3 * step]
    p1 = pl[p - 2 * step]
    p0 = pl[p - step]
    q0 = pl[p]
    q1 = pl[p + step]
    q2 = pl[p + 2 * step]
    q3 = pl[p + 3 * step]
    return (abs(p3 - p2) <= it and abs(p2 - p1) <= it and abs(p1 - p0) <= it
            and abs(q3 - q2) <= it and abs(q2 - q1) <= it and abs(q1 - q0) <= it)


@register_jitable
def simple_edge(pl, p, step, along, count, thresh):
    """§15.2 simple filter on ``count`` pixels of one edge (libwebp SimpleV/HFilter16)."""
    t2 = 2 * thresh + 1
    for i in range(count):
        q = p + i * along
        if needs_filter(pl, q, step, t2):
            do_filter2(pl, q, step)


@register_jitable
def normal_edge(pl, p, step, along, count, thresh, ithresh, hev_thresh, mb_edge):
    """§15.3 normal filter on ``count`` pixels of one edge: macroblock edges use the 6-tap
    mbfilter, inner edges the 4-tap subblock filter; both fall back to common_adjust on high
    edge variance (libwebp FilterLoop26 / FilterLoop24)."""
    t2 = 2 * thresh + 1
    for i in range(count):
        q = p + i * along
        if needs_filter2(pl, q, step, t2, ithresh):
            if hev(pl, q, step, hev_thresh):
                do_filter2(pl, q, step)
            elif mb_edge:
                do_filter6(pl, q, step)
            else:
                do_filter4(pl, q, step)


@register_jitable
def filter_mb(filter_type, limit, ilevel, inner, hev_t, mb_x, mb_y, ypl, upl, vpl, ys, uvs):
    """libwebp DoFilter for one macroblock: left edge, inner vertical edges, top edge, inner
    horizontal edges (§15.1 order); luma only for the simple filter (§15.2)."""
    if limit == 0:
        return
    y0 = 16 * mb_y * ys + 16 * mb_x
    c0 = 8 * mb_y * uvs + 8 * mb_x
    mbl = limit + MB_EDGE_LIMIT_EXTRA
    if filter_type == 1:
        if mb_x > 0:
            simple_edge(ypl, y0, 1, ys, 16, mbl)
        if inner:
            for k in (4, 8, 12):
                simple_edge(ypl, y0 + k, 1, ys, 16, limit)
        if mb_y > 0:
            simple_edge(ypl, y0, ys, 1, 16, mbl)
        if inner:
            for k in (4, 8, 12):
                simple_edge(ypl, y0 + k * ys, ys, 1, 16, limit)
    else:
        if mb_x > 0:
            normal_edge(ypl, y0, 1, ys, 16, mbl, ilevel, hev_t, True)
            normal_edge(upl, c0, 1, uvs, 8, mbl, ilevel, hev_t, True)
            normal_edge(vpl, c0, 1, uvs, 8, mbl, ilevel, hev_t, True)
        if inner:
            for k in (4, 8, 12):
                normal_edge(ypl, y0 + k, 1, ys, 16, limit, ilevel, hev_t, False)
            normal_edge(upl, c0 + 4, 1, uvs, 8, limit, ilevel, hev_t, False)
            normal_edge(vpl, c0 + 4, 1, uvs, 8, limit, ilevel, hev_t, False)
        if mb_y > 0:
            normal_edge(ypl, y0, ys, 1, 16, mbl, ilevel, hev_t, True)
            normal_edge(upl, c0, uvs, 1, 8, mbl, ilevel, hev_t, True)
            normal_edge(vpl, c0, uvs, 1, 8, mbl, ilevel, hev_t, True)
        if inner:
            for k in (4, 8, 12):
                normal_edge(ypl, y0 + k * ys, ys, 1, 16, limit, ilevel, hev_t, False)
            normal_edge(upl, c0 + 4 * uvs, uvs, 1, 8, limit, ilevel, hev_t, False)
            normal_edge(vpl, c0 + 4 * uvs, uvs, 1, 8, limit, ilevel, hev_t, False)


# ---------------------------------------------------------------------------------------------
# The frame loop
# ---------------------------------------------------------------------------------------------


@register_jitable
def parse_intra_modes(data, br, mb_x, update_map, seg_probs, use_skip, skip_prob, intra_t,
                      intra_l, segment, skip, is_i4x4, imodes, uvmode):
    """§10, §11 per-macroblock header in the first partition (libwebp ParseIntraMode):
    segment id (§10, tree with 3 probabilities), mb_skip_coeff (§11.1), the luma mode with the
    key-frame tree (§11.2), 16 sub-block modes with contexts above/left (§11.3; a 16x16 mode
    stands for its sub-block equivalent), the chroma mode."""
    if update_map:
        if not get_bit(data, br, 0, seg_probs[0]):
            segment[mb_x] = get_bit(data, br, 0, seg_probs[1])
        else:
            segment[mb_x] = 2 + get_bit(data, br, 0, seg_probs[2])
    else:
        segment[mb_x] = 0
    skip[mb_x] = get_bit(data, br, 0, skip_prob) if use_skip else 0
    is_i4x4[mb_x] = 1 - get_bit(data, br, 0, KF_IS_B_PRED_PROB)
    if not is_i4x4[mb_x]:
        if get_bit(data, br, 0, KF_YMODE_PROBS[0]):
            ymode = TM_PRED if get_bit(data, br, 0, KF_YMODE_PROBS[2]) else H_PRED
        else:
            ymode = V_PRED if get_bit(data, br, 0, KF_YMODE_PROBS[1]) else DC_PRED
        imodes[mb_x, 0] = ymode
        for i in range(4):
            intra_t[4 * mb_x + i] = ymode
            intra_l[i] = ymode
    else:
        for y in range(4):
            ymode = intra_l[y]
            for x in range(4):
                above = intra_t[4 * mb_x + x]
                i = BMODE_TREE[get_bit(data, br, 0, KF_BMODE_PROBS[above, ymode, 0])]
                while i > 0:
                    i = BMODE_TREE[2 * i + get_bit(data, br, 0, KF_BMODE_PROBS[above, ymode, i])]
                ymode = -i
                intra_t[4 * mb_x + x] = ymode
                imodes[mb_x, 4 * y + x] = ymode
            intra_l[y] = ymode
    if not get_bit(data, br, 0, KF_UV_MODE_PROBS[0]):
        uvmode[mb_x] = DC_PRED
    elif not get_bit(data, br, 0, KF_UV_MODE_PROBS[1]):
        uvmode[mb_x] = V_PRED
    else:
        uvmode[mb_x] = TM_PRED if get_bit(data, br, 0, KF_UV_MODE_PROBS[2]) else H_PRED


def decode_frame(data, br, num_parts, mb_w, mb_h, update_map, seg_probs, use_skip, skip_prob,
                 probs, dqm, filter_type, fstrengths, ypl, upl, vpl, state):
    """Decode every macroblock (libwebp ParseFrame + ReconstructRow), then loop-filter the frame.

    ``br`` rows: 0 = first partition, 1 + i = token partition i; macroblock row y reads tokens
    from partition ``y & (num_parts - 1)`` (§9.5). ``dqm[s]`` = the 6 factors of segment s
    (y1 dc, y1 ac, y2 dc, y2 ac, uv dc, uv ac); ``fstrengths[s, i4x4]`` = (limit, interior
    limit, inner, hev threshold). Planes are macroblock-aligned int32. Returns an error code.
    """
    intra_t = np.zeros(4 * mb_w, dtype=np.int32)  # B_DC_PRED above the frame (§11.3)
    intra_l = np.zeros(4, dtype=np.int32)
    segment = np.zeros(mb_w, dtype=np.int32)
    skip = np.zeros(mb_w, dtype=np.int32)
    is_i4x4 = np.zeros(mb_w, dtype=np.int32)
    imodes = np.zeros((mb_w, 16), dtype=np.int32)
    uvmode = np.zeros(mb_w, dtype=np.int32)
    nz_top = np.zeros(mb_w, dtype=np.int64)
    nz_dc_top = np.zeros(mb_w, dtype=np.int64)
    left = np.zeros(2, dtype=np.int64)  # left nz bits, left Y2 flag
    coeffs = np.zeros(384, dtype=np.int64)
    codes = np.zeros(24, dtype=np.int64)  # libwebp non-zero code of each block (NzCodeBits)
    f_info = np.zeros((mb_h, mb_w, 4), dtype=np.int32)
    yb = np.zeros((17, 21), dtype=np.int32)
    ub = np.zeros((9, 9), dtype=np.int32)
    vb = np.zeros((9, 9), dtype=np.int32)
    for mb_y in range(mb_h):
        k = 1 + (mb_y & (num_parts - 1))
        for i in range(4):
            intra_l[i] = B_DC_PRED  # libwebp VP8InitScanline
        left[0] = 0
        left[1] = 0
        for mb_x in range(mb_w):
            parse_intra_modes(data, br, mb_x, update_map, seg_probs, use_skip, skip_prob,
                              intra_t, intra_l, segment, skip, is_i4x4, imodes, uvmode)
        if br[0, BR_EOF]:
            state[S_ERR_MB_X] = mb_w - 1
            state[S_ERR_MB_Y] = mb_y
            state[S_ERR_PART] = 0
            return ERR_PARTITION0_EOF
        for mb_x in range(mb_w):
            s = segment[mb_x]
            if use_skip and skip[mb_x]:
                for i in range(24):
                    codes[i] = 0
                nz_top[mb_x] = 0
                left[0] = 0
                if not is_i4x4[mb_x]:
                    nz_dc_top[mb_x] = 0
                    left[1] = 0
                no_coeffs = True
            else:
                no_coeffs = parse_residuals(data, br, k, probs, dqm[s], is_i4x4[mb_x], coeffs,
                                            codes, nz_top, nz_dc_top, mb_x, left)
            if filter_type > 0:
                f = fstrengths[s, is_i4x4[mb_x]]
                f_info[mb_y, mb_x, 0] = f[0]
                f_info[mb_y, mb_x, 1] = f[1]
                f_info[mb_y, mb_x, 2] = f[2] | (0 if no_coeffs else 1)
                f_info[mb_y, mb_x, 3] = f[3]
            if br[k, BR_EOF]:
                state[S_ERR_MB_X] = mb_x
                state[S_ERR_MB_Y] = mb_y
                state[S_ERR_PART] = k
                return ERR_TOKEN_EOF
            reconstruct_mb(mb_x, mb_y, is_i4x4[mb_x], imodes[mb_x], uvmode[mb_x], coeffs,
                           codes, yb, ub, vb, ypl, upl, vpl)
    if filter_type > 0:
        ys = ypl.shape[1]
        uvs = upl.shape[1]
        yf = ypl.reshape(-1)
        uf = upl.reshape(-1)
        vf = vpl.reshape(-1)
        for mb_y in range(mb_h):
            for mb_x in range(mb_w):
                filter_mb(filter_type, f_info[mb_y, mb_x, 0], f_info[mb_y, mb_x, 1],
                          f_info[mb_y, mb_x, 2], f_info[mb_y, mb_x, 3], mb_x, mb_y,
                          yf, uf, vf, ys, uvs)
    return OK


decode_frame_jit = njit(cache=True)(decode_frame)


# ---------------------------------------------------------------------------------------------
# Frame header (§9, §19.2) and the public entry point
# ---------------------------------------------------------------------------------------------


@dataclass
class Vp8Frame:
    """A decoded VP8 key frame: ``y`` (height, width), ``u``/``v`` ((height+1)//2,
    (width+1)//2), uint8, cropped from the macroblock-aligned planes; ``header`` holds the parsed
    frame header fields (for reports and tests); ``warnings`` what was accepted but odd."""
    width: int
    height: int
    y: np.ndarray
    u: np.ndarray
    v: np.ndarray
    warnings: list[str] = field(default_factory=list)
    header: dict = field(default_factory=dict)


def clip(v: int, m: int) -> int:
    """libwebp quant_dec.c clip(v, M): clamp to [0, M]."""
    return 0 if v < 0 else (m if v > m else v)


def dequant_factors(q: int, dqy1_dc: int, dqy2_dc: int, dqy2_ac: int, dquv_dc: int,
                    dquv_ac: int) -> tuple[int, int, int, int, int, int]:
    """§9.6, §14.1 the six dequantization factors of a segment whose base index is ``q``
    (libwebp VP8ParseQuant): (y1 dc, y1 ac, y2 dc, y2 ac, uv dc, uv ac)."""
    y1_dc = int(DC_TABLE[clip(q + dqy1_dc, MAX_QUANT_INDEX)])
    y1_ac = int(AC_TABLE[clip(q, MAX_QUANT_INDEX)])
    y2_dc = int(DC_TABLE[clip(q + dqy2_dc, MAX_QUANT_INDEX)]) * 2  # §14.1: Y2 DC doubled
    y2_ac = int(AC_TABLE[clip(q + dqy2_ac, MAX_QUANT_INDEX)]) * Y2_AC_NUM // Y2_AC_DEN
    y2_ac = max(y2_ac, Y2_AC_MIN)  # §14.1: "if (y2ac < 8) y2ac = 8"
    uv_dc = int(DC_TABLE[clip(q + dquv_dc, MAX_UV_DC_QUANT_INDEX)])  # §14.1: "if (uvdc > 132)"
    uv_ac = int(AC_TABLE[clip(q + dquv_ac, MAX_QUANT_INDEX)])
    return y1_dc, y1_ac, y2_dc, y2_ac, uv_dc, uv_ac


def filter_strengths(level: int, sharpness: int, use_segment: bool, absolute: bool,
                     seg_levels, use_lf_delta: bool, ref_delta0: int, mode_delta0: int
                     ) -> np.ndarray:
    """§9.6, §15.1, §15.2 per segment and per (not B_PRED, B_PRED): (limit, interior limit,
    inner, hev threshold), libwebp PrecomputeFilterStrengths. ``limit`` = 2 * level +
    interior (0 = no filtering); macroblock edges add 4 (§15.2 "((level + 2) * 2 +
    interior_limit)"). Key frames use ref_frame delta 0 (intra) and mode delta 0 (B_PRED)."""
    out = np.zeros((NUM_MB_SEGMENTS, 2, 4), dtype=np.int32)
    for s in range(NUM_MB_SEGMENTS):
        base = level
        if use_segment:
            base = seg_levels[s] + (0 if absolute else level)
        for i4x4 in (0, 1):
            lv = base
            if use_lf_delta:
                lv += ref_delta0
                if i4x4:
                    lv += mode_delta0
            lv = clip(lv, MAX_LOOP_FILTER_LEVEL)
            if lv > 0:
                ilevel = lv  # §15.2 interior_limit
                if sharpness > 0:
                    ilevel >>= 2 if sharpness > 4 else 1
                    ilevel = min(ilevel, 9 - sharpness)
                ilevel = max(ilevel, 1)
                hev_t = (2 if lv >= HEV_THRESHOLD_LEVELS[0]
                         else 1 if lv >= HEV_THRESHOLD_LEVELS[1] else 0)
                out[s, i4x4] = (2 * lv + ilevel, ilevel, i4x4, hev_t)
            else:
                out[s, i4x4] = (0, 0, i4x4, 0)
    return out


def parse_frame_header(data: np.ndarray, br: np.ndarray, first_start: int, first_size: int,
                       *, source: str) -> dict:
    """§9.2-§9.11 / §19.2 the frame header in the first partition, through prob_skip_false,
    and the token partition layout (§9.5). Returns the fields by their RFC names."""
    n = data.shape[0]
    br_init(data, br, 0, first_start, first_size)
    h: dict = {}
    h["color_space"] = get_value(data, br, 0, 1)  # §9.2
    h["clamping_type"] = get_value(data, br, 0, 1)
    # §9.3 segmentation
    h["segmentation_enabled"] = get_value(data, br, 0, 1)
    h["update_mb_segmentation_map"] = 0
    h["segment_feature_mode"] = 1  # libwebp ResetSegmentHeader: absolute values by default
    h["quantizer_level"] = [0] * NUM_MB_SEGMENTS
    h["loop_filter_level_seg"] = [0] * NUM_MB_SEGMENTS
    seg_probs = [255] * MB_FEATURE_TREE_PROBS  # §9.3: unspecified probabilities are 255
    if h["segmentation_enabled"]:
        h["update_mb_segmentation_map"] = get_value(data, br, 0, 1)
        if get_value(data, br, 0, 1):  # update_segment_feature_data
            h["segment_feature_mode"] = get_value(data, br, 0, 1)  # 1 = absolute, 0 = delta
            h["quantizer_level"] = [get_signed_value(data, br, 0, 7) if get_value(data, br, 0, 1)
                                    else 0 for _ in range(NUM_MB_SEGMENTS)]
            h["loop_filter_level_seg"] = [get_signed_value(data, br, 0, 6)
                                          if get_value(data, br, 0, 1) else 0
                                          for _ in range(NUM_MB_SEGMENTS)]
        if h["update_mb_segmentation_map"]:
            seg_probs = [get_value(data, br, 0, 8) if get_value(data, br, 0, 1) else 255
                         for _ in range(MB_FEATURE_TREE_PROBS)]
    h["segment_probs"] = seg_probs
    if br[0, BR_EOF]:
        raise DecodeError("cannot parse segment header: the first partition ends inside it "
                          "(RFC 6386 §9.3)", source=source, offset=first_start + first_size)
    # §9.6 loop filter
    h["filter_type"] = get_value(data, br, 0, 1)  # 0 = normal, 1 = simple
    h["loop_filter_level"] = get_value(data, br, 0, 6)
    h["sharpness_level"] = get_value(data, br, 0, 3)
    h["loop_filter_adj_enable"] = get_value(data, br, 0, 1)
    ref_deltas = [0] * NUM_REF_LF_DELTAS
    mode_deltas = [0] * NUM_MODE_LF_DELTAS
    if h["loop_filter_adj_enable"]:
        if get_value(data, br, 0, 1):  # mode_ref_lf_delta_update
            for i in range(NUM_REF_LF_DELTAS):
                if get_value(data, br, 0, 1):
                    ref_deltas[i] = get_signed_value(data, br, 0, 6)
            for i in range(NUM_MODE_LF_DELTAS):
                if get_value(data, br, 0, 1):
                    mode_deltas[i] = get_signed_value(data, br, 0, 6)
    h["ref_frame_delta"] = ref_deltas
    h["mb_mode_delta"] = mode_deltas
    if br[0, BR_EOF]:
        raise DecodeError("cannot parse filter header: the first partition ends inside it "
                          "(RFC 6386 §9.6)", source=source, offset=first_start + first_size)
    # §9.5 token partitions
    num_parts = 1 << get_value(data, br, 0, 2)
    h["num_token_partitions"] = num_parts
    start = first_start + first_size
    size_left = n - start
    last = num_parts - 1
    if size_left < PARTITION_SIZE_BYTES * last:
        raise DecodeError(f"cannot parse partitions: {last} partition sizes of 3 bytes do not fit "
                          f"in the {size_left} bytes after the first partition (RFC 6386 §9.5)",
                          source=source, offset=start)
    part_start = start + PARTITION_SIZE_BYTES * last
    size_left -= PARTITION_SIZE_BYTES * last
    sizes = []
    for p in range(last):
        q = start + PARTITION_SIZE_BYTES * p
        psize = int(data[q]) | (int(data[q + 1]) << 8) | (int(data[q + 2]) << 16)
        psize = min(psize, size_left)  # libwebp ParsePartitions clips, then checks the last
        br_init(data, br, 1 + p, part_start, psize)
        sizes.append(psize)
        part_start += psize
        size_left -= psize
    br_init(data, br, 1 + last, part_start, size_left)
    sizes.append(size_left)
    h["partition_sizes"] = sizes
    if part_start >= n:
        raise DecodeError(f"cannot parse partitions: the partition sizes leave no byte for the "
                          f"last of the {num_parts} token partitions (RFC 6386 §9.5)",
                          source=source, offset=start)
    # §9.6 quantizer indices
    h["y_ac_qi"] = get_value(data, br, 0, 7)
    deltas = [get_signed_value(data, br, 0, 4) if get_value(data, br, 0, 1) else 0
              for _ in range(5)]
    h["y_dc_delta"], h["y2_dc_delta"], h["y2_ac_delta"], h["uv_dc_delta"], h["uv_ac_delta"] = deltas
    # §9.7 refresh_entropy_probs (read and ignored: one frame only)
    h["refresh_entropy_probs"] = get_value(data, br, 0, 1)
    # §13.4 token probability updates
    probs = COEFF_PROBS_DEFAULT.copy()
    for t in range(NUM_TYPES):
        for b in range(NUM_BANDS):
            for c in range(NUM_CTX):
                for p in range(NUM_PROBAS):
                    if get_bit(data, br, 0, int(COEFF_UPDATE_PROBS[t, b, c, p])):
                        probs[t, b, c, p] = get_value(data, br, 0, 8)
    h["coeff_probs"] = probs
    # §9.11 mb_no_coeff_skip, prob_skip_false
    h["mb_no_coeff_skip"] = get_value(data, br, 0, 1)
    h["prob_skip_false"] = get_value(data, br, 0, 8) if h["mb_no_coeff_skip"] else 0
    return h


def decode_vp8(data: bytes, *, source: str = "<bytes>", max_pixels: int,
               engine: str = "numba") -> Vp8Frame:
    """Decode the payload of a WebP ``VP8 `` chunk (one VP8 key frame, RFC 6386).

    ``engine``: ``"numba"`` (default) runs the compiled frame loop, ``"python"`` the same loop
    as plain Python (slow: the specification; tests compare the two).

    Raises DecodeError (malformed data, with the byte offset), UnsupportedFeature (an inter
    frame or a frame not to be shown) or LimitsExceeded (width * height > max_pixels, checked
    before any plane is allocated).
    """
    if engine not in ("numba", "python"):
        raise SpecError(f"engine must be 'numba' or 'python', not {engine!r}", field="engine",
                        value=engine)
    buf = bytes(data)
    n = len(buf)
    warnings: list[str] = []
    if n < MIN_CHUNK_SIZE:
        raise DecodeError(f"VP8 data of {n} bytes is shorter than the {MIN_CHUNK_SIZE}-byte frame "
                          "tag and key frame header (RFC 6386 §9.1, §9.2)", source=source,
                          offset=n)
    # §9.1 frame tag
    bits = buf[0] | (buf[1] << 8) | (buf[2] << 16)
    key_frame = not (bits & 1)  # §9.1: 0 = key frame
    version = (bits >> 1) & 7
    show_frame = (bits >> 4) & 1
    first_part_size = bits >> 5
    if not key_frame:
        raise UnsupportedFeature("VP8 inter frame (frame tag key_frame bit = 1): WebP holds one "
                                 "key frame (RFC 9649 §2.5, RFC 6386 §9.1)", source=source)
    if version > MAX_VERSION:
        raise DecodeError(f"VP8 version {version} > 3 (RFC 6386 §9.1; libwebp: 'Incorrect "
                          "keyframe parameters')", source=source, offset=0)
    if not show_frame:
        raise UnsupportedFeature("VP8 frame with show_frame = 0 (RFC 6386 §9.1; libwebp: 'Frame "
                                 "not displayable')", source=source)
    if version != 0:
        warnings.append(f"VP8 version {version}: decoded as libwebp does (loop filter from the "
                        "filter_type bit; RFC 6386 §9.1 ties versions 1-3 to simpler filters)")
    # §9.2 start code and dimensions
    if buf[3:6] != START_CODE:
        raise DecodeError(f"bad VP8 start code {buf[3:6].hex(' ')} (RFC 6386 §9.1: 9d 01 2a)",
                          source=source, offset=3)
    width = (buf[6] | (buf[7] << 8)) & DIMENSION_MASK
    horizontal_scale = buf[7] >> 6
    height = (buf[8] | (buf[9] << 8)) & DIMENSION_MASK
    vertical_scale = buf[9] >> 6
    if first_part_size >= n:  # libwebp VP8GetInfo: "inconsistent size information"
        raise DecodeError(f"first partition size {first_part_size} does not fit in the {n}-byte "
                          "VP8 chunk (RFC 6386 §9.1)", source=source, offset=0)
    if width == 0 or height == 0:
        raise DecodeError(f"VP8 frame of {width}x{height} pixels (RFC 6386 §9.2)",
                          source=source, offset=6)
    if horizontal_scale or vertical_scale:
        warnings.append(f"VP8 scale bits {horizontal_scale}/{vertical_scale} ignored (RFC 6386 "
                        "§9.2 leaves upscaling to the application; libwebp ignores them)")
    if width * height > max_pixels:
        raise LimitsExceeded(f"VP8 frame {width}x{height} = {width * height} pixels exceeds the "
                             f"limit of {max_pixels}", source=source)
    first_start = FRAME_TAG_SIZE + KEY_FRAME_HEADER_SIZE
    if first_part_size > n - first_start:  # libwebp VP8GetHeaders: "bad partition length"
        raise DecodeError(f"first partition of {first_part_size} bytes does not fit in the "
                          f"{n - first_start} bytes after the frame header (RFC 6386 §9.1)",
                          source=source, offset=first_start)
    arr = np.frombuffer(buf, dtype=np.uint8)
    br = np.zeros((1 + MAX_PARTITIONS, BR_FIELDS), dtype=np.int64)
    h = parse_frame_header(arr, br, first_start, first_part_size, source=source)
    if h["color_space"]:
        warnings.append("VP8 color_space = 1 (reserved, RFC 6386 §9.2): decoded as YUV as "
                        "libwebp does")
    if h["clamping_type"]:
        warnings.append("VP8 clamping_type = 1 (no clamping needed): pixels clamped anyway, as "
                        "libwebp does")

    # §9.6, §14.1 dequantization per segment
    q0 = h["y_ac_qi"]
    deltas = (h["y_dc_delta"], h["y2_dc_delta"], h["y2_ac_delta"], h["uv_dc_delta"],
              h["uv_ac_delta"])
    dqm = np.zeros((NUM_MB_SEGMENTS, 6), dtype=np.int64)
    for s in range(NUM_MB_SEGMENTS):
        if h["segmentation_enabled"]:
            q = h["quantizer_level"][s] + (0 if h["segment_feature_mode"] else q0)
        else:
            q = q0
        dqm[s] = dequant_factors(q, *deltas)
    level = h["loop_filter_level"]
    filter_type = 0 if level == 0 else (1 if h["filter_type"] else 2)
    fstrengths = filter_strengths(level, h["sharpness_level"], bool(h["segmentation_enabled"]),
                                  bool(h["segment_feature_mode"]), h["loop_filter_level_seg"],
                                  bool(h["loop_filter_adj_enable"]), h["ref_frame_delta"][0],
                                  h["mb_mode_delta"][0])
    mb_w = (width + 15) >> 4
    mb_h = (height + 15) >> 4
    ypl = np.zeros((16 * mb_h, 16 * mb_w), dtype=np.int32)
    upl = np.zeros((8 * mb_h, 8 * mb_w), dtype=np.int32)
    vpl = np.zeros((8 * mb_h, 8 * mb_w), dtype=np.int32)
    state = np.zeros(STATE_SIZE, dtype=np.int64)
    loop = decode_frame_jit if engine == "numba" else decode_frame
    code = loop(arr, br, h["num_token_partitions"], mb_w, mb_h,
                int(h["update_mb_segmentation_map"]), np.array(h["segment_probs"], dtype=np.int64),
                int(h["mb_no_coeff_skip"]), int(h["prob_skip_false"]),
                h["coeff_probs"].astype(np.int64), dqm, filter_type, fstrengths, ypl, upl, vpl,
                state)
    if code != OK:
        mb_x, mb_y, part = (int(v) for v in state)
        if code == ERR_PARTITION0_EOF:
            raise DecodeError(f"premature end of the first partition in the modes of macroblock "
                              f"row {mb_y} (RFC 6386 §19.3; libwebp 'Premature "
                              "end-of-partition0 encountered')", source=source,
                              offset=int(br[0, BR_END]))
        raise DecodeError(f"premature end of token partition {part - 1} at macroblock "
                          f"({mb_x}, {mb_y}) (RFC 6386 §13; libwebp 'Premature end-of-file "
                          "encountered')", source=source, offset=int(br[part, BR_END]))
    ch, cw = (height + 1) // 2, (width + 1) // 2
    h["filter"] = ("none", "simple", "normal")[filter_type]
    h["version"] = version
    h["horizontal_scale"], h["vertical_scale"] = horizontal_scale, vertical_scale
    h["dequant_factors"] = dqm
    return Vp8Frame(width, height, ypl[:height, :width].astype(np.uint8),
                    upl[:ch, :cw].astype(np.uint8), vpl[:ch, :cw].astype(np.uint8),
                    warnings, h)
