"""WebP lossless (VP8L) bitstream decoder: RFC 9649 §3 (the "WebP Lossless Bitstream Format").

The decoding procedure, in the order the bitstream presents it:

1. **Header** (§3.2): signature byte 0x2f, 14-bit ``image_width - 1``, 14-bit
   ``image_height - 1``, 1-bit ``alpha_is_used`` (a hint only), 3-bit ``version_number`` = 0.
2. **Transforms** (§3.4, §3.5.1 "spatially-coded image"): while a 1-bit is read, a 2-bit
   transform type follows: PREDICTOR_TRANSFORM (0, §3.4.1), COLOR_TRANSFORM (1, §3.4.2),
   SUBTRACT_GREEN_TRANSFORM (2, §3.4.3), COLOR_INDEXING_TRANSFORM (3, §3.4.4). Each type may
   occur once (§3.4). Predictor and color transforms carry a sub-sampled *entropy-coded image*
   (``size_bits = ReadBits(3) + 2``), color indexing a ``color_table_size``-by-1 palette
   (delta-coded, §3.4.4) and reduces the coded width by pixel bundling.
3. **Color cache** (§3.5.2.2 / §3.6.2.3): 1 bit, then ``color_cache_code_bits`` (4 bits, 1..11).
4. **Meta prefix codes** (§3.6.2.2): 1 bit (level-0 image only), then ``prefix_bits =
   ReadBits(3) + 2`` and the entropy image whose red and green bytes give each tile's prefix
   code group.
5. **Prefix codes** (§3.7.2.1.1 simple code: 1 or 2 symbols; §3.7.2.1.2 normal code: code
   length code lengths in the order ``kCodeLengthCodeOrder``, ``max_symbol``, repeat codes 16,
   17, 18), five per group (green + length prefixes + cache indices, red, blue, alpha,
   distance prefixes), canonical codes (§3.7.2.1, as DEFLATE: first bit read = most significant
   bit of the code).
6. **Entropy-coded image data** (§3.5.2): per pixel a green symbol: < 256 a literal (then red,
   blue, alpha), < 256 + 24 an LZ77 backward reference (§3.5.2.2: length prefix + extra bits,
   distance prefix + extra bits, distance codes 1..120 through the 120-entry distance map),
   otherwise a color cache index (§3.5.2.3, hash ``(0x1e35a7bd * argb) >> (32 - bits)``).
7. **Inverse transforms** in the reverse order of reading (§3.4).

Bits are read least significant first from bytes in order (§3.3, ``ReadBits(n)``).

libwebp behaviours this decoder reproduces (libwebp 1.6.0 ``src/dec/vp8l_dec.c``,
``src/utils/huffman_utils.c``, ``src/utils/bit_reader_utils.c``, ``src/dsp/lossless.c``):

- A prefix code whose lengths leave the code incomplete or over-subscribed is refused; a code
  with exactly one used symbol (of any length 1..15) is a zero-bit code (BuildHuffmanTable's
  "special case code with only one value"); a code with no used symbol is refused. The code
  length code (19 symbols, lengths 0..7) follows the same rules.
- Simple-code symbols at or above the alphabet size (possible for the 40-symbol distance
  alphabet with an 8-bit symbol) are dropped, not refused (libwebp writes them to a scratch
  buffer beyond the alphabet); if no symbol remains the code is empty and refused.
- Predictor modes 14 and 15 (the spec lists 0..13) predict like mode 0 (``0xff000000``):
  libwebp pads its predictor table with PredictorAdd0 as "security sentinels".
- The color-indexing palette is expanded to ``1 << (8 >> bits)`` entries (256 without
  bundling); indices past ``color_table_size`` give transparent black 0x00000000.
- A backward distance code mapped through the distance map below 1 is clamped to 1 (§3.5.2.2,
  "dist < 1 can happen if xsize is very small"); a copy reaching before the first pixel or
  past the last is refused.
- End of stream (``VP8LIsEndOfStream``): reading past the end of the data returns zero bits
  and is an error once any such bit was *consumed*; the bit reader starts with a 64-bit window,
  so a stream shorter than 8 bytes may consume zero bits up to bit 64 (``limit_bits =
  max(64, 8 * len)``). In the 8-bit alpha path (ALPH with only a color-indexing transform, no
  color cache and single-symbol red/blue/alpha codes, libwebp's ``DecodeAlphaData``) an overrun
  by the *last* symbol is tolerated; ``lenient_last_symbol`` selects that.
- Meta prefix group indices that no tile uses are still read (and validated) but not stored.

Structure: every procedure is a ``register_jitable`` function, so the plain Python functions
are the specification and :data:`decode_image_stream_jit` (``njit(cache=True)`` of the same
:func:`decode_image_stream`) is the fast path; errors travel as integer codes in a state vector
(``S_*``) and :func:`raise_for_state` turns them into :class:`DecodeError`. Prefix codes live
in one growable int32 "pool" (``code_base[k]`` points at code k; layout in
:func:`build_prefix_code`) so memory grows with the data actually read, not with what a
hostile header announces.

Speed (measured on this machine, astronaut 500x375 crop, Pillow ``lossless=True``, methods 0,
4, 6): numba path ~24 ms after JIT warm-up vs Pillow ``Image.open().convert("RGBA")`` ~4 ms,
about 6x Pillow's time (tests/test_webp_lossless.py ``test_speed_ratio_reported`` prints it).
The plain Python path is for tiny images only (the tests compare it on images up to 64x48).
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.extending import register_jitable

from ...errors import DecodeError, LimitsExceeded, UnsupportedFeature

# ---------------------------------------------------------------------------------------------
# Constants
# ---------------------------------------------------------------------------------------------

VP8L_SIGNATURE = 0x2F  # §3.2: "a 1-byte signature 0x2f"
VP8L_HEADER_BYTES = 5  # §3.2: 8 + 14 + 14 + 1 + 3 = 40 bits
IMAGE_SIZE_BITS = 14  # §3.2: width - 1 and height - 1 as 14-bit values
VERSION_BITS = 3  # §3.2: version_number, must be 0

PREDICTOR_TRANSFORM = 0  # §3.4
COLOR_TRANSFORM = 1
SUBTRACT_GREEN_TRANSFORM = 2
COLOR_INDEXING_TRANSFORM = 3
NUM_TRANSFORMS = 4  # §3.4: each of the four types at most once
TRANSFORM_NAMES = {0: "predictor", 1: "color", 2: "subtract-green", 3: "color-indexing"}
MIN_TRANSFORM_BITS = 2  # §3.4.1: size_bits = ReadBits(3) + 2

NUM_LITERAL_CODES = 256  # §3.5.2: green / red / blue / alpha literal alphabets
NUM_LENGTH_CODES = 24  # §3.5.2.2: 24 length prefix codes
NUM_DISTANCE_CODES = 40  # §3.5.2.2: 40 distance prefix codes
MAX_CACHE_BITS = 11  # §3.5.2.3: color_cache_code_bits in 1..11
CODES_PER_GROUP = 5  # §3.6.2.2: green, red, blue, alpha, distance
GREEN, RED, BLUE, ALPHA, DIST = 0, 1, 2, 3, 4  # order of the five codes in a group (§3.7.2.2)
NUM_CODE_LENGTH_CODES = 19  # §3.7.2.1.2
CODE_LENGTH_CODE_ORDER = np.array(  # §3.7.2.1.2 kCodeLengthCodeOrder
    [17, 18, 0, 1, 2, 3, 4, 5, 16, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15], dtype=np.int64)
CODE_LENGTH_LITERALS = 16  # §3.7.2.1.2: symbols 0..15 are literal code lengths
CODE_LENGTH_REPEAT_PREVIOUS = 16  # repeat the previous non-zero length 3..6 times (2 bits)
CODE_LENGTH_EXTRA_BITS = np.array([2, 3, 7], dtype=np.int64)  # for symbols 16, 17, 18
CODE_LENGTH_REPEAT_OFFSETS = np.array([3, 3, 11], dtype=np.int64)  # 16: 3..6, 17: 3..10, 18: 11..138
DEFAULT_CODE_LENGTH = 8  # §3.7.2.1.2: "previous" code length before any non-zero one
MAX_CODE_LENGTH = 15  # §3.7.2.1.2: code lengths 0..15
CODE_LENGTH_CODE_BITS = 3  # §3.7.2.1.2: each code length code length is 3 bits (0..7)
# Fast decoding resolves codes of up to 8 bits with one look-up (libwebp's HUFFMAN_TABLE_BITS);
# longer codes finish with the canonical bit-by-bit procedure.
ROOT_BITS = 8
PEEK_BITS = 24  # enough for any single read: prefix codes <= 15 bits, extra bits <= 18
COLOR_CACHE_MULTIPLIER = 0x1E35A7BD  # §3.5.2.3 hash multiplier
ARGB_BLACK = 0xFF000000  # §3.4.1 predictor mode 0
NUM_DISTANCE_MAP = 120  # §3.5.2.2: distance codes 1..120 use the map, larger ones are dist - 120
U32 = 0xFFFFFFFF
# libwebp VP8LInitBitReader loads min(8, len) bytes into its 64-bit window: a stream shorter
# than 8 bytes reads zero bits up to bit 64 before end of stream is flagged.
BIT_WINDOW = 64

# §3.5.2.2 distance map: (xi, yi) pairs as libwebp's kCodeToPlane bytes (yi << 4) | (8 - xi).
DISTANCE_MAP = np.array([
    0x18, 0x07, 0x17, 0x19, 0x28, 0x06, 0x27, 0x29, 0x16, 0x1a,
    0x26, 0x2a, 0x38, 0x05, 0x37, 0x39, 0x15, 0x1b, 0x36, 0x3a,
    0x25, 0x2b, 0x48, 0x04, 0x47, 0x49, 0x14, 0x1c, 0x35, 0x3b,
    0x46, 0x4a, 0x24, 0x2c, 0x58, 0x45, 0x4b, 0x34, 0x3c, 0x03,
    0x57, 0x59, 0x13, 0x1d, 0x56, 0x5a, 0x23, 0x2d, 0x44, 0x4c,
    0x55, 0x5b, 0x33, 0x3d, 0x68, 0x02, 0x67, 0x69, 0x12, 0x1e,
    0x66, 0x6a, 0x22, 0x2e, 0x54, 0x5c, 0x43, 0x4d, 0x65, 0x6b,
    0x32, 0x3e, 0x78, 0x01, 0x77, 0x79, 0x53, 0x5d, 0x11, 0x1f,
    0x64, 0x6c, 0x42, 0x4e, 0x76, 0x7a, 0x21, 0x2f, 0x75, 0x7b,
    0x31, 0x3f, 0x63, 0x6d, 0x52, 0x5e, 0x00, 0x74, 0x7c, 0x41,
    0x4f, 0x10, 0x20, 0x62, 0x6e, 0x30, 0x73, 0x7d, 0x51, 0x5f,
    0x40, 0x72, 0x7e, 0x61, 0x6f, 0x50, 0x71, 0x7f, 0x60, 0x70], dtype=np.int64)
DISTANCE_MAP_X_CENTER = 8  # xi = 8 - (entry & 0xf)

# State vector indices.
S_BITPOS = 0  # bits consumed so far
S_LIMIT = 1  # bits available (max(BIT_WINDOW, 8 * len))
S_ERR = 2  # error code (0 = OK)
S_ERR_VALUE = 3  # the offending value
S_ERR_BITPOS = 4  # bit position where the error was detected
S_LENIENT = 5  # 1: tolerate an overrun by the last symbol (libwebp 8-bit alpha path)
S_NUM_TRANSFORMS = 6
S_TRANSFORM_TYPES = 7  # 4 slots: transform types in reading order
STATE_SIZE = 11

OK = 0
ERR_TRUNCATED = 1
ERR_TRANSFORM_REPEATED = 2
ERR_CACHE_BITS = 3
ERR_MAX_SYMBOL = 4
ERR_REPEAT_OVERFLOW = 5
ERR_CODE_LENGTH_CODE = 6
ERR_PREFIX_CODE = 7
ERR_BACKREF_DISTANCE = 8
ERR_BACKREF_LENGTH = 9
ERR_MEMORY = 10
ERROR_MESSAGES = {
    ERR_TRUNCATED: "truncated VP8L bitstream (bits consumed past the end of the data, §3.3)",
    ERR_TRANSFORM_REPEATED: "transform type used twice (§3.4: each transform at most once)",
    ERR_CACHE_BITS: "color_cache_code_bits outside 1..11 (§3.5.2.3)",
    ERR_MAX_SYMBOL: "max_symbol larger than the alphabet (§3.7.2.1.2)",
    ERR_REPEAT_OVERFLOW: "code length repeat runs past the alphabet (§3.7.2.1.2)",
    ERR_CODE_LENGTH_CODE: "code length code is empty, incomplete or over-subscribed (§3.7.2.1.2)",
    ERR_PREFIX_CODE: "prefix code is empty, incomplete or over-subscribed (§3.7.2.1)",
    ERR_BACKREF_DISTANCE: "backward reference distance reaches before the first pixel (§3.5.2.2)",
    ERR_BACKREF_LENGTH: "backward reference length runs past the last pixel (§3.5.2.2)",
    ERR_MEMORY: "internal table overflow",
}

POOL_INITIAL = 4096  # first size of the prefix-code pool (int32 entries); doubled as needed
CODE_HEADER = 2  # pool[b] = root bits (0 = one-symbol code), pool[b + 1] = max length
LONG_TABLES = 3 * (MAX_CODE_LENGTH + 1)  # first code, count, symbol offset per length


# ---------------------------------------------------------------------------------------------
# §3.3 Bit reader
# ---------------------------------------------------------------------------------------------


@register_jitable
def peek_bits(data, bitpos, n):
    """The next ``n`` (<= 24) bits at ``bitpos`` as ReadBits(n) would return them, without
    consuming them (§3.3: least significant bit first). Zero bits past the end of ``data``."""
    p = bitpos >> 3
    size = data.shape[0]
    v = 0
    if p + 4 <= size:
        v = (np.int64(data[p]) | (np.int64(data[p + 1]) << 8) | (np.int64(data[p + 2]) << 16)
             | (np.int64(data[p + 3]) << 24))
    else:
        for i in range(4):
            if p + i < size:
                v |= np.int64(data[p + i]) << (8 * i)
    return (v >> (bitpos & 7)) & ((1 << n) - 1)


@register_jitable
def read_bits(data, state, n):
    """§3.3 ReadBits(n): the next n (<= 24) bits, consumed."""
    v = peek_bits(data, state[S_BITPOS], n)
    state[S_BITPOS] += n
    return v


@register_jitable
def set_error(state, code, value):
    if state[S_ERR] == OK:
        state[S_ERR] = code
        state[S_ERR_VALUE] = value
        state[S_ERR_BITPOS] = state[S_BITPOS]


@register_jitable
def check_eos(state):
    """libwebp VP8LIsEndOfStream: any bit consumed past the limit is a truncated stream."""
    if state[S_BITPOS] > state[S_LIMIT]:
        set_error(state, ERR_TRUNCATED, state[S_BITPOS])
        return True
    return False


# ---------------------------------------------------------------------------------------------
# §3.7.2.1 Canonical prefix codes
# ---------------------------------------------------------------------------------------------


@register_jitable
def reverse_bits(code, length):
    r = 0
    for _ in range(length):
        r = (r << 1) | (code & 1)
        code >>= 1
    return r


@register_jitable
def ensure_pool(pool, need):
    """The pool with room for ``need`` entries (doubled copy when full)."""
    if need <= pool.shape[0]:
        return pool
    size = pool.shape[0] * 2
    while size < need:
        size *= 2
    bigger = np.zeros(size, dtype=np.int32)
    bigger[:pool.shape[0]] = pool
    return bigger


@register_jitable
def build_prefix_code(code_lengths, alphabet_size, pool, used):
    """§3.7.2.1: the canonical code of ``code_lengths[:alphabet_size]`` appended to ``pool`` at
    ``used``. Returns (pool, new_used, ok).

    Canonical codes as DEFLATE (RFC 1951 §3.2.2): ``next_code[len]`` starts at
    ``(next_code[len-1] + count[len-1]) << 1``; symbols of one length get consecutive codes in
    symbol order; the first bit read is the code's most significant bit. Refused (libwebp
    BuildHuffmanTable returns 0): no used symbol; an over-subscribed or incomplete code (Kraft
    sum != 1) unless exactly one symbol is used, which is then a zero-bit code.

    Pool layout at base b: ``[b]`` root bits R (0 for a one-symbol code), ``[b+1]`` max code
    length, ``[b+2 .. b+2+2^R)`` the look-up table indexed by the next R bits (entry =
    (length << 16) | symbol, or -1 when the code is longer than R), then, if max length > R,
    per length first code [16], count [16], offset into the sorted symbols [16], then the used
    symbols sorted by (length, symbol).
    """
    count = np.zeros(MAX_CODE_LENGTH + 1, dtype=np.int64)
    num_used = 0
    last_symbol = 0
    max_len = 0
    for s in range(alphabet_size):
        ln = code_lengths[s]
        count[ln] += 1
        if ln > 0:
            num_used += 1
            last_symbol = s
            if ln > max_len:
                max_len = ln
    if num_used == 0:
        return pool, used, False
    if num_used == 1:
        # libwebp "special case code with only one value": zero bits per symbol.
        pool = ensure_pool(pool, used + CODE_HEADER + 1)
        pool[used] = 0
        pool[used + 1] = 0
        pool[used + 2] = last_symbol
        return pool, used + CODE_HEADER + 1, True
    left = 1  # Kraft: unassigned code space at the current length
    for ln in range(1, MAX_CODE_LENGTH + 1):
        left = 2 * left - count[ln]
        if left < 0:
            return pool, used, False  # over-subscribed
    if left != 0:
        return pool, used, False  # incomplete
    root = max_len if max_len < ROOT_BITS else ROOT_BITS
    need = CODE_HEADER + (1 << root)
    if max_len > root:
        need += LONG_TABLES + num_used
    pool = ensure_pool(pool, used + need)
    b = used
    pool[b] = root
    pool[b + 1] = max_len
    lut = b + CODE_HEADER
    for i in range(1 << root):
        pool[lut + i] = -1
    next_code = np.zeros(MAX_CODE_LENGTH + 2, dtype=np.int64)
    sym_offset = np.zeros(MAX_CODE_LENGTH + 2, dtype=np.int64)
    code = 0
    for ln in range(1, MAX_CODE_LENGTH + 1):
        next_code[ln] = code
        code = (code + count[ln]) << 1
        sym_offset[ln + 1] = sym_offset[ln] + count[ln]
    longb = lut + (1 << root)
    if max_len > root:
        for ln in range(MAX_CODE_LENGTH + 1):
            pool[longb + ln] = next_code[ln]
            pool[longb + 16 + ln] = count[ln] if ln > 0 else 0
            pool[longb + 32 + ln] = sym_offset[ln]
    fill = np.zeros(MAX_CODE_LENGTH + 2, dtype=np.int64)
    for s in range(alphabet_size):
        ln = code_lengths[s]
        if ln == 0:
            continue
        c = next_code[ln] + fill[ln]
        if max_len > root:
            pool[longb + LONG_TABLES + sym_offset[ln] + fill[ln]] = s
        fill[ln] += 1
        if ln <= root:
            r = reverse_bits(c, ln)
            step = 1 << ln
            for k in range(r, 1 << root, step):
                pool[lut + k] = (ln << 16) | s
    return pool, used + need, True


@register_jitable
def decode_symbol(pool, b, bits):
    """Decode one symbol of the code at pool[b] from ``bits`` (the next >= 15 bits, first bit
    least significant). Returns (symbol, code length). The code is complete, so some length
    always matches."""
    root = np.int64(pool[b])
    entry = np.int64(pool[b + CODE_HEADER + (bits & ((1 << root) - 1))])
    if entry >= 0:
        return entry & 0xFFFF, entry >> 16
    # Canonical bit-by-bit decoding (RFC 1951 §3.2.2 order) for codes longer than ROOT_BITS.
    longb = b + CODE_HEADER + (1 << root)
    code = 0
    for ln in range(1, MAX_CODE_LENGTH + 1):
        code = (code << 1) | ((bits >> (ln - 1)) & 1)
        first = np.int64(pool[longb + ln])
        if code - first < pool[longb + 16 + ln]:
            return np.int64(pool[longb + LONG_TABLES + pool[longb + 32 + ln] + code - first]), ln
    return 0, MAX_CODE_LENGTH  # not reached for a complete code


@register_jitable
def read_symbol(data, state, pool, b):
    """Decode and consume one prefix-coded symbol."""
    sym, ln = decode_symbol(pool, b, peek_bits(data, state[S_BITPOS], MAX_CODE_LENGTH))
    state[S_BITPOS] += ln
    return sym


@register_jitable
def read_code_lengths(data, state, cl_lengths, num_symbols, code_lengths):
    """§3.7.2.1.2: the code lengths of a normal code, coded with the code length code.

        if ReadBits(1): length_nbits = 2 + 2 * ReadBits(3); max_symbol = 2 + ReadBits(length_nbits)
        else: max_symbol = num_symbols
        then up to max_symbol code length codes: 0..15 literal lengths, 16 repeat the previous
        non-zero length (initially 8) 3 + ReadBits(2) times, 17 zeros 3 + ReadBits(3) times,
        18 zeros 11 + ReadBits(7) times.
    """
    small = np.zeros(CODE_HEADER + (1 << ROOT_BITS) + LONG_TABLES + NUM_CODE_LENGTH_CODES,
                     dtype=np.int32)
    small, _, ok = build_prefix_code(cl_lengths, NUM_CODE_LENGTH_CODES, small, 0)
    if not ok:
        set_error(state, ERR_CODE_LENGTH_CODE, 0)
        return False
    if read_bits(data, state, 1):
        length_nbits = 2 + 2 * read_bits(data, state, 3)
        max_symbol = 2 + read_bits(data, state, length_nbits)
        if max_symbol > num_symbols:
            set_error(state, ERR_MAX_SYMBOL, max_symbol)
            return False
    else:
        max_symbol = num_symbols
    prev_code_len = DEFAULT_CODE_LENGTH
    symbol = 0
    while symbol < num_symbols:
        if max_symbol == 0:
            break
        max_symbol -= 1
        code_len = read_symbol(data, state, small, 0)
        if code_len < CODE_LENGTH_LITERALS:
            code_lengths[symbol] = code_len
            symbol += 1
            if code_len != 0:
                prev_code_len = code_len
        else:
            slot = code_len - CODE_LENGTH_LITERALS
            repeat = (read_bits(data, state, CODE_LENGTH_EXTRA_BITS[slot])
                      + CODE_LENGTH_REPEAT_OFFSETS[slot])
            if symbol + repeat > num_symbols:
                set_error(state, ERR_REPEAT_OVERFLOW, symbol + repeat)
                return False
            length = prev_code_len if code_len == CODE_LENGTH_REPEAT_PREVIOUS else 0
            for _ in range(repeat):
                code_lengths[symbol] = length
                symbol += 1
        if state[S_BITPOS] > state[S_LIMIT]:
            break  # end of stream: stop early, reported by the caller
    return True


@register_jitable
def read_prefix_code(data, state, alphabet_size, code_lengths, pool, used):
    """§3.7.2.1: one prefix code (simple or normal), appended to the pool.

    Simple code (§3.7.2.1.1): num_symbols = ReadBits(1) + 1; is_first_8bits = ReadBits(1);
    symbol0 = ReadBits(1 + 7 * is_first_8bits); symbol1 = ReadBits(8) if two symbols; each
    used symbol gets length 1 (so one symbol, or the same symbol twice, is a zero-bit code).
    Returns (pool, new_used, ok).
    """
    for i in range(alphabet_size):
        code_lengths[i] = 0
    if read_bits(data, state, 1):  # simple_code
        num_symbols = read_bits(data, state, 1) + 1
        first_bits = 8 if read_bits(data, state, 1) else 1
        s0 = read_bits(data, state, first_bits)
        if s0 < alphabet_size:  # libwebp: symbols past the alphabet land in a scratch area
            code_lengths[s0] = 1
        if num_symbols == 2:
            s1 = read_bits(data, state, 8)
            if s1 < alphabet_size:
                code_lengths[s1] = 1
    else:
        cl_lengths = np.zeros(NUM_CODE_LENGTH_CODES, dtype=np.int64)
        num_codes = read_bits(data, state, 4) + 4  # §3.7.2.1.2: 4..19 code length codes
        for i in range(num_codes):
            cl_lengths[CODE_LENGTH_CODE_ORDER[i]] = read_bits(data, state, CODE_LENGTH_CODE_BITS)
        if not read_code_lengths(data, state, cl_lengths, alphabet_size, code_lengths):
            return pool, used, False
    if check_eos(state):
        return pool, used, False
    pool, new_used, ok = build_prefix_code(code_lengths, alphabet_size, pool, used)
    if not ok:
        set_error(state, ERR_PREFIX_CODE, alphabet_size)
    return pool, new_used, ok


@register_jitable
def read_prefix_codes(data, state, cache_bits, group_of_index, num_groups_max, num_slots):
    """§3.6.2.2, §3.7.2.2: ``num_groups_max`` groups of five prefix codes. Group ``i`` is
    stored at slot ``group_of_index[i]`` (-1: no tile uses it; read, validated and dropped).
    Returns (pool, code_base[num_slots * 5], ok)."""
    code_base = np.zeros(num_slots * CODES_PER_GROUP, dtype=np.int64)
    pool = np.zeros(POOL_INITIAL, dtype=np.int32)
    used = 0
    green_size = NUM_LITERAL_CODES + NUM_LENGTH_CODES + ((1 << cache_bits) if cache_bits > 0 else 0)
    code_lengths = np.zeros(green_size, dtype=np.int64)
    for i in range(num_groups_max):
        slot = group_of_index[i]
        for j in range(CODES_PER_GROUP):
            if j == GREEN:
                size = green_size
            elif j == DIST:
                size = NUM_DISTANCE_CODES
            else:
                size = NUM_LITERAL_CODES
            start = used
            pool, used, ok = read_prefix_code(data, state, size, code_lengths, pool, used)
            if not ok:
                return pool, code_base, False
            if slot >= 0:
                code_base[slot * CODES_PER_GROUP + j] = start
            else:
                used = start  # unused group: drop its tables
    return pool, code_base, True


# ---------------------------------------------------------------------------------------------
# §3.5.2 Entropy-coded image data
# ---------------------------------------------------------------------------------------------


@register_jitable
def prefix_value(data, state, prefix_code):
    """§3.5.2.2: length or distance from its prefix code plus extra bits.

        if prefix_code < 4: return prefix_code + 1
        extra_bits = (prefix_code - 2) >> 1; offset = (2 + (prefix_code & 1)) << extra_bits
        return offset + ReadBits(extra_bits) + 1
    """
    if prefix_code < 4:
        return prefix_code + 1
    extra_bits = (prefix_code - 2) >> 1
    offset = (2 + (prefix_code & 1)) << extra_bits
    return offset + read_bits(data, state, extra_bits) + 1


@register_jitable
def plane_code_to_distance(xsize, dist_code):
    """§3.5.2.2 distance mapping: codes 1..120 through the distance map (clamped to >= 1),
    larger ones minus 120."""
    if dist_code > NUM_DISTANCE_MAP:
        return dist_code - NUM_DISTANCE_MAP
    entry = DISTANCE_MAP[dist_code - 1]
    yoffset = entry >> 4
    xoffset = DISTANCE_MAP_X_CENTER - (entry & 0xF)
    dist = yoffset * xsize + xoffset
    return dist if dist >= 1 else 1


@register_jitable
def decode_pixels(data, state, xsize, ysize, cache_bits, pool, code_base, meta, meta_bits,
                  meta_xsize, out, lenient):
    """§3.5.2: decode xsize * ysize ARGB pixels into ``out``. Returns True on success.

    Per pixel: the group is meta[(y >> meta_bits) * meta_xsize + (x >> meta_bits)] (group 0
    when meta_bits == 0); S = green symbol; S < 256: literal ARGB (red, blue, alpha follow);
    S < 280: backward reference (length prefix S - 256 and its extra bits, then the distance
    prefix and its extra bits); else color cache index S - 280. Every decoded pixel enters the
    color cache (libwebp inserts lazily, before a look-up and at row ends: the same contents).
    """
    total = xsize * ysize
    cache_size = (1 << cache_bits) if cache_bits > 0 else 0
    cache = np.zeros(cache_size if cache_size > 0 else 1, dtype=np.uint32)
    cache_shift = 32 - cache_bits
    last_cached = 0
    limit = state[S_LIMIT]
    pos = 0
    x = 0
    y = 0
    while pos < total:
        if meta_bits > 0:
            g = meta[(y >> meta_bits) * meta_xsize + (x >> meta_bits)] * CODES_PER_GROUP
        else:
            g = 0
        code = read_symbol(data, state, pool, code_base[g + GREEN])
        if code < NUM_LITERAL_CODES:
            red = read_symbol(data, state, pool, code_base[g + RED])
            blue = read_symbol(data, state, pool, code_base[g + BLUE])
            alpha = read_symbol(data, state, pool, code_base[g + ALPHA])
            out[pos] = (alpha << 24) | (red << 16) | (code << 8) | blue
            pos += 1
            x += 1
            if x >= xsize:
                x = 0
                y += 1
        elif code < NUM_LITERAL_CODES + NUM_LENGTH_CODES:
            length = prefix_value(data, state, code - NUM_LITERAL_CODES)
            dist_symbol = read_symbol(data, state, pool, code_base[g + DIST])
            dist = plane_code_to_distance(xsize, prefix_value(data, state, dist_symbol))
            if state[S_BITPOS] > limit:
                break
            if pos < dist:
                set_error(state, ERR_BACKREF_DISTANCE, dist)
                return False
            if total - pos < length:
                set_error(state, ERR_BACKREF_LENGTH, length)
                return False
            for i in range(length):  # overlapping copy: one pixel at a time
                out[pos + i] = out[pos + i - dist]
            pos += length
            x += length
            while x >= xsize:
                x -= xsize
                y += 1
        else:
            key = code - (NUM_LITERAL_CODES + NUM_LENGTH_CODES)
            while last_cached < pos:
                argb = np.int64(out[last_cached])
                cache[((argb * COLOR_CACHE_MULTIPLIER) & U32) >> cache_shift] = argb
                last_cached += 1
            out[pos] = cache[key]
            pos += 1
            x += 1
            if x >= xsize:
                x = 0
                y += 1
        if cache_size > 0:
            while last_cached < pos:
                argb = np.int64(out[last_cached])
                cache[((argb * COLOR_CACHE_MULTIPLIER) & U32) >> cache_shift] = argb
                last_cached += 1
        if state[S_BITPOS] > limit:
            if not (lenient and pos >= total):
                break
    if state[S_BITPOS] > limit:
        if not (lenient and pos >= total):
            set_error(state, ERR_TRUNCATED, state[S_BITPOS])
            return False
    return True


@register_jitable
def read_cache_bits(data, state):
    """§3.5.2.3: 1 bit, then color_cache_code_bits (4 bits) in 1..11. Returns -1 on error."""
    if read_bits(data, state, 1):
        bits = read_bits(data, state, 4)
        if bits < 1 or bits > MAX_CACHE_BITS:
            set_error(state, ERR_CACHE_BITS, bits)
            return -1
        return bits
    return 0


@register_jitable
def decode_entropy_image(data, state, xsize, ysize):
    """§3.6.2 an entropy-coded sub-image (transform data, palette, meta prefix image): color
    cache bits, one group of prefix codes (no meta codes), pixels. Empty array on error."""
    empty = np.zeros(0, dtype=np.uint32)
    cache_bits = read_cache_bits(data, state)
    if cache_bits < 0:
        return empty
    one = np.zeros(1, dtype=np.int64)
    pool, code_base, ok = read_prefix_codes(data, state, cache_bits, one, 1, 1)
    if not ok:
        return empty
    out = np.zeros(xsize * ysize, dtype=np.uint32)
    dummy = np.zeros(1, dtype=np.int64)
    if not decode_pixels(data, state, xsize, ysize, cache_bits, pool, code_base, dummy, 0, 1,
                         out, False):
        return empty
    return out


@register_jitable
def subsample_size(size, bits):
    """libwebp VP8LSubSampleSize: ceil(size / 2^bits) (§3.4.1 DIV_ROUND_UP)."""
    return (size + (1 << bits) - 1) >> bits


# ---------------------------------------------------------------------------------------------
# §3.4 Inverse transforms
# ---------------------------------------------------------------------------------------------


@register_jitable
def average2(a, b):
    """§3.4.1 Average2 per channel: floor((a + b) / 2), on packed ARGB."""
    return (((a ^ b) & 0xFEFEFEFE) >> 1) + (a & b)


@register_jitable
def clip255(v):
    return 0 if v < 0 else (255 if v > 255 else v)


@register_jitable
def select(t, l, tl):
    """§3.4.1 Select: predict = L + T - TL; pL = sum |predict - L| = sum |T - TL|,
    pT = sum |L - TL|; return L if pL < pT else T (libwebp Select, a = T, b = L, c = TL)."""
    p_l = 0
    p_t = 0
    for sh in range(0, 32, 8):
        p_l += abs(((t >> sh) & 0xFF) - ((tl >> sh) & 0xFF))
        p_t += abs(((l >> sh) & 0xFF) - ((tl >> sh) & 0xFF))
    return l if p_l < p_t else t


@register_jitable
def clamp_add_subtract_full(a, b, c):
    """§3.4.1 ClampAddSubtractFull: per channel clip(a + b - c)."""
    r = 0
    for sh in range(0, 32, 8):
        r |= clip255(((a >> sh) & 0xFF) + ((b >> sh) & 0xFF) - ((c >> sh) & 0xFF)) << sh
    return r


@register_jitable
def clamp_add_subtract_half(a, b):
    """§3.4.1 ClampAddSubtractHalf: per channel clip(a + (a - b) / 2), C division (toward 0)."""
    r = 0
    for sh in range(0, 32, 8):
        ca = (a >> sh) & 0xFF
        d = ca - ((b >> sh) & 0xFF)
        half = d // 2 if d >= 0 else -((-d) // 2)
        r |= clip255(ca + half) << sh
    return r


@register_jitable
def predict(mode, l, t, tr, tl):
    """§3.4.1 the 14 predictors (modes 14 and 15 as 0, like libwebp)."""
    if mode == 1:
        return l
    if mode == 2:
        return t
    if mode == 3:
        return tr
    if mode == 4:
        return tl
    if mode == 5:
        return average2(average2(l, tr), t)
    if mode == 6:
        return average2(l, tl)
    if mode == 7:
        return average2(l, t)
    if mode == 8:
        return average2(tl, t)
    if mode == 9:
        return average2(t, tr)
    if mode == 10:
        return average2(average2(l, tl), average2(t, tr))
    if mode == 11:
        return select(t, l, tl)
    if mode == 12:
        return clamp_add_subtract_full(l, t, tl)
    if mode == 13:
        return clamp_add_subtract_half(average2(l, t), tl)
    return ARGB_BLACK  # mode 0 (and 14, 15)


@register_jitable
def add_pixels(a, b):
    """Per-channel addition modulo 256 (§3.4.1: residual + prediction)."""
    ag = ((a & 0xFF00FF00) + (b & 0xFF00FF00)) & 0xFF00FF00
    rb = ((a & 0x00FF00FF) + (b & 0x00FF00FF)) & 0x00FF00FF
    return ag | rb


@register_jitable
def inverse_predictor(pix, xsize, ysize, bits, tdata):
    """§3.4.1 in place. Top row: pixel 0 predicts 0xff000000 (mode 0), the rest L (mode 1);
    left column: T (mode 2); elsewhere the tile's mode ``(tdata >> 8) & 0xf``. The top-right
    of the rightmost pixel is the leftmost pixel of the current row (flat index y*w - w + w)."""
    if xsize * ysize == 0:
        return
    tiles_x = subsample_size(xsize, bits)
    pix[0] = add_pixels(np.int64(pix[0]), ARGB_BLACK)
    for x in range(1, xsize):
        pix[x] = add_pixels(np.int64(pix[x]), np.int64(pix[x - 1]))
    for y in range(1, ysize):
        row = y * xsize
        pix[row] = add_pixels(np.int64(pix[row]), np.int64(pix[row - xsize]))
        trow = (y >> bits) * tiles_x
        for x in range(1, xsize):
            i = row + x
            mode = (np.int64(tdata[trow + (x >> bits)]) >> 8) & 0xF
            p = predict(mode, np.int64(pix[i - 1]), np.int64(pix[i - xsize]), np.int64(pix[i - xsize + 1]),
                        np.int64(pix[i - xsize - 1]))
            pix[i] = add_pixels(np.int64(pix[i]), p)


@register_jitable
def int8(v):
    v &= 0xFF
    return v - 256 if v >= 128 else v


@register_jitable
def color_transform_delta(t, c):
    """§3.4.2 ColorTransformDelta(t, c) = (int8(t) * int8(c)) >> 5 (arithmetic shift)."""
    return (int8(t) * int8(c)) >> 5


@register_jitable
def inverse_color_transform(pix, xsize, ysize, bits, tdata):
    """§3.4.2 in place: red += delta(green_to_red, green); blue += delta(green_to_blue, green)
    + delta(red_to_blue, new red); the tile's ColorTransformElement is (red_to_blue,
    green_to_blue, green_to_red) in its (red, green, blue) bytes."""
    tiles_x = subsample_size(xsize, bits)
    for y in range(ysize):
        trow = (y >> bits) * tiles_x
        for x in range(xsize):
            e = np.int64(tdata[trow + (x >> bits)])
            green_to_red = e & 0xFF
            green_to_blue = (e >> 8) & 0xFF
            red_to_blue = (e >> 16) & 0xFF
            i = y * xsize + x
            argb = np.int64(pix[i])
            green = (argb >> 8) & 0xFF
            red = (((argb >> 16) & 0xFF) + color_transform_delta(green_to_red, green)) & 0xFF
            blue = argb & 0xFF
            blue = (blue + color_transform_delta(green_to_blue, green)
                    + color_transform_delta(red_to_blue, red)) & 0xFF
            pix[i] = (argb & 0xFF00FF00) | (red << 16) | blue


@register_jitable
def inverse_subtract_green(pix):
    """§3.4.3: red += green, blue += green (mod 256)."""
    for i in range(pix.shape[0]):
        argb = np.int64(pix[i])
        green = (argb >> 8) & 0xFF
        red = (((argb >> 16) & 0xFF) + green) & 0xFF
        blue = ((argb & 0xFF) + green) & 0xFF
        pix[i] = (argb & 0xFF00FF00) | (red << 16) | blue


@register_jitable
def inverse_color_indexing(pix, packed_xsize, xsize, ysize, bits, palette):
    """§3.4.4: each packed pixel's green byte holds 2^bits indices of 8 >> bits bits, the first
    pixel in the least significant bits; ARGB = palette[index] (palette expanded to 256
    entries, zero past color_table_size). Returns the xsize * ysize image."""
    out = np.zeros(xsize * ysize, dtype=np.uint32)
    bits_per_index = 8 >> bits
    per_byte_mask = (1 << bits) - 1
    index_mask = (1 << bits_per_index) - 1
    for y in range(ysize):
        for x in range(xsize):
            g = (np.int64(pix[y * packed_xsize + (x >> bits)]) >> 8) & 0xFF
            idx = (g >> ((x & per_byte_mask) * bits_per_index)) & index_mask
            out[y * xsize + x] = palette[idx]
    return out


# ---------------------------------------------------------------------------------------------
# §3.5.1 the level-0 image stream
# ---------------------------------------------------------------------------------------------

PALETTE_SIZE = 256  # libwebp ExpandColorMap: room for every 8-bit index


def decode_image_stream(data, state, width, height):
    """Decode an image stream "without header" of ``width`` x ``height`` starting at bit
    state[S_BITPOS] (§3.5.1: transforms, color cache, meta prefix codes, prefix codes, data)
    and apply the inverse transforms. Returns the ARGB pixels (uint32, row-major), or an empty
    array with state[S_ERR] set."""
    empty = np.zeros(0, dtype=np.uint32)
    types = np.zeros(NUM_TRANSFORMS, dtype=np.int64)
    t_bits = np.zeros(NUM_TRANSFORMS, dtype=np.int64)
    t_xsize = np.zeros(NUM_TRANSFORMS, dtype=np.int64)
    t_off = np.zeros(NUM_TRANSFORMS + 1, dtype=np.int64)
    tdata = np.zeros(0, dtype=np.uint32)
    n = 0
    seen = 0
    xsize = width
    while read_bits(data, state, 1):  # §3.4: transform_present
        ttype = read_bits(data, state, 2)
        if seen & (1 << ttype):
            set_error(state, ERR_TRANSFORM_REPEATED, ttype)
            return empty
        seen |= 1 << ttype
        types[n] = ttype
        t_xsize[n] = xsize
        sub = np.zeros(0, dtype=np.uint32)
        if ttype == PREDICTOR_TRANSFORM or ttype == COLOR_TRANSFORM:
            b = read_bits(data, state, 3) + MIN_TRANSFORM_BITS
            t_bits[n] = b
            sub = decode_entropy_image(data, state, subsample_size(xsize, b),
                                       subsample_size(height, b))
            if state[S_ERR] != OK:
                return empty
        elif ttype == COLOR_INDEXING_TRANSFORM:
            num_colors = read_bits(data, state, 8) + 1  # §3.4.4 color_table_size
            if num_colors > 16:
                b = 0
            elif num_colors > 4:
                b = 1
            elif num_colors > 2:
                b = 2
            else:
                b = 3
            t_bits[n] = b
            raw = decode_entropy_image(data, state, num_colors, 1)
            if state[S_ERR] != OK:
                return empty
            # §3.4.4: the color table is delta-coded per channel; expanded with zeros.
            sub = np.zeros(PALETTE_SIZE, dtype=np.uint32)
            prev = 0
            for i in range(num_colors):
                prev = add_pixels(np.int64(raw[i]), prev)
                sub[i] = prev
            xsize = subsample_size(xsize, b)
        tdata = np.concatenate((tdata, sub))
        t_off[n + 1] = tdata.shape[0]
        n += 1
    state[S_NUM_TRANSFORMS] = n
    for i in range(n):
        state[S_TRANSFORM_TYPES + i] = types[i]

    cache_bits = read_cache_bits(data, state)
    if cache_bits < 0:
        return empty
    # §3.6.2.2 meta prefix codes
    meta_bits = 0
    meta_xsize = 1
    meta = np.zeros(1, dtype=np.int64)
    num_groups_max = 1
    group_of_index = np.zeros(1, dtype=np.int64)
    num_slots = 1
    if read_bits(data, state, 1):
        meta_bits = read_bits(data, state, 3) + MIN_TRANSFORM_BITS
        meta_xsize = subsample_size(xsize, meta_bits)
        meta_ysize = subsample_size(height, meta_bits)
        img = decode_entropy_image(data, state, meta_xsize, meta_ysize)
        if state[S_ERR] != OK:
            return empty
        meta = np.zeros(img.shape[0], dtype=np.int64)
        for i in range(img.shape[0]):
            grp = (np.int64(img[i]) >> 8) & 0xFFFF  # §3.6.2.2: red and green bytes
            meta[i] = grp
            if grp + 1 > num_groups_max:
                num_groups_max = grp + 1
        # Slots only for the groups some tile uses, numbered by first use.
        group_of_index = np.full(num_groups_max, -1, dtype=np.int64)
        num_slots = 0
        for i in range(meta.shape[0]):
            grp = meta[i]
            if group_of_index[grp] < 0:
                group_of_index[grp] = num_slots
                num_slots += 1
            meta[i] = group_of_index[grp]
    if check_eos(state):
        return empty
    pool, code_base, ok = read_prefix_codes(data, state, cache_bits, group_of_index,
                                            num_groups_max, num_slots)
    if not ok:
        return empty
    # libwebp's 8-bit alpha path (DecodeAlphaData) tolerates an overrun by the last symbol; it
    # is taken for one color-indexing transform, no color cache and one-symbol red, blue and
    # alpha codes in every group (Is8bOptimizable).
    lenient = state[S_LENIENT] != 0 and n == 1 and types[0] == COLOR_INDEXING_TRANSFORM \
        and cache_bits == 0
    if lenient:
        for slot in range(num_slots):
            for j in (RED, BLUE, ALPHA):
                if pool[code_base[slot * CODES_PER_GROUP + j]] != 0:
                    lenient = False
    pix = np.zeros(xsize * height, dtype=np.uint32)
    if not decode_pixels(data, state, xsize, height, cache_bits, pool, code_base, meta,
                         meta_bits, meta_xsize, pix, lenient):
        return empty
    # §3.4 inverse transforms, last read first
    for k in range(n - 1, -1, -1):
        td = tdata[t_off[k]:t_off[k + 1]]
        if types[k] == PREDICTOR_TRANSFORM:
            inverse_predictor(pix, t_xsize[k], height, t_bits[k], td)
        elif types[k] == COLOR_TRANSFORM:
            inverse_color_transform(pix, t_xsize[k], height, t_bits[k], td)
        elif types[k] == SUBTRACT_GREEN_TRANSFORM:
            inverse_subtract_green(pix)
        else:
            pix = inverse_color_indexing(pix, subsample_size(t_xsize[k], t_bits[k]), t_xsize[k],
                                         height, t_bits[k], td)
    return pix


# Same source, compiled; cached on disk so only the first run pays the compilation.
decode_image_stream_jit = njit(cache=True)(decode_image_stream)


# ---------------------------------------------------------------------------------------------
# Python entry points
# ---------------------------------------------------------------------------------------------


def new_state(data_len: int, start_bit: int = 0, lenient_last_symbol: bool = False) -> np.ndarray:
    state = np.zeros(STATE_SIZE, dtype=np.int64)
    state[S_BITPOS] = start_bit
    state[S_LIMIT] = max(BIT_WINDOW, 8 * data_len)
    state[S_LENIENT] = 1 if lenient_last_symbol else 0
    return state


def raise_for_state(state: np.ndarray, source: str, base_offset: int = 0) -> None:
    """Turn a non-zero state error code into a DecodeError at the byte of the failing bit."""
    code = int(state[S_ERR])
    if code == OK:
        return
    bit = int(state[S_ERR_BITPOS])
    msg = ERROR_MESSAGES.get(code, f"VP8L error {code}")
    raise DecodeError(f"{msg} (value {int(state[S_ERR_VALUE])}, bit {bit})", source=source,
                      offset=base_offset + min(bit >> 3, int(state[S_LIMIT]) >> 3))


def decode_image_stream_argb(data: bytes, width: int, height: int, *, source: str = "<bytes>",
                             start_bit: int = 0, use_numba: bool = True,
                             lenient_last_symbol: bool = False, base_offset: int = 0,
                             state: np.ndarray | None = None) -> np.ndarray:
    """The level-0 image stream of ``width`` x ``height`` (no VP8L header: §3.5.1, as the ALPH
    chunk uses it) to an (height, width) uint32 ARGB array. ``lenient_last_symbol`` tolerates
    an overrun by the final symbol (libwebp's 8-bit alpha path, see the module docstring)."""
    buf = np.frombuffer(bytes(data), dtype=np.uint8)
    if state is None:
        state = new_state(len(buf), start_bit, lenient_last_symbol)
    fn = decode_image_stream_jit if use_numba else decode_image_stream
    try:
        pix = fn(buf, state, int(width), int(height))
    except MemoryError:  # a hostile table or image size that passed max_pixels
        raise LimitsExceeded("VP8L tables need more memory than available", source=source)
    raise_for_state(state, source, base_offset)
    if pix.shape[0] != width * height:  # cannot happen without an error code; be explicit
        raise DecodeError("VP8L image stream decoded to the wrong size", source=source)
    return pix.reshape(height, width)


def read_vp8l_header(data: bytes, *, source: str = "<bytes>") -> tuple[int, int, bool]:
    """§3.2: (width, height, alpha_is_used) of a VP8L bitstream. libwebp VP8LCheckSignature /
    ReadImageInfo: signature 0x2f and version 0 required, 5 bytes needed."""
    if len(data) < VP8L_HEADER_BYTES:
        raise DecodeError(f"VP8L header needs {VP8L_HEADER_BYTES} bytes, got {len(data)}",
                          source=source, offset=0)
    if data[0] != VP8L_SIGNATURE:
        raise DecodeError(f"VP8L signature is 0x{data[0]:02x}, not 0x2f (§3.2)", source=source,
                          offset=0)
    bits = int.from_bytes(data[1:5], "little")
    width = (bits & ((1 << IMAGE_SIZE_BITS) - 1)) + 1
    height = ((bits >> IMAGE_SIZE_BITS) & ((1 << IMAGE_SIZE_BITS) - 1)) + 1
    alpha = bool((bits >> (2 * IMAGE_SIZE_BITS)) & 1)
    version = bits >> (2 * IMAGE_SIZE_BITS + 1)
    if version != 0:
        raise DecodeError(f"VP8L version_number {version}, must be 0 (§3.2)", source=source,
                          offset=4)
    return width, height, alpha


def argb_to_rgba(argb: np.ndarray) -> np.ndarray:
    """(H, W) uint32 ARGB to (H, W, 4) uint8 RGBA (libwebp WebPDecodeRGBA, non-premultiplied)."""
    a = argb.astype(np.uint32)
    out = np.empty(a.shape + (4,), dtype=np.uint8)
    out[..., 0] = (a >> 16) & 0xFF
    out[..., 1] = (a >> 8) & 0xFF
    out[..., 2] = a & 0xFF
    out[..., 3] = a >> 24
    return out


def decode_vp8l(data: bytes, *, source: str = "<bytes>", max_pixels: int = 1 << 28,
                use_numba: bool = True) -> np.ndarray:
    """Decode a VP8L bitstream (the VP8L chunk payload) to (H, W, 4) uint8 RGBA, as libwebp's
    WebPDecodeRGBA. Raises DecodeError, LimitsExceeded (width * height > max_pixels, checked
    before any allocation)."""
    data = bytes(data)
    width, height, _alpha = read_vp8l_header(data, source=source)
    if width * height > max_pixels:
        raise LimitsExceeded(f"VP8L image {width}x{height} has more than {max_pixels} pixels",
                             source=source)
    argb = decode_image_stream_argb(data, width, height, source=source,
                                    start_bit=8 * VP8L_HEADER_BYTES, use_numba=use_numba)
    return argb_to_rgba(argb)


__all__ = ["decode_vp8l", "decode_image_stream_argb", "read_vp8l_header", "argb_to_rgba",
           "UnsupportedFeature"]
