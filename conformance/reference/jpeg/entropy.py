"""Huffman entropy decoding of DCT scans: T.81 Annex C, F.2.2 (sequential), G.1.2 (progressive).

Three layers, each written as the standard's procedures with its names:

1. **Tables** (Annex C, F.2.2.3): from a DHT table's BITS and HUFFVAL build HUFFSIZE (Figure
   C.1), HUFFCODE (Figure C.2) and the decoder tables MINCODE, MAXCODE, VALPTR (Figure F.15).
   A table whose codes do not fit their lengths, or that uses an all-1-bits code word, is refused
   (the introduction of Annex C and K.2 reserve the all-1s code point; libjpeg-turbo's
   jdhuff.c jpeg_make_d_derived_tbl refuses the same tables).
2. **Bits** (F.2.2.4, F.2.2.5, F.1.2.3): NEXTBIT/RECEIVE over the entropy-coded segment (ECS),
   removing the zero byte stuffed after every 0xFF. A 0xFF followed by anything else is a marker
   and ends the ECS. The reader buffers up to 56 bits; past the end of the ECS it supplies zero
   bits and counts them (``S_FAKE``), so that using any of them is reported as truncated data.
3. **Blocks and scans**: DECODE (F.2.2.3), then per block one of

   - sequential DC + AC (F.2.2.1, F.2.2.2; Figures F.12 EXTEND, F.13, F.14),
   - progressive DC first / DC refinement (G.1.2.1),
   - progressive AC first with EOB runs (G.1.2.2) / AC refinement with correction bits (G.1.2.3),

   and the scan loop over MCUs with restart intervals (F.2.1.3.1 and G.1.2.2: DC predictions and
   EOBRUN are reset at the start of every restart interval; E.1.4 and B.1.1.5: RSTm markers
   with m counting modulo 8 separate the intervals).

DECODE has two forms. :func:`huffman_decode_spec` is Figure F.16 itself (one bit at a time
against MAXCODE): the plain reference. :func:`huffman_decode_lookup`, which the scan decoder
uses, looks the first ``LOOKAHEAD_BITS`` bits up in a table built from HUFFCODE/HUFFSIZE and
finishes longer codes with Figure F.16. Both are pure functions of the next 16 bits, and for a
table that passes the Annex C checks they agree on every one of the 2^16 inputs (the tests check
this exhaustively for every table of the test corpus and for random tables).

Strictness (this decoder is the oracle for "a conforming decoder rejects this"), every case a
non-zero error code that :func:`scan_error` turns into a DecodeError naming scan, MCU, component
and byte offset:

- the ECS ends (marker or end of file) before the last bit of the last MCU: truncated;
- a bit sequence that is no code of the table (F.2.2.3): bad Huffman code;
- a DC difference category above 11 or an AC category above 10 (Tables F.1, F.2 for 8-bit
  samples); a new coefficient of category other than 1 in an AC refinement scan (G.1.2.3);
- a zero run or ZRL that passes the end of the spectral band (Figure F.13 places a coefficient
  at K <= 63; a ZRL stands for 16 zero coefficients that must lie in the band);
- a coefficient value outside 16-bit two's complement (F.2.4.3 "signed two's complement 16-bit
  integer values"; no 8-bit FDCT output comes near it);
- an EOB run that reaches past the end of the restart interval or scan (G.1.2.2: the EOB run
  is "limited only by the restart interval");
- whole bytes between the end of an interval's last MCU and the next marker (B.1.1.5: an ECS is
  followed by a marker); the expected RSTm missing or out of sequence (E.1.4, B.2.1).

Accepted, counted in ``S_PAD_MISMATCHES`` and reported as a warning by the reader: padding bits
of an ECS's last byte that are not all 1-bits (F.1.2.3 asks for 1-bits; some encoders write 0s
and the coefficients are not affected).

Recovery (``state[S_RECOVER] = 1``, the decode knob ``on_corrupt="libjpeg-turbo"``): what
libjpeg-turbo 3 (jdhuff.c, jdphuff.c, jdmarker.c) outputs for damaged data, checked bit for bit
against Pillow and OpenCV on the damage classes of ``conformance.encoders.jpeg_damage``:

- **The data ends at a marker inside an MCU** (a scan cut short): the bits past the marker are
  zeros (jpeg_fill_bit_buffer "fill the buffer with zeroes"); the MCU that used one of them is
  finished with zero bits, and every later MCU of the restart interval is left as it was (zero
  coefficients in a first scan: flat mid-gray blocks; its earlier scans' values in a later
  progressive scan). Warning JWRN_HIT_MARKER "premature end of data segment". Data ending at the
  end of the *file* instead stays an error: Pillow's and OpenCV's data sources suspend there and
  both libraries fail.
- **Bytes before the marker after a segment's last MCU** (junk before EOI or before RSTm): skipped,
  JWRN_EXTRANEOUS_DATA.
- **Restart markers**: libjpeg's jpeg_resync_to_restart (:func:`resync_action`).
- **A zero run past the end of the band**: a coefficient coded at zig-zag position k > Se is
  stored at ``jpeg_natural_order[k]`` (position 63 for k >= 64: the table's 16 extra entries)
  and ends the block; a ZRL past the band ends it too. No warning.
- **Categories and ranges**: DC categories up to 15 and AC categories up to 15 are decoded
  (libjpeg checks neither; its table builder refuses DC symbols above 15), and coefficients are
  stored as 16-bit JCOEF (wrapped), the DC predictor kept in full.
- An EOB run longer than its interval or scan ends with it (process_restart sets EOBRUN = 0).
- **A bad Huffman code**: jpeg_huff_decode reads up to its sentinel MAXCODE(17), so 17 bits
  are consumed, and returns symbol 0 (a DC difference of 0, an AC EOB) with JWRN_HUFF_BAD_CODE
  (:func:`skip_bad_code`); a refinement symbol of size other than 1 is read as size 1.

Data that ends at the end of the file (not at a marker) stays an error in recovery too.

The per-scan loop :func:`decode_scan` is plain Python (the specification) and
:data:`decode_scan_jit` is the same function compiled by numba; the helpers are
``register_jitable`` so both run the same code. Between blocks the decoder state lives in one
int64 vector (indices ``S_*``); inside a block the bit reader is four local integers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit
from numba.extending import register_jitable

from ...errors import DecodeError
from .markers import marker_name
from .model import ZIGZAG

# ---------------------------------------------------------------------------------------------
# Constants
# ---------------------------------------------------------------------------------------------

MAX_CODE_LENGTH = 16  # Annex C: code lengths 1..16 (BITS has 16 entries)
# Fast DECODE resolves codes of up to 9 bits with one look-up (512 entries per table); in the
# Annex K tables and libjpeg's optimised ones nearly all codes that occur are that short.
LOOKAHEAD_BITS = 9
LOOKUP_SIZE = 1 << LOOKAHEAD_BITS
LOOKUP_LENGTH_SHIFT = 8  # a look-up entry is (code length << 8) | symbol; 0 = "longer code"
MAX_SYMBOLS = 256  # B.2.4.2: at most 256 symbols per table
TABLE_SLOTS = 8  # per scan: DC tables 0..3 at slots 0..3, AC tables 0..3 at slots 4..7
AC_SLOT_BASE = 4

MAX_DC_CATEGORY = 11  # Table F.1: DC difference categories 0..11 for 8-bit samples
MAX_AC_CATEGORY = 10  # Table F.2: AC coefficient categories 1..10 for 8-bit samples
# Recovery: libjpeg decodes any category its tables hold: DC symbols 0..15 (jdhuff.c
# jpeg_make_d_derived_tbl refuses larger ones), AC sizes SSSS 0..15 (the low nibble of RS).
RECOVER_MAX_CATEGORY = 15
ZRL_RUN = 15  # F.1.2.2.1: RRRR = 15 with SSSS = 0 codes a run of 16 zero coefficients (ZRL)
ZRL_LENGTH = 16
LAST_COEFFICIENT = 63  # zig-zag index of the last coefficient (Figure A.6)
COEFFICIENT_MIN, COEFFICIENT_MAX = -32768, 32767  # F.2.4.3: 16-bit two's complement values
RESTART_MODULUS = 8  # B.1.1.5/E.1.4: RST0..RST7 cycle modulo 8
RST0 = 0xD0

# The bit buffer holds at most 56 bits, so (acc << 8) | byte never leaves a signed 64-bit
# integer: it is topped up one byte at a time while it holds <= 48 bits.
ACC_FILL_LIMIT = 48
ACC_MASK = (1 << 56) - 1

# Scan kinds (the decoding procedure a scan uses).
SEQUENTIAL = 0  # F.2.2: Ss = 0, Se = 63, Ah = Al = 0
DC_FIRST = 1  # G.1.2.1, Ss = Se = 0, Ah = 0
DC_REFINE = 2  # G.1.2.1, Ss = Se = 0, Ah > 0
AC_FIRST = 3  # G.1.2.2, Ss > 0, Ah = 0
AC_REFINE = 4  # G.1.2.3, Ss > 0, Ah > 0
KIND_NAMES = {SEQUENTIAL: "sequential", DC_FIRST: "DC first", DC_REFINE: "DC refinement",
              AC_FIRST: "AC first", AC_REFINE: "AC refinement"}

# State vector: one int64 array shared by all procedures of a scan.
S_POS = 0  # offset of the next data byte to read into the bit buffer
S_ACC = 1  # bit buffer: its S_NBITS low bits are unread, first bit most significant
S_NBITS = 2  # unread bits in the buffer
S_FAKE = 3  # of those, how many are zero bits made up past the end of the ECS (always the last)
S_EOBRUN = 4  # G.1.2.2 EOBRUN: blocks still to skip in an AC scan
S_ERR_VALUE = 5  # the offending value of the last error (category, coefficient, marker, ...)
S_ERR_MCU = 6  # MCU index of the last error
S_ERR_BLOCK = 7  # block index within the MCU of the last error
S_PAD_MISMATCHES = 8  # ECS ends whose padding bits were not all 1 (F.1.2.3)
# libjpeg-turbo recovery (``on_corrupt="libjpeg-turbo"``, see "Recovery" in the docstring): the
# reader sets S_RECOVER = 1; the decoder keeps libjpeg's insufficient_data flag and counts what
# it repaired, for the reader's warnings.
S_RECOVER = 9
S_INSUFFICIENT = 10  # jdhuff.c insufficient_data: the MCUs left of the interval are not decoded
S_HIT_MARKER = 11  # times the data ended at a marker inside an MCU (JWRN_HIT_MARKER)
S_DISCARDED = 12  # bytes skipped before a marker (JWRN_EXTRANEOUS_DATA)
S_RESYNC = 13  # restart markers that were not the expected one (JWRN_MUST_RESYNC)
S_OVERRUN = 14  # coefficients coded past the end of the band (no warning in libjpeg)
S_LAST_GOOD_MCU = 15  # the last MCU begun with data left (libjpeg's last_good_iMCU_row)
S_BAD_REFINE = 16  # refinement symbols of size other than 1 (JWRN_HUFF_BAD_CODE)
S_BAD_CODE = 17  # bit sequences that are no code, decoded as symbol 0 (JWRN_HUFF_BAD_CODE)
STATE_SIZE = 18

# Error codes returned by the procedures (0 = success).
OK = 0
ERR_TRUNCATED = 1
ERR_BAD_CODE = 2
ERR_DC_CATEGORY = 3
ERR_AC_CATEGORY = 4
ERR_RUN_PAST_BAND = 5
ERR_REFINE_CATEGORY = 6
ERR_COEFFICIENT_RANGE = 7
ERR_EOBRUN_PAST_END = 8
ERR_EXTRANEOUS_DATA = 9
ERR_RESTART_MISSING = 10
ERR_RESTART_SEQUENCE = 11


# T.81 Annex K.3, Tables K.3-K.6: the example tables for 8-bit luminance (destination 0) and
# chrominance (destination 1), (Tc, Th) -> (BITS, HUFFVAL). libjpeg-turbo's std_huff_tables
# installs them in every sequential Huffman table slot 0 and 1 still undefined when decoding
# starts (jdhuff.c jinit_huff_decoder: "Motion JPEG frames typically do not include the Huffman
# tables"); recovery mode does the same. They are also what libjpeg writes without
# optimize_coding (checked against Pillow's output in the tests).
ANNEX_K_TABLES = {
    (0, 0): ((0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0), bytes(range(12))),  # Table K.3
    (0, 1): ((0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0), bytes(range(12))),  # Table K.4
    (1, 0): ((0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7D), bytes.fromhex(  # Table K.5
        "01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718"
        "191a25262728292a3435363738393a434445464748494a535455565758595a636465666768696a737475"
        "767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3"
        "c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9fa")),
    (1, 1): ((0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77), bytes.fromhex(  # Table K.6
        "000102031104052131061241510761711322328108144291a1b1c109233352f0156272d10a162434e125"
        "f11718191a262728292a35363738393a434445464748494a535455565758595a636465666768696a7374"
        "75767778797a82838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9ba"
        "c2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae2e3e4e5e6e7e8e9eaf2f3f4f5f6f7f8f9fa")),
}


# ---------------------------------------------------------------------------------------------
# Annex C: Huffman tables
# ---------------------------------------------------------------------------------------------


def generate_size_table(bits) -> list[int]:
    """Figure C.1: HUFFSIZE, the code length of each symbol in HUFFVAL order, then a 0.

    BITS(I) (I = 1..16, here ``bits[I - 1]``) codes have length I.
    """
    huffsize = []
    for i in range(1, MAX_CODE_LENGTH + 1):
        huffsize.extend([i] * bits[i - 1])
    huffsize.append(0)  # HUFFSIZE(LASTK) = 0 ends the list
    return huffsize


def generate_code_table(huffsize: list[int]) -> list[int]:
    """Figure C.2: HUFFCODE, canonical codes in order of increasing length and value.

    CODE starts at 0, increments per code, and doubles ("SLL CODE 1") each time the length grows.
    """
    huffcode = []
    k = 0
    code = 0
    si = huffsize[0]
    while huffsize[k] != 0:
        while huffsize[k] == si:
            huffcode.append(code)
            code += 1
            k += 1
        if huffsize[k] == 0:
            break
        while huffsize[k] != si:
            code <<= 1
            si += 1
    return huffcode


def code_space_problem(huffsize: list[int], huffcode: list[int]) -> str | None:
    """Why the canonical codes are not a valid JPEG Huffman code, or None.

    For each length SI the last code must fit in SI bits (else the counts in BITS exceed the code
    space: Kraft's inequality fails) and must not be all 1-bits: the introduction of Annex C and
    K.2 ("reserving one code point guarantees that no code word can ever be all 1 bits") reserve
    it, which keeps the 1-bit padding of F.1.2.3 from ever completing a code.
    """
    for k, (size, code) in enumerate(zip(huffsize, huffcode)):
        last_of_length = huffsize[k + 1] != size
        if code >= 1 << size:
            return (f"more codes than the code space allows: code {k + 1} needs length {size} but "
                    f"the shorter codes leave no {size}-bit code free (Annex C)")
        if last_of_length and code == (1 << size) - 1:
            return (f"code {k + 1} of length {size} is all 1-bits, a code point T.81 reserves "
                    "(Annex C, K.2)")
    return None


def decoder_tables(bits, huffcode: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Figure F.15: MINCODE(I), MAXCODE(I), VALPTR(I) for I = 1..16 (index 0 unused).

    MAXCODE(I) = -1 when there are no codes of length I, so DECODE never stops there.
    """
    mincode = np.zeros(MAX_CODE_LENGTH + 1, dtype=np.int32)
    maxcode = np.full(MAX_CODE_LENGTH + 1, -1, dtype=np.int32)
    valptr = np.zeros(MAX_CODE_LENGTH + 1, dtype=np.int32)
    j = 0
    for i in range(1, MAX_CODE_LENGTH + 1):
        if bits[i - 1] == 0:
            continue
        valptr[i] = j
        mincode[i] = huffcode[j]
        j += bits[i - 1] - 1
        maxcode[i] = huffcode[j]
        j += 1
    return mincode, maxcode, valptr


def lookup_table(huffsize: list[int], huffcode: list[int], huffval) -> np.ndarray:
    """The fast path's table: entry w (w = next LOOKAHEAD_BITS bits) is (length << 8) | symbol
    of the code that is a prefix of w, or 0 if every such code is longer than LOOKAHEAD_BITS."""
    table = np.zeros(LOOKUP_SIZE, dtype=np.int32)
    for size, code, value in zip(huffsize, huffcode, huffval):
        if size > LOOKAHEAD_BITS:
            break
        first = code << (LOOKAHEAD_BITS - size)
        table[first:first + (1 << (LOOKAHEAD_BITS - size))] = (size << LOOKUP_LENGTH_SHIFT) | value
    return table


@dataclass(frozen=True)
class HuffmanTable:
    """One decoding table: the DHT data and everything Annex C and F.2.2.3 derive from it."""

    tc: int  # 0 = DC, 1 = AC
    th: int
    bits: tuple[int, ...]
    huffval: np.ndarray  # int32, symbols in code order
    huffsize: tuple[int, ...]
    huffcode: tuple[int, ...]
    mincode: np.ndarray
    maxcode: np.ndarray
    valptr: np.ndarray
    lookup: np.ndarray


def build_huffman_table(tc: int, th: int, bits, huffval: bytes, *, source: str,
                        offset: int) -> HuffmanTable:
    """Annex C + Figure F.15 for one DHT table; DecodeError if the code is not valid."""
    huffsize = generate_size_table(bits)
    huffcode = generate_code_table(huffsize)
    problem = code_space_problem(huffsize, huffcode)
    if problem:
        kind = "DC" if tc == 0 else "AC"
        raise DecodeError(f"DHT: {kind} table {th}: {problem}", source=source, offset=offset)
    mincode, maxcode, valptr = decoder_tables(bits, huffcode)
    values = np.frombuffer(bytes(huffval), dtype=np.uint8).astype(np.int32)
    return HuffmanTable(tc=tc, th=th, bits=tuple(bits), huffval=values,
                        huffsize=tuple(huffsize[:-1]), huffcode=tuple(huffcode),
                        mincode=mincode, maxcode=maxcode, valptr=valptr,
                        lookup=lookup_table(huffsize, huffcode, values))


def stack_tables(dc: list[HuffmanTable | None], ac: list[HuffmanTable | None]) -> tuple:
    """The tables of a scan as the arrays the scan decoder takes: (lookup, maxcode, mincode,
    valptr, huffval), each with one row per slot (DC 0..3, then AC 0..3). Undefined tables are
    rows that decode nothing (MAXCODE = -1); the reader makes sure a scan never selects one."""
    lookup = np.zeros((TABLE_SLOTS, LOOKUP_SIZE), dtype=np.int32)
    maxcode = np.full((TABLE_SLOTS, MAX_CODE_LENGTH + 1), -1, dtype=np.int32)
    mincode = np.zeros((TABLE_SLOTS, MAX_CODE_LENGTH + 1), dtype=np.int32)
    valptr = np.zeros((TABLE_SLOTS, MAX_CODE_LENGTH + 1), dtype=np.int32)
    huffval = np.zeros((TABLE_SLOTS, MAX_SYMBOLS), dtype=np.int32)
    for slot, table in enumerate(list(dc) + list(ac)):
        if table is None:
            continue
        lookup[slot] = table.lookup
        maxcode[slot] = table.maxcode
        mincode[slot] = table.mincode
        valptr[slot] = table.valptr
        huffval[slot, :len(table.huffval)] = table.huffval
    return lookup, maxcode, mincode, valptr, huffval


# ---------------------------------------------------------------------------------------------
# Bits: F.2.2.5 NEXTBYTE/NEXTBIT, F.1.2.3 byte stuffing, F.2.2.4 RECEIVE
# ---------------------------------------------------------------------------------------------
#
# The bit reader is four integers that the procedures pass along by value (numba then keeps them
# in registers; an object or array would cost a memory round trip per bit operation):
#   pos   offset of the next data byte to read,
#   acc   the bit buffer: its ``nbits`` low bits are unread, the first of them most significant,
#   nbits the number of unread bits,
#   fake  how many of the unread bits are zero bits made up past the end of the ECS (always the
#         last ones).
# Block procedures load them from the state vector at entry and store them back at exit.


@register_jitable
def fill_bits(data, pos, acc, nbits, fake):
    """Top the bit buffer up to more than ACC_FILL_LIMIT bits, one byte at a time (F.2.2.5).

    A 0xFF byte followed by 0x00 is one data byte 0xFF (the 0x00 was stuffed, F.1.2.3). A 0xFF
    followed by anything else, or the end of the data, ends the ECS: from there on the buffer
    is filled with zero bits counted in ``fake``, and ``pos`` stays on the marker.
    """
    n = data.shape[0]
    while nbits <= ACC_FILL_LIMIT:
        byte = 0
        real = False
        if fake == 0 and pos < n:
            byte = int(data[pos])
            if byte != 0xFF:
                pos += 1
                real = True
            elif pos + 1 < n and data[pos + 1] == 0x00:
                pos += 2  # F.1.2.3: skip the stuffed zero byte
                real = True
        if not real:
            byte = 0
            fake += 8
        acc = ((acc << 8) | byte) & ACC_MASK
        nbits += 8
    return pos, acc, nbits, fake


@register_jitable
def receive(data, pos, acc, nbits, fake, ssss):
    """F.2.2.4 RECEIVE(SSSS): the next SSSS (0..16) bits as an unsigned integer, first bit most
    significant (0 for SSSS = 0). Returns (value, pos, acc, nbits, fake)."""
    if nbits < ssss:
        pos, acc, nbits, fake = fill_bits(data, pos, acc, nbits, fake)
    nbits -= ssss
    return (acc >> nbits) & ((1 << ssss) - 1), pos, acc, nbits, fake


@register_jitable
def extend(v, t):
    """F.2.2.1, Figure F.12 EXTEND(V, T): a T-bit additional-bits value to a signed value.

    Vt = 2^(T-1); if V < Vt then V = V + (-1 << T) + 1. (EXTEND(0, 0) = 0 for category 0.)
    """
    if t == 0:
        return 0
    if v < (1 << (t - 1)):
        return v + (-1 << t) + 1
    return v


@register_jitable
def jcoef(value):
    """libjpeg's (JCOEF) cast: a 16-bit two's complement store (recovery mode)."""
    return ((value + 32768) & 0xFFFF) - 32768


@register_jitable
def overrun_position(k):
    """libjpeg's jpeg_natural_order[k] for a run past the band (recovery): the zig-zag order's
    natural index for k <= 63, then 63 for the 16 extra entries k = 64..79."""
    return ZIGZAG[k] if k <= LAST_COEFFICIENT else ZIGZAG[LAST_COEFFICIENT]


# Recovery: jpeg_huff_decode reads a bad code up to the sentinel MAXCODE(17) = 0xFFFFF, i.e.
# consumes 17 bits, warns JWRN_HUFF_BAD_CODE and returns symbol 0 ("fake a zero as the safest
# result"): a DC difference of 0, an AC EOB.
BAD_CODE_BITS = 17


@register_jitable
def skip_bad_code(data, state, pos, acc, nbits, fake):
    """Recovery: consume a bad code's 17 bits (count it); returns the bit reader."""
    state[S_BAD_CODE] += 1
    if nbits < BAD_CODE_BITS:
        pos, acc, nbits, fake = fill_bits(data, pos, acc, nbits, fake)
    return pos, acc, nbits - BAD_CODE_BITS, fake


@register_jitable
def code_window(acc, nbits):
    """The next MAX_CODE_LENGTH unread bits (the caller made sure there are that many)."""
    return (acc >> (nbits - MAX_CODE_LENGTH)) & ((1 << MAX_CODE_LENGTH) - 1)


@register_jitable
def huffman_decode_spec(window, t, maxcode, mincode, valptr, huffval):
    """F.2.2.3, Figure F.16 DECODE on the next 16 bits ``window`` for table slot ``t``.

        I = 1; CODE = NEXTBIT
        while CODE > MAXCODE(I): I = I + 1; CODE = (CODE << 1) + NEXTBIT
        J = VALPTR(I) + CODE - MINCODE(I); VALUE = HUFFVAL(J)

    Returns (VALUE, I), I being the code length to consume, or (-1, 0) if no code of length
    <= 16 matches (there is no such code in the table).
    """
    i = 1
    code = window >> (MAX_CODE_LENGTH - 1)
    while code > maxcode[t, i]:
        if i == MAX_CODE_LENGTH:
            return -1, 0
        i += 1
        code = window >> (MAX_CODE_LENGTH - i)  # = (CODE << 1) + NEXTBIT
    return huffval[t, valptr[t, i] + code - mincode[t, i]], i


@register_jitable
def huffman_decode_lookup(window, t, lookup, maxcode, mincode, valptr, huffval):
    """DECODE with one look-up of the first LOOKAHEAD_BITS bits, then Figure F.16 from
    I = LOOKAHEAD_BITS + 1 for longer codes. Same results as :func:`huffman_decode_spec`.

    (A miss in the table means no code of length <= LOOKAHEAD_BITS is a prefix of ``window``;
    Figure F.16 would have gone past those lengths, so it resumes at the next one.)
    """
    entry = lookup[t, window >> (MAX_CODE_LENGTH - LOOKAHEAD_BITS)]
    if entry != 0:
        return entry & 0xFF, entry >> LOOKUP_LENGTH_SHIFT
    for i in range(LOOKAHEAD_BITS + 1, MAX_CODE_LENGTH + 1):
        code = window >> (MAX_CODE_LENGTH - i)
        if code <= maxcode[t, i]:
            return huffval[t, valptr[t, i] + code - mincode[t, i]], i
    return -1, 0


# ---------------------------------------------------------------------------------------------
# Blocks
# ---------------------------------------------------------------------------------------------
#
# Each procedure decodes one block and returns OK or an error code (with S_ERR_VALUE set).
# Before every DECODE the buffer is topped up to at least 16 bits (the longest code).


@register_jitable
def decode_block_sequential(data, state, coef, blk, pred, c, dc_t, ac_t, tables):
    """One block of a sequential scan: F.2.2.1 (DC) then F.2.2.2, Figure F.13 (AC).

        T = DECODE(DC); DIFF = EXTEND(RECEIVE(T), T); PRED = PRED + DIFF; ZZ(0) = PRED
        K = 1
        loop: RS = DECODE(AC); SSSS = RS mod 16; R = RS >> 4
              SSSS = 0: R = 15 -> K = K + 16 (ZRL) else done (EOB)
              else:     K = K + R; ZZ(K) = EXTEND(RECEIVE(SSSS), SSSS); done if K = 63; K = K + 1
    """
    lookup, maxcode, mincode, valptr, huffval = tables
    pos, acc, nbits, fake = state[S_POS], state[S_ACC], state[S_NBITS], state[S_FAKE]
    err = OK
    recover = state[S_RECOVER] != 0
    max_dc = RECOVER_MAX_CATEGORY if recover else MAX_DC_CATEGORY
    max_ac = RECOVER_MAX_CATEGORY if recover else MAX_AC_CATEGORY
    if nbits < MAX_CODE_LENGTH:
        pos, acc, nbits, fake = fill_bits(data, pos, acc, nbits, fake)
    t, size = huffman_decode_lookup(code_window(acc, nbits), dc_t, lookup, maxcode, mincode,
                                   valptr, huffval)
    if t < 0 and recover:
        pos, acc, nbits, fake = skip_bad_code(data, state, pos, acc, nbits, fake)
        t, size = 0, 0
    if t < 0:
        err = ERR_BAD_CODE
    elif t > max_dc:
        state[S_ERR_VALUE] = t
        err = ERR_DC_CATEGORY
    else:
        nbits -= size
        bits, pos, acc, nbits, fake = receive(data, pos, acc, nbits, fake, t)
        dc = pred[c] + extend(bits, t)
        if recover:  # libjpeg: int predictor, (JCOEF) store
            pred[c] = dc
            coef[blk, 0] = jcoef(dc)
        elif dc < COEFFICIENT_MIN or dc > COEFFICIENT_MAX:
            state[S_ERR_VALUE] = dc
            err = ERR_COEFFICIENT_RANGE
        else:
            pred[c] = dc
            coef[blk, 0] = dc
    k = 1
    while err == OK and k <= LAST_COEFFICIENT:
        if nbits < MAX_CODE_LENGTH:
            pos, acc, nbits, fake = fill_bits(data, pos, acc, nbits, fake)
        rs, size = huffman_decode_lookup(code_window(acc, nbits), ac_t, lookup, maxcode, mincode,
                                        valptr, huffval)
        if rs < 0 and recover:
            pos, acc, nbits, fake = skip_bad_code(data, state, pos, acc, nbits, fake)
            rs, size = 0, 0
        if rs < 0:
            err = ERR_BAD_CODE
            break
        nbits -= size
        r = rs >> 4
        s = rs & 15
        if s == 0:
            if r != ZRL_RUN:
                break  # EOB: the rest of the block is zero
            if k + ZRL_LENGTH - 1 > LAST_COEFFICIENT:
                if recover:  # k += 15, then the loop's k++ ends the block
                    state[S_OVERRUN] += 1
                    break
                state[S_ERR_VALUE] = k + ZRL_LENGTH - 1
                err = ERR_RUN_PAST_BAND
                break
            k += ZRL_LENGTH
            continue
        k += r
        if k > LAST_COEFFICIENT and not recover:
            state[S_ERR_VALUE] = k
            err = ERR_RUN_PAST_BAND
        elif s > max_ac:
            state[S_ERR_VALUE] = s
            err = ERR_AC_CATEGORY
        else:
            bits, pos, acc, nbits, fake = receive(data, pos, acc, nbits, fake, s)
            if k > LAST_COEFFICIENT:  # recovery: jpeg_natural_order's extra entries
                state[S_OVERRUN] += 1
                coef[blk, overrun_position(k)] = extend(bits, s)
                break
            coef[blk, ZIGZAG[k]] = extend(bits, s)
            k += 1
    state[S_POS], state[S_ACC], state[S_NBITS], state[S_FAKE] = pos, acc, nbits, fake
    return err


@register_jitable
def decode_block_dc_first(data, state, coef, blk, pred, c, dc_t, al, tables):
    """G.1.2.1, first DC scan: the F.2.2.1 procedure on point-transformed values, then scaled.

        T = DECODE(DC); PRED = PRED + EXTEND(RECEIVE(T), T); ZZ(0) = PRED · 2^Al
    """
    lookup, maxcode, mincode, valptr, huffval = tables
    pos, acc, nbits, fake = state[S_POS], state[S_ACC], state[S_NBITS], state[S_FAKE]
    err = OK
    recover = state[S_RECOVER] != 0
    if nbits < MAX_CODE_LENGTH:
        pos, acc, nbits, fake = fill_bits(data, pos, acc, nbits, fake)
    t, size = huffman_decode_lookup(code_window(acc, nbits), dc_t, lookup, maxcode, mincode,
                                   valptr, huffval)
    if t < 0 and recover:
        pos, acc, nbits, fake = skip_bad_code(data, state, pos, acc, nbits, fake)
        t, size = 0, 0
    if t < 0:
        err = ERR_BAD_CODE
    elif t > (RECOVER_MAX_CATEGORY if recover else MAX_DC_CATEGORY):
        state[S_ERR_VALUE] = t
        err = ERR_DC_CATEGORY
    else:
        nbits -= size
        bits, pos, acc, nbits, fake = receive(data, pos, acc, nbits, fake, t)
        p = pred[c] + extend(bits, t)
        value = p * (1 << al)
        if recover:  # jdphuff.c: (JCOEF)LEFT_SHIFT(s, Al)
            pred[c] = p
            coef[blk, 0] = jcoef(value)
        elif value < COEFFICIENT_MIN or value > COEFFICIENT_MAX:
            state[S_ERR_VALUE] = value
            err = ERR_COEFFICIENT_RANGE
        else:
            pred[c] = p
            coef[blk, 0] = value
    state[S_POS], state[S_ACC], state[S_NBITS], state[S_FAKE] = pos, acc, nbits, fake
    return err


@register_jitable
def decode_block_dc_refine(data, state, coef, blk, al):
    """G.1.2.1, DC refinement: one raw bit per block, the bit Al of the two's complement DC."""
    pos, acc, nbits, fake = state[S_POS], state[S_ACC], state[S_NBITS], state[S_FAKE]
    bit, pos, acc, nbits, fake = receive(data, pos, acc, nbits, fake, 1)
    if bit:
        coef[blk, 0] |= 1 << al
    state[S_POS], state[S_ACC], state[S_NBITS], state[S_FAKE] = pos, acc, nbits, fake
    return OK


@register_jitable
def decode_block_ac_first(data, state, coef, blk, ac_t, ss, se, al, tables):
    """G.1.2.2, first AC scan of the band Ss..Se (the decoding counterpart of Figure G.3).

    If EOBRUN > 0 the block is in an EOB run: EOBRUN = EOBRUN - 1, nothing is read. Otherwise
    from K = Ss while K <= Se: RS = DECODE(AC), R = RS >> 4, SSSS = RS mod 16:
      SSSS > 0:         K = K + R; ZZ(K) = EXTEND(RECEIVE(SSSS), SSSS) · 2^Al; K = K + 1
      SSSS = 0, R = 15: ZRL, K = K + 16
      SSSS = 0, R < 15: EOBn: EOBRUN = 2^R + RECEIVE(R); this block is the first of the run
    """
    if state[S_EOBRUN] > 0:
        state[S_EOBRUN] -= 1
        return OK
    lookup, maxcode, mincode, valptr, huffval = tables
    pos, acc, nbits, fake = state[S_POS], state[S_ACC], state[S_NBITS], state[S_FAKE]
    err = OK
    recover = state[S_RECOVER] != 0
    k = ss
    while k <= se:
        if nbits < MAX_CODE_LENGTH:
            pos, acc, nbits, fake = fill_bits(data, pos, acc, nbits, fake)
        rs, size = huffman_decode_lookup(code_window(acc, nbits), ac_t, lookup, maxcode, mincode,
                                        valptr, huffval)
        if rs < 0 and recover:
            pos, acc, nbits, fake = skip_bad_code(data, state, pos, acc, nbits, fake)
            rs, size = 0, 0
        if rs < 0:
            err = ERR_BAD_CODE
            break
        nbits -= size
        r = rs >> 4
        s = rs & 15
        if s == 0:
            if r != ZRL_RUN:
                bits, pos, acc, nbits, fake = receive(data, pos, acc, nbits, fake, r)
                state[S_EOBRUN] = (1 << r) + bits - 1  # this block is the run's first
                break
            if k + ZRL_LENGTH - 1 > se:
                if recover:  # k += 15, then k++ leaves the band: the block ends
                    state[S_OVERRUN] += 1
                    break
                state[S_ERR_VALUE] = k + ZRL_LENGTH - 1
                err = ERR_RUN_PAST_BAND
                break
            k += ZRL_LENGTH
            continue
        k += r
        if k > se and not recover:
            state[S_ERR_VALUE] = k
            err = ERR_RUN_PAST_BAND
            break
        if s > (RECOVER_MAX_CATEGORY if recover else MAX_AC_CATEGORY):
            state[S_ERR_VALUE] = s
            err = ERR_AC_CATEGORY
            break
        bits, pos, acc, nbits, fake = receive(data, pos, acc, nbits, fake, s)
        value = extend(bits, s) * (1 << al)
        if recover:  # (JCOEF)((unsigned)s << Al), at jpeg_natural_order[k] even past Se
            if k > se:
                state[S_OVERRUN] += 1
                coef[blk, overrun_position(k)] = jcoef(value)
                break
            coef[blk, ZIGZAG[k]] = jcoef(value)
            k += 1
            continue
        if value < COEFFICIENT_MIN or value > COEFFICIENT_MAX:
            state[S_ERR_VALUE] = value
            err = ERR_COEFFICIENT_RANGE
            break
        coef[blk, ZIGZAG[k]] = value
        k += 1
    state[S_POS], state[S_ACC], state[S_NBITS], state[S_FAKE] = pos, acc, nbits, fake
    return err


@register_jitable
def decode_block_ac_refine(data, state, coef, blk, ac_t, ss, se, al, tables):
    """G.1.2.3, AC refinement scan of the band Ss..Se with bit position Al (p1 = 2^Al).

    Coefficients with non-zero history (already non-zero) receive one correction bit each time
    the decoder passes over them (a 1-bit adds p1 to the magnitude); zero-history coefficients
    are what the runs count. Per symbol RS = DECODE(AC), R = RS >> 4, SSSS = RS mod 16:
      SSSS = 1:         a sign bit (1 = positive); pass R zero-history coefficients, then set the
                        next zero-history one to ±p1
      SSSS = 0, R = 15: ZRL: pass 16 zero-history coefficients
      SSSS = 0, R < 15: EOBn: EOBRUN = 2^R + RECEIVE(R); the rest of this block and the next
                        EOBRUN - 1 blocks only get the correction bits of their non-zero history
    """
    lookup, maxcode, mincode, valptr, huffval = tables
    pos, acc, nbits, fake = state[S_POS], state[S_ACC], state[S_NBITS], state[S_FAKE]
    eobrun = state[S_EOBRUN]
    err = OK
    recover = state[S_RECOVER] != 0
    p1 = 1 << al
    k = ss
    while eobrun == 0 and k <= se:
        if nbits < MAX_CODE_LENGTH:
            pos, acc, nbits, fake = fill_bits(data, pos, acc, nbits, fake)
        rs, size = huffman_decode_lookup(code_window(acc, nbits), ac_t, lookup, maxcode, mincode,
                                        valptr, huffval)
        if rs < 0 and recover:
            pos, acc, nbits, fake = skip_bad_code(data, state, pos, acc, nbits, fake)
            rs, size = 0, 0
        if rs < 0:
            err = ERR_BAD_CODE
            break
        nbits -= size
        r = rs >> 4
        s = rs & 15
        value = 0
        if s != 0:
            if s != 1:
                if not recover:
                    state[S_ERR_VALUE] = s
                    err = ERR_REFINE_CATEGORY
                    break
                state[S_BAD_REFINE] += 1  # libjpeg warns, then reads the sign bit anyway
            sign, pos, acc, nbits, fake = receive(data, pos, acc, nbits, fake, 1)
            value = p1 if sign else -p1
        elif r != ZRL_RUN:
            bits, pos, acc, nbits, fake = receive(data, pos, acc, nbits, fake, r)
            eobrun = (1 << r) + bits
            break
        # Pass R zero-history coefficients (correcting the others) up to the target position.
        while k <= se:
            z = ZIGZAG[k]
            if coef[blk, z] != 0:
                bit, pos, acc, nbits, fake = receive(data, pos, acc, nbits, fake, 1)
                if bit and not (recover and coef[blk, z] & p1):  # libjpeg: only if bit Al is 0
                    coef[blk, z] += p1 if coef[blk, z] > 0 else -p1
            else:
                if r == 0:
                    break
                r -= 1
            k += 1
        if k > se:
            if recover:  # the new coefficient lands at jpeg_natural_order[Se + 1]
                state[S_OVERRUN] += 1
                if value != 0:
                    coef[blk, overrun_position(k)] = value
                break
            state[S_ERR_VALUE] = k
            err = ERR_RUN_PAST_BAND
            break
        if value != 0:
            coef[blk, ZIGZAG[k]] = value
        k += 1
    if err == OK and eobrun > 0:
        while k <= se:  # the block is in an EOB run: correction bits only
            z = ZIGZAG[k]
            if coef[blk, z] != 0:
                bit, pos, acc, nbits, fake = receive(data, pos, acc, nbits, fake, 1)
                if bit and not (recover and coef[blk, z] & p1):
                    coef[blk, z] += p1 if coef[blk, z] > 0 else -p1
            k += 1
        eobrun -= 1
    state[S_POS], state[S_ACC], state[S_NBITS], state[S_FAKE] = pos, acc, nbits, fake
    state[S_EOBRUN] = eobrun
    return err


# ---------------------------------------------------------------------------------------------
# Scans
# ---------------------------------------------------------------------------------------------


@register_jitable
def finish_segment(data, state, expect_restart, restart_index):
    """End of an ECS (after the last MCU of a restart interval or of the scan).

    The unread bits of the last partly used byte are padding (F.1.2.3: 1-bits; others are only
    counted in S_PAD_MISMATCHES). Whole unread bytes before the next marker are extraneous data
    (error, S_ERR_VALUE = their number). Then fill bytes are skipped (B.1.1.2); if a restart
    marker is expected it must be RST(restart_index), and the buffer restarts after it;
    otherwise S_POS is left on the marker (or at the end of the data) for the reader.
    """
    n = data.shape[0]
    real = state[S_NBITS] - state[S_FAKE]
    if real < 0:
        return ERR_TRUNCATED
    pad = real % 8
    if pad:
        bits = (state[S_ACC] >> (state[S_NBITS] - pad)) & ((1 << pad) - 1)
        if bits != (1 << pad) - 1:
            state[S_PAD_MISMATCHES] += 1
        state[S_NBITS] -= pad
    code, pos, value = segment_end(data, state[S_POS], real // 8, expect_restart, restart_index)
    if code != ERR_EXTRANEOUS_DATA:  # extraneous data is reported where the ECS ended
        state[S_POS] = pos
    if code != OK or value != 0:
        state[S_ERR_VALUE] = value
    if code == OK and expect_restart:
        state[S_ACC] = 0
        state[S_NBITS] = 0
        state[S_FAKE] = 0
    return code


@register_jitable
def segment_end(data, p, extra, expect_restart, restart_index):
    """What follows an ECS from byte ``p`` with ``extra`` whole unread bytes already counted:
    ``(code, position, value)``. Whole bytes before the next marker are extraneous data
    (``value`` = their number, a stuffed 0xFF 0x00 counting one); then fill bytes are skipped
    (B.1.1.2); an expected restart marker must be RST(restart_index) (E.1.4, B.2.1): the position
    is after it; otherwise the position is on the marker (or the end of the data) for the reader.
    Shared by the Huffman and the arithmetic scan decoders."""
    n = data.shape[0]
    while p < n:
        if data[p] == 0xFF:
            if p + 1 < n and data[p + 1] == 0x00:
                p += 2
                extra += 1
                continue
            break
        p += 1
        extra += 1
    if extra > 0:
        return ERR_EXTRANEOUS_DATA, p, extra
    while p + 1 < n and data[p + 1] == 0xFF:  # B.1.1.2: fill bytes before the marker
        p += 1
    if not expect_restart:
        return OK, p, 0
    if p + 1 >= n:
        return ERR_RESTART_MISSING, n, -1
    code = int(data[p + 1])
    if code < RST0 or code >= RST0 + RESTART_MODULUS:
        return ERR_RESTART_MISSING, p, code
    if code != RST0 + restart_index:
        return ERR_RESTART_SEQUENCE, p, code
    return OK, p + 2, code


# jpeg_resync_to_restart's actions (jdmarker.c), for a marker that is not the expected RSTm.
RESYNC_DISCARD = 1  # drop the marker, decode the interval from the bytes after it
RESYNC_SKIP = 2  # skip to the next marker and decide again
RESYNC_STAY = 3  # leave the marker: the interval is "empty" (zero bits, then nothing decoded)
SOF0 = 0xC0
EOI_CODE = 0xD9


@register_jitable
def reached_past_end(state, err):
    """Whether the last block used bits past the end of the ECS (zero bits made up by
    :func:`fill_bits`), or a failed code reached into them: the data ended first."""
    return state[S_NBITS] < state[S_FAKE] or (
        err == ERR_BAD_CODE and state[S_NBITS] - MAX_CODE_LENGTH < state[S_FAKE])


@register_jitable
def resync_action(marker, desired):
    """libjpeg's jpeg_resync_to_restart for ``marker`` when RST(``desired``) was expected:
    a code below SOF0 (not a valid marker): skip; a valid marker other than RSTm: stay (it
    belongs to what follows the scan); RST(desired+1) or RST(desired+2): stay (restarts were
    lost, so the intervals before it are empty); RST(desired-1) or RST(desired-2): skip (a
    marker already passed); any other RSTm: discard it and go on."""
    if marker < SOF0:
        return RESYNC_SKIP
    if marker < RST0 or marker >= RST0 + RESTART_MODULUS:
        return RESYNC_STAY
    if marker == RST0 + (desired + 1) % RESTART_MODULUS or \
            marker == RST0 + (desired + 2) % RESTART_MODULUS:
        return RESYNC_STAY
    if marker == RST0 + (desired - 1) % RESTART_MODULUS or \
            marker == RST0 + (desired - 2) % RESTART_MODULUS:
        return RESYNC_SKIP
    return RESYNC_DISCARD


@register_jitable
def skip_to_marker(data, p):
    """libjpeg's next_marker from byte ``p``: (offset of the marker's last 0xFF fill byte, or the
    end of the data; bytes discarded on the way, a stuffed 0xFF 0x00 counting two)."""
    n = data.shape[0]
    discarded = 0
    while p < n:
        if data[p] == 0xFF:
            while p + 1 < n and data[p + 1] == 0xFF:
                p += 1
            if p + 1 < n and data[p + 1] != 0x00:
                return p, discarded
            discarded += 2
            p += 2
            continue
        discarded += 1
        p += 1
    return n, discarded


@register_jitable
def finish_segment_recover(data, state, expect_restart, restart_index):
    """Recovery's end of an ECS (libjpeg process_restart + read_restart_marker, or the marker
    reader after the scan): the bit buffer's whole unread bytes and any bytes before the next
    marker are discarded (S_DISCARDED); at a restart, the expected RSTm is swallowed and the
    out-of-data flag cleared, another marker goes through :func:`resync_action`. Returns OK, or
    ERR_RESTART_MISSING when the file ends first (the libraries' data sources fail there)."""
    n = data.shape[0]
    real = state[S_NBITS] - state[S_FAKE]
    extra = real // 8 if real > 0 else 0
    p, discarded = skip_to_marker(data, state[S_POS])
    state[S_DISCARDED] += extra + discarded
    state[S_ACC] = 0
    state[S_NBITS] = 0
    state[S_FAKE] = 0
    state[S_POS] = p
    if not expect_restart:
        return OK
    while True:
        if p + 1 >= n:
            state[S_ERR_VALUE] = -1
            return ERR_RESTART_MISSING
        marker = int(data[p + 1])
        if marker == RST0 + restart_index:
            state[S_POS] = p + 2
            state[S_INSUFFICIENT] = 0
            return OK
        state[S_RESYNC] += 1
        action = resync_action(marker, restart_index)
        if action == RESYNC_DISCARD:
            state[S_POS] = p + 2
            state[S_INSUFFICIENT] = 0
            return OK
        if action == RESYNC_STAY:
            state[S_POS] = p
            return OK
        p, discarded = skip_to_marker(data, p + 2)
        state[S_DISCARDED] += discarded
        state[S_POS] = p


def decode_scan(data, coef, mcus_x, mcus_y, restart_interval, blk_comp, blk_dy, blk_dx,
                comp_base, comp_bw, comp_h, comp_v, comp_dc, comp_ac, kind, ss, se, al, tables,
                state):
    """Decode one scan's entropy-coded data into ``coef`` (natural order, quantised).

    - ``data``: the whole file as uint8; ``state[S_POS]`` is the first byte after the SOS header.
    - ``coef``: (total blocks, 64) int32 for all components; block (row, col) of scan component
      c is ``coef[comp_base[c] + row · comp_bw[c] + col]``.
    - The scan has ``mcus_x`` × ``mcus_y`` MCUs in raster order (A.2). MCU block b belongs to
      scan component ``blk_comp[b]`` at block offset (``blk_dy[b]``, ``blk_dx[b]``) inside that
      component's ``comp_v`` × ``comp_h`` blocks of the MCU (A.2.3; a non-interleaved scan has one
      block per MCU and comp_h = comp_v = 1, A.2.2).
    - ``comp_dc``/``comp_ac``: table slots per scan component; ``kind``: SEQUENTIAL, DC_FIRST,
      DC_REFINE, AC_FIRST or AC_REFINE with band ``ss``..``se`` and bit position ``al``.
    - ``restart_interval``: Ri MCUs per interval (0 = none).
    - ``tables``: (lookup, maxcode, mincode, valptr, huffval) from :func:`stack_tables`.

    Returns OK (``state[S_POS]`` on the marker after the ECS) or an error code with
    S_ERR_MCU/S_ERR_BLOCK/S_ERR_VALUE set and the bit position left where the error was found.
    """
    pred = np.zeros(4, dtype=np.int64)  # F.2.1.3.1: PRED per scan component, 0 at each start
    recover = state[S_RECOVER] != 0
    n = data.shape[0]
    state[S_ACC] = 0
    state[S_NBITS] = 0
    state[S_FAKE] = 0
    state[S_EOBRUN] = 0
    state[S_INSUFFICIENT] = 0
    total = mcus_x * mcus_y
    nblk = blk_comp.shape[0]
    restart_index = 0
    for m in range(total):
        if restart_interval > 0 and m > 0 and m % restart_interval == 0:
            state[S_ERR_MCU] = m
            state[S_ERR_BLOCK] = -1
            if recover:
                e = finish_segment_recover(data, state, True, restart_index)
            elif state[S_EOBRUN] > 0:
                state[S_ERR_VALUE] = state[S_EOBRUN]
                return ERR_EOBRUN_PAST_END
            else:
                e = finish_segment(data, state, True, restart_index)
            if e != OK:
                return e
            restart_index = (restart_index + 1) % RESTART_MODULUS
            for c in range(4):
                pred[c] = 0
            state[S_EOBRUN] = 0
        if recover and state[S_INSUFFICIENT] != 0:
            continue  # jdhuff.c decode_mcu: "just leave the MCU set to zeroes"
        state[S_LAST_GOOD_MCU] = m
        my = m // mcus_x
        mx = m - my * mcus_x
        for b in range(nblk):
            c = blk_comp[b]
            blk = comp_base[c] + (my * comp_v[c] + blk_dy[b]) * comp_bw[c] + mx * comp_h[c] \
                + blk_dx[b]
            if kind == SEQUENTIAL:
                e = decode_block_sequential(data, state, coef, blk, pred, c, comp_dc[c],
                                            comp_ac[c], tables)
            elif kind == DC_FIRST:
                e = decode_block_dc_first(data, state, coef, blk, pred, c, comp_dc[c], al,
                                          tables)
            elif kind == DC_REFINE:
                e = decode_block_dc_refine(data, state, coef, blk, al)
            elif kind == AC_FIRST:
                e = decode_block_ac_first(data, state, coef, blk, comp_ac[c], ss, se, al,
                                          tables)
            else:
                e = decode_block_ac_refine(data, state, coef, blk, comp_ac[c], ss, se, al,
                                           tables)
            if reached_past_end(state, e):
                # Recovery: zero bits past a marker finish this MCU (and, for a bad code, were
                # not the cause); past the end of the file the data source fails.
                at_marker = state[S_POS] + 1 < n and data[state[S_POS]] == 0xFF
                if recover and at_marker and e != ERR_BAD_CODE:
                    if state[S_INSUFFICIENT] == 0:
                        state[S_HIT_MARKER] += 1
                    state[S_INSUFFICIENT] = 1
                else:
                    e = ERR_TRUNCATED
            if e != OK:
                state[S_ERR_MCU] = m
                state[S_ERR_BLOCK] = b
                return e
    state[S_ERR_MCU] = total
    state[S_ERR_BLOCK] = -1
    if recover:
        return finish_segment_recover(data, state, False, 0)
    if state[S_EOBRUN] > 0:
        state[S_ERR_VALUE] = state[S_EOBRUN]
        return ERR_EOBRUN_PAST_END
    return finish_segment(data, state, False, 0)


# Same source, compiled; cached on disk so only the first run pays the compilation.
decode_scan_jit = njit(cache=True)(decode_scan)


# ---------------------------------------------------------------------------------------------
# Error reporting
# ---------------------------------------------------------------------------------------------


def unread_bit_offset(data: np.ndarray, state: np.ndarray) -> int:
    """File offset of the byte that holds the next unread bit.

    The buffer holds ``S_NBITS - S_FAKE`` real unread bits ending just before ``S_POS``; walking
    back over that many bytes (a stuffed 0xFF 0x00 pair counts as one byte) finds it.
    """
    real = int(state[S_NBITS] - state[S_FAKE])
    p = int(state[S_POS])
    for _ in range((max(real, 0) + 7) // 8):
        p -= 1
        if p >= 1 and data[p] == 0x00 and data[p - 1] == 0xFF:
            p -= 1
    return p


def error_site(mcu: int, block: int, *, scan: int, label: str, total_mcus: int,
               restart_interval: int, block_components: list[int], unit: str = "block"
               ) -> tuple[str, str]:
    """(where, expected restart marker) of a scan decoder's error at ``mcu``, ``block`` (-1: none):
    "scan 2 (AC first), MCU 17 of 40, block 3 (component 1)". ``label`` names the scan's process,
    ``unit`` what an MCU is made of (blocks; samples in a lossless scan). Shared by the Huffman,
    arithmetic and lossless scan decoders' error reports (each reads its own state vector)."""
    expected_restart = ""
    if restart_interval > 0 and mcu > 0:
        expected_restart = f"RST{(mcu // restart_interval - 1) % RESTART_MODULUS}"
    where = f"scan {scan} ({label}), MCU {mcu} of {total_mcus}"
    if block >= 0:
        where += f", {unit} {block} (component {block_components[block]})"
    return where, expected_restart


def restart_message(code: int, value: int, expected_restart: str) -> str | None:
    """The message of a restart-marker error (E.1.4, B.1.1.5, B.2.1), None for other codes."""
    if code == ERR_RESTART_MISSING:
        found = "the end of the file" if value < 0 else f"marker {marker_name(value)}"
        return (f"expected restart marker {expected_restart} before this MCU, found {found} "
                "(T.81 B.2.1, E.1.4)")
    if code == ERR_RESTART_SEQUENCE:
        return (f"restart marker {marker_name(value)} out of sequence: expected "
                f"{expected_restart} (T.81 B.1.1.5: RSTm counts m = 0..7 modulo 8 from the "
                "start of the scan)")
    return None


def scan_error(code: int, state: np.ndarray, data: np.ndarray, *, scan: int, kind: int,
               total_mcus: int, restart_interval: int, block_components: list[int],
               source: str, label: str | None = None, unit: str = "block") -> DecodeError:
    """The DecodeError for a non-zero return of :func:`decode_scan`.

    ``block_components``: the component identifier of each block of the MCU (for the message);
    ``label``/``unit`` (:func:`error_site`) default to the scan kind's name and "block".
    """
    where, expected_restart = error_site(
        int(state[S_ERR_MCU]), int(state[S_ERR_BLOCK]), scan=scan, label=label or KIND_NAMES[kind],
        total_mcus=total_mcus, restart_interval=restart_interval, block_components=block_components,
        unit=unit)
    value = int(state[S_ERR_VALUE])
    pos = int(state[S_POS])
    n = data.shape[0]
    if code == ERR_TRUNCATED:
        end = (f"marker {marker_name(int(data[pos + 1]))} at byte {pos}"
               if pos + 1 < n else "the end of the file")
        return DecodeError(f"truncated entropy-coded data: {where}: the data ends ({end}) before "
                           "the last bit of the MCU", source=source, offset=pos)
    offset = unread_bit_offset(data, state)
    if code == ERR_BAD_CODE:
        message = "no such Huffman code in the table selected for this block (T.81 F.2.2.3)"
    elif code == ERR_DC_CATEGORY:
        message = f"DC difference category {value} exceeds 11 (T.81 Table F.1, 8-bit samples)"
    elif code == ERR_AC_CATEGORY:
        message = f"AC coefficient category {value} exceeds 10 (T.81 Table F.2, 8-bit samples)"
    elif code == ERR_RUN_PAST_BAND:
        message = (f"a zero run reaches zig-zag position {value}, past the end of the spectral "
                   "band (T.81 F.2.2.2, G.1.2.2/G.1.2.3)")
    elif code == ERR_REFINE_CATEGORY:
        message = (f"an AC refinement scan codes a new coefficient of category {value}; only 1 is "
                   "allowed (T.81 G.1.2.3)")
    elif code == ERR_COEFFICIENT_RANGE:
        message = (f"coefficient value {value} is outside the 16-bit range -32768..32767 "
                   "(T.81 F.2.4.3)")
    elif code == ERR_EOBRUN_PAST_END:
        message = (f"an EOB run still has {value} blocks to go at the end of the restart interval "
                   "or scan (T.81 G.1.2.2: an EOB run is limited by the restart interval)")
    elif code == ERR_EXTRANEOUS_DATA:
        message = (f"{value} byte(s) of extra data after the last MCU of the restart interval or "
                   "scan, before the next marker (T.81 B.1.1.5: an entropy-coded segment ends "
                   "with its last MCU)")
    elif code in (ERR_RESTART_MISSING, ERR_RESTART_SEQUENCE):
        message = restart_message(code, value, expected_restart)
        offset = pos
    else:  # pragma: no cover - every code above is handled
        message = f"entropy decoding error {code}"
    return DecodeError(f"{where}: {message}", source=source, offset=offset)
