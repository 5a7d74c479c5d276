"""Read a JPEG file (ITU-T T.81 interchange format) to its quantised DCT coefficients (or, for a
lossless frame, its samples).

:func:`read_jpeg` walks the marker segments (:mod:`.markers`), keeps the tables they define,
checks each scan header against the frame and the process, and entropy-decodes each scan
(:mod:`.entropy` for Huffman coding, :mod:`.arithmetic` for arithmetic coding). The result is a :class:`~.model.JpegImage`: frame, metadata, and per component
the quantised coefficients in natural order on a block grid padded to whole MCUs.

Implemented: the DCT processes with 8-bit samples: baseline (SOF0), extended sequential (SOF1
Huffman, SOF9 arithmetic) and progressive (SOF2 Huffman, SOF10 arithmetic; spectral selection
and successive approximation); any number of scans, interleaved or not; tables and DAC
conditionings defined or redefined before any scan; restart intervals; 1 to 255 components (1
to 4 progressive) with sampling factors 1..4. And lossless sequential Huffman coding (SOF3,
Annex H, :mod:`.lossless`) with 8-bit samples: predictors 1..7, point transform, any sampling
factors, one or several scans, restart intervals of whole MCU rows; its components carry
decoded samples instead of coefficients (``Component.samples``).

Not implemented (:class:`UnsupportedFeature`, the message names the feature): lossless with
arithmetic coding (SOF11), lossless with P other than 8, the hierarchical mode
(SOF5..SOF7, SOF13..SOF15, DHP, EXP), 12-bit precision, a height defined by a DNL segment
(Y = 0 in the frame header; Y = 0 *without* a DNL after the first scan is a DecodeError), and
the markers reserved for JPEG extensions (JPG, JPG0..JPG13).

Which inputs are accepted (T.81 is the authority; this reader is the oracle for "a conforming
decoder rejects this", so it is stricter than libjpeg, which repairs and warns):

- Errors (:class:`DecodeError`, with the file name and byte offset): everything T.81 Annex B
  does not allow in the syntax or in a field's range; truncation anywhere (a missing EOI
  included); entropy-coded data that is not exactly the MCUs the headers announce (bad codes,
  runs past the band, extra bytes before a marker, missing or out-of-sequence RSTm, EOB runs
  past the interval; the list is in :mod:`.entropy`); scans that break the progression rules of
  G.1.1.1 (libjpeg only warns "bogus progression"); a sequential component coded twice or a
  component never coded; a table used before it is defined; and any byte other than a marker
  (after optional 0xFF fill bytes) between segments.
- Accepted, each with an entry in ``JpegImage.warnings`` (oddities seen in real files that
  leave every coefficient determined):

  * bytes after EOI (outside the JPEG datastream; cameras and editors append trailers);
  * padding bits at the end of an entropy-coded segment that are not 1-bits (F.1.2.3);
  * a 16-bit quantisation table (Pq = 1) with 8-bit samples: B.2.4.1 says "an 8-bit DCT-based
    process shall not use a 16-bit precision quantization table", but libjpeg writes them for
    low qualities without ``force_baseline`` and every decoder reads them;
  * table or application segments after the last scan (B.2.1 expects only EOI there);
  * TEM markers (Table B.1: private use in arithmetic coding; they carry nothing);
  * malformed ICC profile chunks or a second Exif block (ignored; metadata only).

  A missing EOI is *not* accepted, even after complete data: without it a decoder cannot tell
  a complete file from one cut at a scan boundary (a progressive file would silently lose its
  remaining scans); libjpeg decodes such files with "Premature end of JPEG file".

Recovery (``recover=True``, the decode knob ``on_corrupt="libjpeg-turbo"``): what Pillow and
OpenCV decode from damaged files, through libjpeg-turbo 3, reproduced exactly (checked against
both on the seeded damage sweeps of tests/test_jpeg_recovery.py), each repair recorded in
``warnings`` in libjpeg's words:

- bytes that are no marker between segments or after a scan's last MCU (junk before EOI):
  skipped (JWRN_EXTRANEOUS_DATA);
- a sequential Huffman scan using table 0 or 1 that no DHT defined (a Motion-JPEG frame): the
  standard tables of T.81 Annex K.3 (libjpeg-turbo std_huff_tables; no warning in libjpeg);
- entropy-coded data ending at a marker before the scan's last MCU, restart markers missing or
  out of order, zero runs past the band, large categories: as :mod:`.entropy` ("Recovery");
- progressive scans out of order (an AC scan before the component's DC scan, a refinement whose
  Ah does not follow): decoded as they come, with libjpeg's "Inconsistent progression
  sequence" warning;
- a bad Huffman code: 17 bits read as symbol 0 (JWRN_HUFF_BAD_CODE, :mod:`.entropy`).

The rest stays an error: data ending at the end of the *file* (Pillow and OpenCV both fail:
their data sources suspend), an undefined table other than sequential 0 or 1, and every
structural error of the markers. Arithmetic-coded and lossless scans are not
repaired (libjpeg-turbo's jdarith.c and jdlhuff.c recover differently; not modelled).

Resource bounds: the pixel count X·Y is checked against ``max_pixels`` from the frame header
alone, and the total samples of all components against 4 × ``max_pixels``, before anything is
allocated (:class:`LimitsExceeded`). The coefficient buffers are allocated at the first scan,
and only if the rest of the file is large enough to hold at least one bit for each block of
every component (the least any block costs in its first scan), so a short file cannot make the
reader allocate much more than ~2 KiB per input byte (Huffman coding; arithmetic coding has no
such bound: a well-predicted block costs a small fraction of a bit and the decoder supplies zero
bytes after the end of the data, D.2.6, so there only ``max_pixels`` bounds it). Every loop is bounded by the data or by
the block count, and the progression checks bound the number of scans per component.

Quantisation tables are latched when a component's first scan starts (libjpeg jdinput.c
latch_quant_tables). T.81 B.2.2 (Tqi) says the table "shall not be respecified, or its contents
changed, until all scans containing Ci have been completed"; if a file does it anyway, the
table of the first scan is the one libjpeg uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...errors import DecodeError, LimitsExceeded, UnsupportedFeature
from . import arithmetic, entropy, lossless
from . import markers as mk
from .model import ZIGZAG, Component, JpegImage

DEFAULT_MAX_PIXELS = 1 << 26  # the same as the PNG reader and spec.Decode.max_pixels
MAX_COMPONENT_PLANES = 4  # sample budget: 4 full-resolution planes (CMYK 4:4:4) of max_pixels
BLOCK_SIZE = 8  # samples per block side (A.1.3)
COEFFICIENTS = 64
MAX_BLOCKS_PER_MCU = 10  # B.2.3: sum of Hj·Vj over an interleaved scan's components <= 10
BITS_PER_BYTE = 8
MIN_BITS_PER_BLOCK = 1  # a block's first scan codes at least one Huffman code (its DC)
MAX_SUCCESSIVE_APPROXIMATION = 13  # Table B.3: Ah, Al in 0..13 (progressive DCT)
BASELINE_MAX_TABLE = 1  # Table B.3/B.5: baseline Huffman table destinations 0..1
LAST_COEFFICIENT = 63
SMOOTHING_LAST = 9  # block smoothing reads coef_bits of zig-zag 0..9 (jdcoefct.c SAVED_COEFS)


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def ints(values) -> np.ndarray:
    """The int64 array the scan decoders take for a per-component or per-block list."""
    return np.array(values, dtype=np.int64)


@dataclass
class _FrameState:
    """The frame being decoded: geometry, coefficient storage and per-component progress."""

    header: mk.FrameHeader
    widths: list[int]  # A.1.1: ceil(X · Hi / Hmax)
    heights: list[int]  # ceil(Y · Vi / Vmax)
    blocks_wide: list[int]  # padded block grid (see model.Component)
    blocks_high: list[int]
    base: list[int]  # first row of each component in ``coef``
    coef: np.ndarray | None = None  # (total blocks, 64) int32, allocated at the first scan
    quant: list[np.ndarray | None] = field(default_factory=list)  # latched at the first scan
    coef_bits: list[np.ndarray] = field(default_factory=list)  # progressive, natural order
    # libjpeg-turbo's coef_bits before each component's latest scan (jdphuff.c), and the last
    # iMCU row the latest scan began with data left: block smoothing reads the former below it
    prev_coef_bits: list[np.ndarray] = field(default_factory=list)
    last_good_imcu_row: int | None = None
    scans_of: list[int] = field(default_factory=list)  # scans that coded each component
    # lossless (SOF3): per component its reconstructed values before the point transform,
    # (height, width) int32, allocated at the first scan; and Ss, Al of the scan that coded it
    samples: list[np.ndarray] = field(default_factory=list)
    point_transforms: dict[int, int] = field(default_factory=dict)  # component index -> Al
    predictor: int = 0
    point_transform: int = 0

    @property
    def hmax(self) -> int:
        return max(c.h for c in self.header.components)

    @property
    def vmax(self) -> int:
        return max(c.v for c in self.header.components)

    def index_of(self, cid: int) -> int | None:
        for i, c in enumerate(self.header.components):
            if c.id == cid:
                return i
        return None


def frame_geometry(header: mk.FrameHeader) -> tuple[list[int], list[int], list[int], list[int]]:
    """Component sizes (A.1.1) and the padded block grid of model.Component.

    Component i has ceil(X·Hi/Hmax) × ceil(Y·Vi/Vmax) samples. With more than one component the
    grid covers whole MCUs of the interleaved order, ceil(X/(8·Hmax))·Hi × ceil(Y/(8·Vmax))·Vi
    blocks (A.2.3); a one-component frame is never interleaved and has ceil(width/8) ×
    ceil(height/8) blocks (A.2.2).
    """
    comps = header.components
    hmax, vmax = max(c.h for c in comps), max(c.v for c in comps)
    widths = [_ceil_div(header.width * c.h, hmax) for c in comps]
    heights = [_ceil_div(header.height * c.v, vmax) for c in comps]
    if len(comps) == 1:
        bw = [_ceil_div(widths[0], BLOCK_SIZE)]
        bh = [_ceil_div(heights[0], BLOCK_SIZE)]
    else:
        mcus_x = _ceil_div(header.width, BLOCK_SIZE * hmax)
        mcus_y = _ceil_div(header.height, BLOCK_SIZE * vmax)
        bw = [mcus_x * c.h for c in comps]
        bh = [mcus_y * c.v for c in comps]
    return widths, heights, bw, bh


class _Reader:
    """One pass over the marker segments of one file (state of T.81 Annex E's decoder)."""

    def __init__(self, data: bytes, source: str, max_pixels: int, use_numba: bool,
                 recover: bool = False):
        self.data = data
        self.recover = recover  # on_corrupt="libjpeg-turbo" (module docstring, "Recovery")
        self.buf = np.frombuffer(data, dtype=np.uint8)
        self.source = source
        self.max_pixels = max_pixels
        self.use_numba = use_numba
        self.quant_tables: list[np.ndarray | None] = [None] * mk.MAX_QUANT_TABLES
        self.dc_tables: list[entropy.HuffmanTable | None] = [None] * mk.MAX_HUFFMAN_TABLES
        self.ac_tables: list[entropy.HuffmanTable | None] = [None] * mk.MAX_HUFFMAN_TABLES
        self.restart_interval = 0
        # DAC conditioning per table Tb (F.1.4.4.1.4, F.1.4.4.2.1 defaults without a DAC)
        self.cond_l = [arithmetic.DEFAULT_DC_L] * mk.MAX_CONDITIONING_TABLES
        self.cond_u = [arithmetic.DEFAULT_DC_U] * mk.MAX_CONDITIONING_TABLES
        self.cond_kx = [arithmetic.DEFAULT_AC_KX] * mk.MAX_CONDITIONING_TABLES
        self.frame: _FrameState | None = None
        self.scan_count = 0
        self.segments_after_scan: list[str] = []
        self.jfif = False
        self.adobe: int | None = None
        self.exif: bytes | None = None
        self.xmp: bytes | None = None  # the last APP1 XMP packet (as Pillow keeps it)
        self.icc_chunks: list[tuple[int, int, bytes, int]] = []
        self.warnings: list[str] = []
        self.pad_mismatches = 0

    def error(self, message: str, offset: int | None) -> DecodeError:
        return DecodeError(message, source=self.source, offset=offset)

    # -- the marker loop (B.2.1 syntax) -----------------------------------------------------

    def run(self) -> JpegImage:
        data = self.data
        if data[:2] != b"\xff\xd8":
            raise self.error(f"not a JPEG file: no SOI marker (FF D8) at byte 0 (found "
                             f"{data[:2].hex(' ').upper() or 'nothing'})", 0)
        pos = 2
        after_scan = False  # the previous item was a scan's entropy-coded data
        while True:
            if self.recover and pos < len(data) and data[pos] != 0xFF:
                pos = self.skip_junk(pos)
            found = mk.next_marker(data, pos, self.source)
            if found is None:
                self.end_without_eoi(pos, after_scan)
                break
            code, offset, pos = found
            after_scan = False
            if code == mk.EOI:
                self.end_of_image(offset, pos)
                break
            if code == mk.SOS:
                body, pos = mk.read_segment(data, code, offset, self.source)
                header = mk.parse_scan_header(body, offset, pos, self.source)
                pos = self.scan(header)
                after_scan = True
                self.segments_after_scan = []
                continue
            pos = self.segment(code, offset, pos)
        return self.image()

    def skip_junk(self, pos: int) -> int:
        """Recovery: libjpeg's next_marker skips what is not a marker between segments
        (JWRN_EXTRANEOUS_DATA); the offset of the next marker (or the end of the data)."""
        at, discarded = entropy.skip_to_marker(self.buf, pos)
        self.warnings.append(f"Corrupt JPEG data: {discarded} extraneous bytes before the marker at "
                             f"byte {at} (skipped at byte {pos}, as libjpeg-turbo)")
        return at

    def segment(self, code: int, offset: int, pos: int) -> int:
        """Handle one marker other than SOS/EOI at ``offset``; return the offset after it."""
        name = mk.marker_name(code)
        if code == mk.SOI:
            raise self.error("second SOI marker (T.81 B.2.1: one image per datastream)", offset)
        if mk.RST0 <= code <= mk.RST7:
            raise self.error(f"restart marker {name} outside an entropy-coded segment: out of "
                             "sequence (T.81 B.2.1, E.1.4)", offset)
        if code == mk.TEM:
            self.warnings.append(f"TEM marker at byte {offset} ignored (T.81 Table B.1: private "
                                 "use in arithmetic coding)")
            return pos
        if code in mk.UNSUPPORTED_SOF:
            raise UnsupportedFeature(f"{mk.UNSUPPORTED_SOF[code]} is not supported",
                                     source=self.source, offset=offset)
        if code in mk.UNSUPPORTED_MARKERS:
            raise UnsupportedFeature(f"{mk.UNSUPPORTED_MARKERS[code]} is not supported",
                                     source=self.source, offset=offset)
        if code == mk.JPG or mk.JPG0 <= code <= mk.JPG13:
            raise UnsupportedFeature(f"marker {name} (0xFF{code:02X}) is reserved for JPEG "
                                     "extensions (T.81 Table B.1; e.g. JPEG-LS uses JPG7, JPG8) "
                                     "and is not supported", source=self.source, offset=offset)
        if mk.RES_FIRST <= code <= mk.RES_LAST:
            raise self.error(f"reserved marker 0xFF{code:02X} (T.81 Table B.1: RES)", offset)
        body, end = mk.read_segment(self.data, code, offset, self.source)
        if self.scan_count:
            self.segments_after_scan.append(f"{name} at byte {offset}")
        if code in mk.SOF_PROCESSES:
            self.start_frame(mk.parse_frame_header(code, body, offset, self.source))
        elif code == mk.DQT:
            self.define_quant_tables(body, offset)
        elif code == mk.DHT:
            for spec in mk.parse_dht(body, offset, self.source):
                table = entropy.build_huffman_table(spec.tc, spec.th, spec.bits, spec.huffval,
                                                    source=self.source, offset=spec.offset)
                (self.dc_tables if spec.tc == 0 else self.ac_tables)[spec.th] = table
        elif code == mk.DAC:
            for spec in mk.parse_dac(body, offset, self.source):
                if spec.tc == 0:
                    self.cond_l[spec.tb], self.cond_u[spec.tb] = spec.l, spec.u
                else:
                    self.cond_kx[spec.tb] = spec.kx
        elif code == mk.DRI:
            self.restart_interval = mk.parse_dri(body, offset, self.source)
        elif code == mk.DNL:
            raise self.error("DNL segment where none may be: B.2.5 allows it only right after the "
                             "first scan of a frame whose header gives Y = 0", offset)
        elif mk.APP0 <= code <= mk.APP15:
            self.application(code - mk.APP0, body, offset)
        # COM (B.2.4.5) carries nothing the decoder needs.
        return end

    # -- tables and metadata ------------------------------------------------------------------

    def define_quant_tables(self, body: bytes, offset: int) -> None:
        for spec in mk.parse_dqt(body, offset, self.source):
            if spec.pq == 1:
                self.warnings.append(
                    f"DQT at byte {offset}: table {spec.tq} has 16-bit values (Pq = 1); T.81 "
                    "B.2.4.1 reserves them for 12-bit processes (accepted, as libjpeg does)")
            self.quant_tables[spec.tq] = spec.values

    def application(self, n: int, body: bytes, offset: int) -> None:
        if n == 0 and mk.is_jfif(body):
            self.jfif = True
        elif n == 0 and body[:5] == mk.JFIF_IDENTIFIER:
            self.warnings.append(f"APP0 JFIF at byte {offset} is shorter than 14 bytes (not "
                                 "counted as JFIF, as in libjpeg)")
        elif n == 14 and mk.adobe_transform(body) is not None:
            self.adobe = mk.adobe_transform(body)
        elif n == 1 and mk.exif_payload(body) is not None:
            if self.exif is None:
                self.exif = mk.exif_payload(body)
            else:
                self.warnings.append(f"second APP1 Exif block at byte {offset} ignored")
        elif n == 1 and mk.xmp_payload(body) is not None and not self.scan_count:
            self.xmp = mk.xmp_payload(body)  # Pillow reads the header up to the first SOS
        elif n == 2 and mk.icc_chunk(body) is not None:
            seq, count, chunk = mk.icc_chunk(body)
            self.icc_chunks.append((seq, count, chunk, offset))

    # -- frame --------------------------------------------------------------------------------

    def start_frame(self, header: mk.FrameHeader) -> None:
        if self.frame is not None:
            raise self.error(f"second frame header ({mk.marker_name(header.marker)}); a "
                             "non-hierarchical image has exactly one frame (T.81 B.2.1)",
                             header.offset)
        pixels = header.width * header.height
        if pixels > self.max_pixels:
            raise LimitsExceeded(f"{header.width} x {header.height} = {pixels} pixels exceeds the "
                                 f"limit of {self.max_pixels} (max_pixels)", source=self.source,
                                 offset=header.offset)
        widths, heights, bw, bh = frame_geometry(header)
        samples = sum(w * h for w, h in zip(widths, heights))
        if samples > MAX_COMPONENT_PLANES * self.max_pixels:
            raise LimitsExceeded(f"the {len(widths)} components hold {samples} samples, more than "
                                 f"{MAX_COMPONENT_PLANES} x max_pixels = "
                                 f"{MAX_COMPONENT_PLANES * self.max_pixels}", source=self.source,
                                 offset=header.offset)
        base = [0]
        for w, h in zip(bw, bh):
            base.append(base[-1] + w * h)
        nf = len(header.components)
        self.frame = _FrameState(header=header, widths=widths, heights=heights, blocks_wide=bw,
                                 blocks_high=bh, base=base, quant=[None] * nf,
                                 coef_bits=[np.full(COEFFICIENTS, -1, dtype=np.int16)
                                            for _ in range(nf)],
                                 prev_coef_bits=[np.full(COEFFICIENTS, -1, dtype=np.int16)
                                                 for _ in range(nf)],
                                 scans_of=[0] * nf)

    # -- scans --------------------------------------------------------------------------------

    def scan(self, sh: mk.ScanHeader) -> int:
        """Check a scan header against the frame (B.2.3, G.1.1.1), decode its data; return the
        offset of the marker after its entropy-coded data."""
        frame = self.frame
        if frame is None:
            raise self.error("SOS before any frame header (SOFn) (T.81 B.2.1)", sh.offset)
        self.scan_count += 1
        number = self.scan_count
        fh = frame.header
        if fh.height == 0:
            self.height_from_dnl(sh)
        d = sh.offset + 4  # Ns byte
        ns = len(sh.components)
        se_at = d + 1 + 2 * ns  # offset of Ss; Se and Ah|Al follow

        indices = []
        for j, sc in enumerate(sh.components):
            i = frame.index_of(sc.id)
            if i is None:
                raise self.error(f"scan {number}: component {sc.id} is not in the frame (frame "
                                 f"components {[c.id for c in fh.components]}) (T.81 B.2.3)",
                                 d + 1 + 2 * j)
            if i in indices:
                raise self.error(f"scan {number}: component {sc.id} appears twice (T.81 B.2.3)",
                                 d + 1 + 2 * j)
            if indices and i < indices[-1]:
                raise self.error(f"scan {number}: component {sc.id} is out of frame order (T.81 "
                                 "B.2.3: the scan's order shall follow the frame header's)",
                                 d + 1 + 2 * j)
            if fh.process == "baseline" and (sc.td > BASELINE_MAX_TABLE
                                             or sc.ta > BASELINE_MAX_TABLE):
                raise self.error(f"scan {number}: component {sc.id} selects Huffman tables "
                                 f"DC {sc.td} / AC {sc.ta}; baseline allows 0..1 (Table B.3)",
                                 d + 2 + 2 * j)
            indices.append(i)

        kind = self.scan_kind(sh, number, se_at)
        if ns > 1:
            units = sum(fh.components[i].h * fh.components[i].v for i in indices)
            if units > MAX_BLOCKS_PER_MCU:
                raise self.error(f"scan {number}: an interleaved MCU of components "
                                 f"{[sc.id for sc in sh.components]} has {units} blocks, more than "
                                 "10 (T.81 B.2.3)", d)

        # Huffman tables the scan's procedure uses must be defined now (B.2.4.2, F.2.2.3); an
        # arithmetic conditioning table always is (defaults without DAC, F.1.4.4.1.4).
        for j, (sc, i) in enumerate(zip(sh.components, indices)):
            uses_dc = kind in (entropy.SEQUENTIAL, entropy.DC_FIRST,
                               lossless.LOSSLESS) and not fh.arithmetic
            uses_ac = kind in (entropy.SEQUENTIAL, entropy.AC_FIRST,
                               entropy.AC_REFINE) and not fh.arithmetic
            if self.recover and not fh.arithmetic and fh.process in ("baseline", "extended"):
                self.standard_tables(sc, uses_dc, uses_ac, number)
            if uses_dc and self.dc_tables[sc.td] is None:
                raise self.error(f"scan {number}: component {sc.id} uses DC Huffman table {sc.td}, "
                                 "which is not defined", d + 2 + 2 * j)
            if uses_ac and self.ac_tables[sc.ta] is None:
                raise self.error(f"scan {number}: component {sc.id} uses AC Huffman table {sc.ta}, "
                                 "which is not defined", d + 2 + 2 * j)
            if fh.process == "lossless":
                continue  # no quantisation in lossless coding (Table B.2: Tqi unused)
            if frame.quant[i] is None:  # latch at the component's first scan
                tq = fh.components[i].tq
                if self.quant_tables[tq] is None:
                    raise self.error(f"scan {number}: component {sc.id} uses quantization table "
                                     f"{tq}, which is not defined when its first scan starts "
                                     "(T.81 B.2.4.1)", sh.offset)
                frame.quant[i] = self.quant_tables[tq].copy()

        self.check_progression(sh, kind, indices, number, se_at)
        for i in indices:
            frame.scans_of[i] += 1
        if fh.process == "lossless":
            if not frame.samples:
                self.allocate_samples(sh)
            return self.decode_lossless(sh, indices, number)
        if frame.coef is None:
            self.allocate(sh)
        return self.decode(sh, kind, indices, number)

    def height_from_dnl(self, sh: mk.ScanHeader) -> None:
        """Y = 0 in the frame header: the number of lines is in a DNL segment right after the
        first scan (B.2.5). Look past the scan's entropy-coded data (to the first marker that is
        not RSTm): a DNL there makes a valid file this reader does not support; anything else
        makes Y = 0 an error."""
        data, n = self.data, len(self.data)
        p = sh.end
        while p + 1 < n:
            if data[p] == 0xFF and data[p + 1] not in (0x00, 0xFF) and \
                    not mk.RST0 <= data[p + 1] <= mk.RST7:
                break
            p += 1
        if p + 1 < n and data[p + 1] == mk.DNL:
            raise UnsupportedFeature("the frame header gives Y = 0 lines and the height follows in "
                                     "a DNL segment (T.81 B.2.5), which is not supported",
                                     source=self.source, offset=p)
        raise self.error("the frame header gives Y = 0 lines but no DNL segment follows the "
                         "first scan (T.81 B.2.2, B.2.5)", self.frame.header.offset + 5)

    def standard_tables(self, sc, uses_dc: bool, uses_ac: bool, number: int) -> None:
        """Recovery: an undefined sequential Huffman table 0 or 1 is T.81 Annex K's (libjpeg-turbo
        std_huff_tables; a Motion-JPEG frame carries no DHT). libjpeg does not warn; the
        reference records it."""
        for tc, th, used, slots in ((0, sc.td, uses_dc, self.dc_tables),
                                    (1, sc.ta, uses_ac, self.ac_tables)):
            if used and slots[th] is None and (tc, th) in entropy.ANNEX_K_TABLES:
                bits, huffval = entropy.ANNEX_K_TABLES[(tc, th)]
                slots[th] = entropy.build_huffman_table(tc, th, bits, huffval, source=self.source,
                                                        offset=None)
                self.warnings.append(f"scan {number}: {'DC' if tc == 0 else 'AC'} Huffman table {th} "
                                     "is not defined: T.81 Annex K's standard table is used "
                                     "(libjpeg-turbo std_huff_tables, as for Motion-JPEG)")

    def scan_kind(self, sh: mk.ScanHeader, number: int, at: int) -> int:
        """The decoding procedure of the scan, after checking Ss, Se, Ah, Al (Table B.3)."""
        process = self.frame.header.process
        values = f"Ss = {sh.ss}, Se = {sh.se}, Ah = {sh.ah}, Al = {sh.al}"
        if process == "lossless":
            precision = self.frame.header.precision
            if not lossless.MIN_PREDICTOR <= sh.ss <= lossless.MAX_PREDICTOR:
                raise self.error(f"scan {number}: {values}; a lossless scan's Ss selects predictor "
                                 "1..7 (T.81 Table B.3, Table H.1)", at)
            if sh.se != 0 or sh.ah != 0:
                raise self.error(f"scan {number}: {values}; a lossless scan has Se = 0 and Ah = 0 "
                                 "(T.81 Table B.3)", at + 1)
            if sh.al >= precision:
                raise self.error(f"scan {number}: {values}; the point transform Pt = Al must be "
                                 f"below P = {precision} (T.81 Table B.3: Al in 0..15; "
                                 "libjpeg-turbo jdlossls.c: Al < data_precision)", at + 2)
            return lossless.LOSSLESS
        if process != "progressive":
            if (sh.ss, sh.se, sh.ah, sh.al) != (0, LAST_COEFFICIENT, 0, 0):
                raise self.error(f"scan {number}: {values}; a sequential DCT scan has Ss = 0, "
                                 "Se = 63, Ah = Al = 0 (T.81 Table B.3)", at)
            return entropy.SEQUENTIAL
        if sh.ss > LAST_COEFFICIENT or sh.se > LAST_COEFFICIENT or sh.se < sh.ss:
            raise self.error(f"scan {number}: {values}; Table B.3 needs 0 <= Ss <= Se <= 63", at)
        if sh.ss == 0 and sh.se != 0:
            raise self.error(f"scan {number}: {values}; a DC scan codes the DC coefficient only "
                             "(Ss = Se = 0; T.81 G.1.1.1.1)", at)
        if sh.ss > 0 and len(sh.components) != 1:
            raise self.error(f"scan {number}: an AC scan ({values}) with {len(sh.components)} "
                             "components; AC scans are non-interleaved (T.81 G.1.1.1.1)", at)
        if sh.ah > MAX_SUCCESSIVE_APPROXIMATION or sh.al > MAX_SUCCESSIVE_APPROXIMATION:
            raise self.error(f"scan {number}: {values}; Table B.3 allows Ah, Al in 0..13", at + 2)
        if sh.ah != 0 and sh.al != sh.ah - 1:
            raise self.error(f"scan {number}: {values}; a refinement scan lowers the bit position "
                             "by one: Al = Ah - 1 (T.81 G.1.1.1.2)", at + 2)
        if sh.ss == 0:
            return entropy.DC_FIRST if sh.ah == 0 else entropy.DC_REFINE
        return entropy.AC_FIRST if sh.ah == 0 else entropy.AC_REFINE

    def check_progression(self, sh: mk.ScanHeader, kind: int, indices: list[int], number: int,
                          at: int) -> None:
        """Sequential: each component in exactly one scan. Progressive (G.1.1.1): the DC first
        scan of a component precedes its AC scans; a first scan (Ah = 0) codes coefficients no
        scan sent before; a refinement's Ah equals the Al of the scan that last sent each
        coefficient of its band. Records Al per coefficient (``coef_bits``)."""
        frame = self.frame
        comps = frame.header.components
        if kind in (entropy.SEQUENTIAL, lossless.LOSSLESS):
            for i in indices:
                if frame.scans_of[i]:
                    raise self.error(f"scan {number}: component {comps[i].id} was already coded; a "
                                     "sequential component is coded in exactly one scan "
                                     "(T.81 A.2, B.2.3)", at - 1 - 2 * len(indices))
            return
        for i in indices:  # jdphuff.c start_pass: the bits before this scan, zig-zag min(Ss,1)..max(Se,9)
            band = ZIGZAG[min(sh.ss, 1):max(sh.se, SMOOTHING_LAST) + 1]
            frame.prev_coef_bits[i][band] = frame.coef_bits[i][band] if number > 1 else 0
        if self.recover:
            self.progression_warnings(sh, indices, number)
            return
        for i in indices:
            bits = frame.coef_bits[i]
            if sh.ss > 0 and bits[0] < 0:
                raise self.error(f"scan {number}: AC scan of component {comps[i].id} before its DC "
                                 "first scan (T.81 G.1.1.1.1)", at)
            for k in range(sh.ss, sh.se + 1):
                previous = int(bits[ZIGZAG[k]])
                if sh.ah == 0 and previous >= 0:
                    raise self.error(f"scan {number}: first scan (Ah = 0) of coefficient {k} of "
                                     f"component {comps[i].id}, which an earlier scan already "
                                     f"sent down to bit {previous} (T.81 G.1.1.1)", at + 2)
                if sh.ah != 0 and previous != sh.ah:
                    state = ("was never sent" if previous < 0
                             else f"was last sent with Al = {previous}")
                    raise self.error(f"scan {number}: refinement with Ah = {sh.ah} of coefficient "
                                     f"{k} of component {comps[i].id}, which {state} (T.81 B.2.3: "
                                     "Ah = the Al of the preceding scan of the band)", at + 2)
        for i in indices:
            frame.coef_bits[i][ZIGZAG[sh.ss:sh.se + 1]] = sh.al

    def progression_warnings(self, sh: mk.ScanHeader, indices: list[int], number: int) -> None:
        """Recovery: libjpeg-turbo's progression checks (jdphuff.c start_pass_phuff_decoder) only
        warn, "Inconsistent progression sequence for component c coefficient k"
        (JWRN_BOGUS_PROGRESSION): an AC scan before the component's DC scan (k = 0), and an Ah
        that is not the Al that last sent coefficient k (0 if never sent); then the scan's Al
        is recorded for its band as usual. c is the component's index in the frame."""
        frame = self.frame
        for i in indices:
            bits = frame.coef_bits[i]
            if sh.ss > 0 and bits[0] < 0:
                self.warnings.append(f"scan {number}: Inconsistent progression sequence for "
                                     f"component {i} coefficient 0")
            for k in range(sh.ss, sh.se + 1):
                expected = max(int(bits[ZIGZAG[k]]), 0)
                if sh.ah != expected:
                    self.warnings.append(f"scan {number}: Inconsistent progression sequence for "
                                         f"component {i} coefficient {k}")
            bits[ZIGZAG[sh.ss:sh.se + 1]] = sh.al

    def allocate(self, sh: mk.ScanHeader) -> None:
        """Allocate the coefficients of every component at the first scan, if the remaining
        data can hold at least one bit per block of every component (else it is truncated)."""
        frame = self.frame
        coded_blocks = sum(_ceil_div(w, BLOCK_SIZE) * _ceil_div(h, BLOCK_SIZE)
                           for w, h in zip(frame.widths, frame.heights))
        remaining = len(self.data) - sh.end
        # (Recovery decodes a cut scan as mid-gray blocks, so there only max_pixels bounds it.)
        if not frame.header.arithmetic and not self.recover and \
                coded_blocks * MIN_BITS_PER_BLOCK > BITS_PER_BYTE * remaining:
            raise self.error(f"truncated: the frame has {coded_blocks} blocks, each coded with at "
                             f"least one bit, but only {remaining} bytes follow the first scan "
                             "header", sh.end)
        frame.coef = np.zeros((frame.base[-1], COEFFICIENTS), dtype=np.int32)

    def allocate_samples(self, sh: mk.ScanHeader) -> None:
        """Lossless: allocate every component's sample plane at the first scan, if the remaining
        data can hold one bit per sample (every difference costs a Huffman code, >= 1 bit)."""
        frame = self.frame
        samples = sum(w * h for w, h in zip(frame.widths, frame.heights))
        remaining = len(self.data) - sh.end
        if samples > BITS_PER_BYTE * remaining:
            raise self.error(f"truncated: the lossless frame has {samples} samples, each coded "
                             f"with at least one bit, but only {remaining} bytes follow the first "
                             "scan header", sh.end)
        frame.samples = [np.zeros((h, w), dtype=np.int32)
                         for w, h in zip(frame.widths, frame.heights)]

    def decode_lossless(self, sh: mk.ScanHeader, indices: list[int], number: int) -> int:
        """A lossless scan (:mod:`.lossless`): the MCU layout of :meth:`decode` with one sample
        per data unit (H.1.1), differences into a padded plane per component, then the
        reconstruction of H.1.2.1 over each component's real samples."""
        frame = self.frame
        comps = frame.header.components
        interleaved = len(indices) > 1
        if not interleaved:
            i = indices[0]
            mcus_x, mcus_y = frame.widths[i], frame.heights[i]
            layout = [(0, 0, 0)]
            comp_h, comp_v = [1], [1]
            strides, rows = [mcus_x], [mcus_y]
        else:
            mcus_x = _ceil_div(frame.header.width, frame.hmax)
            mcus_y = _ceil_div(frame.header.height, frame.vmax)
            layout = [(j, dy, dx) for j, i in enumerate(indices)
                      for dy in range(comps[i].v) for dx in range(comps[i].h)]
            comp_h = [comps[i].h for i in indices]
            comp_v = [comps[i].v for i in indices]
            strides = [mcus_x * h for h in comp_h]
            rows = [mcus_y * v for v in comp_v]
        ri = self.restart_interval
        if ri and ri % mcus_x:
            raise self.error(f"scan {number}: restart interval Ri = {ri} MCUs is not a whole "
                             f"number of MCU rows ({mcus_x} MCUs each); lossless prediction "
                             "restarts at the start of a line (T.81 H.1.2.1; libjpeg-turbo "
                             "jddiffct.c refuses it too)", sh.offset)

        for j, sc in enumerate(sh.components):  # H.1.2.2, Table H.2: categories 0..16 only
            table = self.dc_tables[sc.td]
            if table.huffval.size and int(table.huffval.max()) > lossless.MAX_LOSSLESS_CATEGORY:
                raise self.error(f"scan {number}: component {sc.id} uses Huffman table {sc.td}, "
                                 f"which holds symbol {int(table.huffval.max())}; a lossless "
                                 "difference category is 0..16 (T.81 Table H.2; libjpeg-turbo "
                                 "jdhuff.c refuses the table too)", sh.offset + 6 + 2 * j)

        base = [0]
        for stride, r in zip(strides, rows):
            base.append(base[-1] + stride * r)
        diff = np.zeros(base[-1], dtype=np.int32)
        blk_comp, blk_dy, blk_dx = (ints([b[n] for b in layout]) for n in range(3))
        tables = entropy.stack_tables(self.dc_tables, self.ac_tables)
        state = np.zeros(entropy.STATE_SIZE, dtype=np.int64)
        state[entropy.S_POS] = sh.end
        run = lossless.decode_scan_jit if self.use_numba else lossless.decode_scan
        code = run(self.buf, diff, mcus_x, mcus_y, ri, blk_comp, blk_dy, blk_dx, ints(base[:-1]),
                   ints(strides), ints(comp_h), ints(comp_v),
                   ints([sc.td for sc in sh.components]), tables, state)
        if code != entropy.OK:
            raise lossless.scan_error(code, state, self.buf, scan=number,
                                      total_mcus=mcus_x * mcus_y, restart_interval=ri,
                                      block_components=[comps[indices[b[0]]].id for b in layout],
                                      source=self.source)
        self.pad_mismatches += int(state[entropy.S_PAD_MISMATCHES])
        precision, pt = frame.header.precision, sh.al
        initial = 1 << (precision - pt - 1)  # H.1.2.1: Px of the first sample of a first row
        rows_per_interval = ri // mcus_x if ri else 0
        undo = lossless.undifference_jit if self.use_numba else lossless.undifference
        for j, i in enumerate(indices):
            out = frame.samples[i]
            first = lossless.first_rows(frame.heights[i], comps[i].v, interleaved,
                                        rows_per_interval)
            undo(diff, base[j], strides[j], frame.widths[i], frame.heights[i], first, sh.ss,
                 initial, out)
            problem = lossless.range_warning(out, precision, pt, comps[i].id)
            if problem:
                self.warnings.append(f"scan {number}: {problem}")
            frame.point_transforms[i] = pt
        frame.predictor, frame.point_transform = sh.ss, pt
        return int(state[entropy.S_POS])

    def decode(self, sh: mk.ScanHeader, kind: int, indices: list[int], number: int) -> int:
        """Lay out the scan's MCU (A.2.2/A.2.3), run the entropy decoder, map its errors."""
        frame = self.frame
        comps = frame.header.components
        if len(indices) == 1:
            i = indices[0]  # non-interleaved: one block per MCU over the component's own blocks
            mcus_x = _ceil_div(frame.widths[i], BLOCK_SIZE)
            mcus_y = _ceil_div(frame.heights[i], BLOCK_SIZE)
            layout = [(0, 0, 0)]
            comp_h, comp_v = [1], [1]
        else:
            mcus_x = _ceil_div(frame.header.width, BLOCK_SIZE * frame.hmax)
            mcus_y = _ceil_div(frame.header.height, BLOCK_SIZE * frame.vmax)
            layout = [(j, dy, dx) for j, i in enumerate(indices)
                      for dy in range(comps[i].v) for dx in range(comps[i].h)]
            comp_h = [comps[i].h for i in indices]
            comp_v = [comps[i].v for i in indices]

        blk_comp, blk_dy, blk_dx = (ints([b[n] for b in layout]) for n in range(3))
        if frame.header.arithmetic:
            return self.decode_arithmetic(sh, kind, indices, number, mcus_x, mcus_y, layout,
                                          blk_comp, blk_dy, blk_dx, comp_h, comp_v)
        tables = entropy.stack_tables(self.dc_tables, self.ac_tables)
        state = np.zeros(entropy.STATE_SIZE, dtype=np.int64)
        state[entropy.S_POS] = sh.end
        state[entropy.S_RECOVER] = int(self.recover)
        run = entropy.decode_scan_jit if self.use_numba else entropy.decode_scan
        code = run(self.buf, frame.coef, mcus_x, mcus_y, self.restart_interval, blk_comp, blk_dy,
                   blk_dx, ints([frame.base[i] for i in indices]),
                   ints([frame.blocks_wide[i] for i in indices]), ints(comp_h), ints(comp_v),
                   ints([sc.td for sc in sh.components]),
                   ints([entropy.AC_SLOT_BASE + sc.ta for sc in sh.components]),
                   kind, sh.ss, sh.se, sh.al, tables, state)
        if code != entropy.OK:
            raise entropy.scan_error(code, state, self.buf, scan=number, kind=kind,
                                     total_mcus=mcus_x * mcus_y,
                                     restart_interval=self.restart_interval,
                                     block_components=[comps[indices[b[0]]].id for b in layout],
                                     source=self.source)
        self.pad_mismatches += int(state[entropy.S_PAD_MISMATCHES])
        if self.recover:
            self.recovery_warnings(state, number)
        last = int(state[entropy.S_LAST_GOOD_MCU])
        row = last // mcus_x if len(indices) > 1 else last // mcus_x // comps[indices[0]].v
        frame.last_good_imcu_row = None if last == mcus_x * mcus_y - 1 else row
        return int(state[entropy.S_POS])

    def recovery_warnings(self, state: np.ndarray, number: int) -> None:
        """What recovery repaired in scan ``number``, in libjpeg-turbo's words."""
        hit, discarded = int(state[entropy.S_HIT_MARKER]), int(state[entropy.S_DISCARDED])
        resync, overrun = int(state[entropy.S_RESYNC]), int(state[entropy.S_OVERRUN])
        if hit:
            self.warnings.append(f"scan {number}: Corrupt JPEG data: premature end of data segment "
                                 f"({hit} time(s)); the rest of the restart interval is left at "
                                 "zero, as libjpeg-turbo")
        if discarded:
            self.warnings.append(f"scan {number}: Corrupt JPEG data: {discarded} extraneous bytes "
                                 "before a marker (skipped, as libjpeg-turbo)")
        if resync:
            self.warnings.append(f"scan {number}: Corrupt JPEG data: found {resync} unexpected "
                                 "marker(s) instead of the next RSTm (libjpeg-turbo resynchronises)")
        if int(state[entropy.S_BAD_CODE]):
            self.warnings.append(f"scan {number}: Corrupt JPEG data: bad Huffman code "
                                 f"({int(state[entropy.S_BAD_CODE])} time(s); 17 bits read as "
                                 "symbol 0, as libjpeg-turbo)")
        if int(state[entropy.S_BAD_REFINE]):
            self.warnings.append(f"scan {number}: Corrupt JPEG data: bad Huffman code "
                                 f"({int(state[entropy.S_BAD_REFINE])} refinement symbol(s) of "
                                 "size other than 1, read as size 1 as libjpeg-turbo does)")
        if overrun:
            self.warnings.append(f"scan {number}: {overrun} zero run(s) past the end of the "
                                 "spectral band (libjpeg-turbo stores the coefficient at "
                                 "jpeg_natural_order[k] and ends the block)")

    def decode_arithmetic(self, sh: mk.ScanHeader, kind: int, indices: list[int], number: int,
                          mcus_x: int, mcus_y: int, layout: list, blk_comp: np.ndarray,
                          blk_dy: np.ndarray, blk_dx: np.ndarray, comp_h: list[int],
                          comp_v: list[int]) -> int:
        """The arithmetic-coded counterpart of :meth:`decode` (:mod:`.arithmetic`): the same
        MCU layout, conditioning tables Tdj/Taj with their DAC values instead of Huffman tables."""
        frame = self.frame
        comps = frame.header.components

        state = np.zeros(arithmetic.STATE_SIZE, dtype=np.int64)
        state[arithmetic.S_POS] = sh.end
        run = arithmetic.decode_scan_jit if self.use_numba else arithmetic.decode_scan
        code = run(self.buf, frame.coef, mcus_x, mcus_y, self.restart_interval, blk_comp, blk_dy,
                   blk_dx, ints([frame.base[i] for i in indices]),
                   ints([frame.blocks_wide[i] for i in indices]), ints(comp_h), ints(comp_v),
                   ints([sc.td for sc in sh.components]), ints([sc.ta for sc in sh.components]),
                   kind, sh.ss, sh.se, sh.al, ints(self.cond_l), ints(self.cond_u),
                   ints(self.cond_kx), state)
        if code != entropy.OK:
            raise arithmetic.scan_error(code, state, self.buf, scan=number, kind=kind,
                                        total_mcus=mcus_x * mcus_y,
                                        restart_interval=self.restart_interval,
                                        block_components=[comps[indices[b[0]]].id for b in layout],
                                        source=self.source)
        return int(state[arithmetic.S_POS])

    def lossless_image(self) -> JpegImage:
        """The JpegImage of a lossless frame: samples instead of coefficients."""
        frame = self.frame
        fh = frame.header
        pts = frame.point_transforms
        components = []
        for i, c in enumerate(fh.components):
            components.append(Component(
                id=c.id, h=c.h, v=c.v, tq=c.tq, width=frame.widths[i], height=frame.heights[i],
                quant=np.zeros(COEFFICIENTS, dtype=np.uint16),
                coefficients=np.zeros((0, 0, COEFFICIENTS), dtype=np.int32),
                samples=_lossless_output(frame.samples[i], pts.get(i, 0))))
        return self.jpeg_image(components, predictor=frame.predictor,
                               point_transform=frame.point_transform)

    def jpeg_image(self, components: list, **process_fields) -> JpegImage:
        """The JpegImage of the frame read, with its header, metadata and warnings (the joined
        ICC profile, or why it was ignored; padding mismatches)."""
        icc, problem = mk.join_icc_chunks(self.icc_chunks)
        if problem:
            self.warnings.append(f"ICC profile ignored: {problem}")
        if self.pad_mismatches:
            self.warnings.append(f"{self.pad_mismatches} entropy-coded segment(s) end with padding "
                                 "bits that are not all 1 (T.81 F.1.2.3)")
        fh = self.frame.header
        return JpegImage(width=fh.width, height=fh.height, precision=fh.precision,
                         process=fh.process, arithmetic=fh.arithmetic,
                         components=tuple(components), jfif=self.jfif,
                         adobe_transform=self.adobe, exif=self.exif, xmp=self.xmp, icc_profile=icc,
                         restart_interval=self.restart_interval, warnings=tuple(self.warnings),
                         **process_fields)

    # -- end of image -------------------------------------------------------------------------

    def end_without_eoi(self, pos: int, after_scan: bool) -> None:
        """The data ends before EOI: always an error (B.2.1: the compressed image data ends with
        EOI). Even right after a complete scan: without EOI a decoder cannot tell a complete
        file from one cut at a scan boundary, which for a progressive file silently drops the
        remaining scans (libjpeg decodes it with the warning "Premature end of JPEG file")."""
        where = (f"right after the entropy-coded data of scan {self.scan_count}" if after_scan
                 else "after a marker segment")
        missing = "" if self.frame else ", before any frame header"
        missing += "" if self.scan_count else ", before any scan"
        raise self.error(f"truncated: the file ends at byte {pos} {where}{missing}, without an "
                         "EOI marker (T.81 B.2.1)", pos)

    def end_of_image(self, offset: int, end: int) -> None:
        if self.frame is None:
            raise self.error("EOI before any frame header (SOFn)", offset)
        if not self.scan_count:
            raise self.error("EOI before any scan (SOS): the image has no data", offset)
        if self.segments_after_scan:
            self.warnings.append("segments after the last scan, before EOI, ignored: "
                                 + ", ".join(self.segments_after_scan))
        if end < len(self.data):
            self.warnings.append(f"{len(self.data) - end} bytes after the EOI marker ignored")
        self.check_complete(offset)

    def check_complete(self, offset: int) -> None:
        frame = self.frame
        for i, c in enumerate(frame.header.components):
            if not frame.scans_of[i]:
                raise self.error(f"component {c.id} is never coded in a scan", offset)

    def image(self) -> JpegImage:
        frame = self.frame
        fh = frame.header
        components = []
        if fh.process == "lossless":
            return self.lossless_image()
        for i, c in enumerate(fh.components):
            start, stop = frame.base[i], frame.base[i + 1]
            coefficients = frame.coef[start:stop].reshape(frame.blocks_high[i],
                                                          frame.blocks_wide[i], COEFFICIENTS)
            components.append(Component(
                id=c.id, h=c.h, v=c.v, tq=c.tq, width=frame.widths[i], height=frame.heights[i],
                quant=frame.quant[i], coefficients=coefficients,
                coef_bits=frame.coef_bits[i] if fh.process == "progressive" else None,
                prev_coef_bits=(frame.prev_coef_bits[i] if self.scan_count > 1
                                else np.full(COEFFICIENTS, -1, dtype=np.int16))
                if fh.process == "progressive" else None))
        return self.jpeg_image(components, last_good_imcu_row=frame.last_good_imcu_row)


def _lossless_output(values: np.ndarray, pt: int) -> np.ndarray:
    """The output samples: value << Pt cut to 8 bits (jdlossls.c simple_upscale's JSAMPLE cast)."""
    return ((values.astype(np.int64) << pt) & 0xFF).astype(np.uint8)


def read_jpeg(data: bytes, *, source: str = "<bytes>", max_pixels: int = DEFAULT_MAX_PIXELS,
              use_numba: bool = True, recover: bool = False) -> JpegImage:
    """Parse and entropy-decode a JPEG file (see the module docstring for what is accepted).

    - ``source``: the file name used in error messages.
    - ``max_pixels``: X·Y above this raises LimitsExceeded before any allocation.
    - ``use_numba=False`` runs the plain-Python scan decoder (the specification; slow).
    - ``recover=True`` (the decode knob ``on_corrupt="libjpeg-turbo"``): repair damaged Huffman
      coded data as libjpeg-turbo does (module docstring, "Recovery"), each repair a warning.
    """
    return _Reader(bytes(data), source, max_pixels, use_numba, recover).run()
