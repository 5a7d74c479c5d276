"""Deterministic JPEG inputs for the test corpus (ITU-T T.81 | ISO/IEC 10918-1).

Two sources of bytes:

- **Encoder variants** written by the installed encoders with every parameter pinned: Pillow
  (``PIL.Image.save(..., "JPEG")`` -> libjpeg-turbo) and OpenCV (``cv2.imencode`` with the
  ``IMWRITE_JPEG_*`` flags -> its own static libjpeg-turbo). The bytes depend on the encoder
  builds: they are reproducible for the pinned versions in :data:`PINNED_ENCODERS` (the tests
  check the installed versions) and will change if Pillow or OpenCV is upgraded.
- **Byte-level edits** that no encoder writes: a progressive file cut after its first k scans,
  and the hostile files of :func:`negative_jpegs` (truncations, an invalid Huffman code, missing
  markers, impossible or huge dimensions, 12-bit precision).
- **Arithmetic-coded files** (SOF9, with and without a DAC segment) written by the small
  QM-coder of :mod:`.jpeg_arith`, since neither Pillow nor OpenCV writes arithmetic coding.

Test tooling, not part of the reference: it shares no code with the reference JPEG decoder
(``conformance.reference.jpeg``). The marker walker here is deliberately simple: it is only used
on the well-formed files the encoders write, before they are edited.

Source images are the synthetic generators of :mod:`conformance.synthetic` and the corpus
photographs (passed in as a callable so this module does not import the corpus).
"""

from __future__ import annotations

import inspect
import io
import struct
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .. import synthetic as syn
from .jpeg_arith import encode_gray_arithmetic
from .png import exif_payload

JPEG = "image/jpeg"

# The bytes of every encoder variant are those of these builds (Pillow's and OpenCV's wheels
# each link their own libjpeg-turbo). tests/test_jpeg_corpus.py checks the installed versions.
PINNED_ENCODERS = {"pillow": ("13.0.0", "libjpeg-turbo 3.2.0"),
                   "opencv": ("5.0.0", "libjpeg-turbo 3.1.2")}

# ---------------------------------------------------------------------------------------------
# Markers (T.81 Table B.1)
# ---------------------------------------------------------------------------------------------

SOI, EOI, SOS, DHT = 0xD8, 0xD9, 0xDA, 0xC4
RST0, RST7 = 0xD0, 0xD7  # RSTm, m = 0..7
TEM = 0x01
SOF1 = 0xC1  # extended sequential DCT, Huffman (8 or 12-bit)
# SOFn: C0-C3 Huffman, C5-C7 differential Huffman, C9-CB arithmetic, CD-CF differential arithmetic
SOF_MARKERS = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
STANDALONE = frozenset({SOI, EOI, TEM, *range(RST0, RST7 + 1)})  # B.1.1.4: no length field
EOI_BYTES = bytes([0xFF, EOI])

# Luma sampling factors (H, V) per subsampling name; chroma is always 1x1 (T.81 A.1.1).
SAMPLING_FACTORS = {"444": (1, 1), "422": (2, 1), "420": (2, 2), "440": (1, 2), "411": (4, 1)}
PILLOW_SUBSAMPLING = {"444": 0, "422": 1, "420": 2}  # Pillow's codes (JpegEncode.c)


@dataclass(frozen=True)
class Segment:
    """One marker and what follows it: ``offset`` of its 0xFF, ``end`` just past it. For SOS,
    ``end`` also covers the entropy-coded data (and RSTm markers) that follow the header."""

    marker: int
    offset: int
    end: int

    def payload(self, data: bytes) -> bytes:
        """The marker segment's parameters after the 2-byte length (empty for standalone)."""
        if self.marker in STANDALONE:
            return b""
        length = struct.unpack(">H", data[self.offset + 2:self.offset + 4])[0]
        return data[self.offset + 4:self.offset + 2 + length]

    def header_end(self, data: bytes) -> int:
        """Offset just past the marker segment itself (for SOS: where entropy-coded data starts)."""
        if self.marker in STANDALONE:
            return self.offset + 2
        return self.offset + 2 + struct.unpack(">H", data[self.offset + 2:self.offset + 4])[0]


def segments(data: bytes) -> list[Segment]:
    """Walk a well-formed JPEG: SOI, marker segments (B.1.1.4: marker, 2-byte length Lx counting
    itself), fill bytes 0xFF before a marker (B.1.1.2), and after each SOS the entropy-coded data,
    which ends at the first 0xFF followed by neither 0x00 (stuffing, B.1.1.5) nor RSTm.
    Raises ValueError on anything else (this is for encoder output, not for hostile input)."""
    if data[:2] != bytes([0xFF, SOI]):
        raise ValueError("not a JPEG: no SOI")
    out = [Segment(SOI, 0, 2)]
    pos = 2
    while pos < len(data):
        if data[pos] != 0xFF:
            raise ValueError(f"expected a marker at byte {pos}")
        while pos + 1 < len(data) and data[pos + 1] == 0xFF:  # fill bytes
            pos += 1
        marker = data[pos + 1]
        if marker in STANDALONE:
            out.append(Segment(marker, pos, pos + 2))
            pos += 2
            if marker == EOI:
                break
            continue
        end = pos + 2 + struct.unpack(">H", data[pos + 2:pos + 4])[0]
        if marker == SOS:
            end = _entropy_end(data, end)
        out.append(Segment(marker, pos, end))
        pos = end
    return out


def _entropy_end(data: bytes, pos: int) -> int:
    while True:
        pos = data.index(b"\xff", pos)
        nxt = data[pos + 1]
        if nxt == 0x00 or RST0 <= nxt <= RST7:
            pos += 2
            continue
        return pos


def find(data: bytes, marker: int) -> list[Segment]:
    return [s for s in segments(data) if s.marker == marker]


@dataclass(frozen=True)
class Frame:
    """The SOFn parameters (T.81 B.2.2, Figure B.3): P, Y, X and (C, H, V, Tq) per component."""

    marker: int
    precision: int
    height: int
    width: int
    components: tuple[tuple[int, int, int, int], ...]

    @property
    def mcu_size(self) -> tuple[int, int]:
        """MCU height and width in samples: 8·Vmax x 8·Hmax (A.2.4), or one block if Nf = 1."""
        if len(self.components) == 1:
            return 8, 8
        return 8 * max(c[2] for c in self.components), 8 * max(c[1] for c in self.components)


def frame(data: bytes) -> Frame:
    sof = next(s for s in segments(data) if s.marker in SOF_MARKERS)
    p = sof.payload(data)
    precision, height, width, nf = struct.unpack(">BHHB", p[:6])
    comps = tuple((p[6 + 3 * i], p[7 + 3 * i] >> 4, p[7 + 3 * i] & 15, p[8 + 3 * i]) for i in range(nf))
    return Frame(sof.marker, precision, height, width, comps)


# ---------------------------------------------------------------------------------------------
# Encoders (parameters pinned)
# ---------------------------------------------------------------------------------------------


def _as_planes(samples: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(samples, dtype=np.uint8)
    return a[:, :, None] if a.ndim == 2 else a


def encode_pillow(samples: np.ndarray, *, quality: int, sampling: str, progressive: bool = False,
                  optimize: bool = False, restart_blocks: int = 0, restart_rows: int = 0,
                  exif: bytes | None = None, icc_profile: bytes | None = None) -> bytes:
    """Pillow ``Image.save(fp, "JPEG", ...)`` with every option given explicitly.

    ``sampling``: "444", "422", "420" (RGB -> YCbCr with that chroma subsampling), "gray" (an
    (H, W) or (H, W, 1) image, mode L), "cmyk" (an (H, W, 4) image, mode CMYK: Pillow writes the
    values *inverted* with an Adobe APP14 marker, transform 0, as Photoshop does), "rgb" (3
    components stored as RGB with Adobe transform 0, Pillow ``keep_rgb=True``, no subsampling).
    ``restart_blocks`` / ``restart_rows``: Pillow's ``restart_marker_blocks`` (DRI in MCUs) and
    ``restart_marker_rows`` (DRI = that many MCU rows). ``exif``: the APP1 payload, written as
    given (it must start with ``Exif\\0\\0``). ``icc_profile``: APP2 ICC_PROFILE segment(s).
    Everything else is Pillow's default: JFIF APP0 density 1:1 (unit 0), ``smooth=0``, no COM.
    """
    from PIL import Image

    a = _as_planes(samples)
    h, w, c = a.shape
    mode = {"gray": "L", "cmyk": "CMYK"}.get(sampling, "RGB")
    if c != {"L": 1, "CMYK": 4, "RGB": 3}[mode]:
        raise ValueError(f"{sampling} needs {mode} samples, got {c} channel(s)")
    im = Image.frombytes(mode, (w, h), a.tobytes())
    options: dict = dict(quality=quality, progressive=progressive, optimize=optimize,
                         restart_marker_blocks=restart_blocks, restart_marker_rows=restart_rows)
    if sampling in PILLOW_SUBSAMPLING:
        options["subsampling"] = PILLOW_SUBSAMPLING[sampling]
    elif sampling == "rgb":
        options.update(keep_rgb=True, subsampling=PILLOW_SUBSAMPLING["444"])
    elif sampling not in ("gray", "cmyk"):
        raise ValueError(f"Pillow cannot write sampling {sampling!r}")
    if exif is not None:
        options["exif"] = exif
    if icc_profile is not None:
        options["icc_profile"] = icc_profile
    buf = io.BytesIO()
    im.save(buf, "JPEG", **options)
    return buf.getvalue()


def encode_opencv(samples: np.ndarray, *, quality: int, sampling: str, progressive: bool = False,
                  optimize: bool = False, restart_blocks: int = 0) -> bytes:
    """``cv2.imencode(".jpg", bgr, flags)`` with every JPEG flag given explicitly.

    ``samples`` are RGB (reversed to BGR for OpenCV) or gray ((H, W) / (H, W, 1)); ``sampling``
    is "444", "422", "420", "440", "411" (``IMWRITE_JPEG_SAMPLING_FACTOR_<name>``: luma factors
    (H, V) of :data:`SAMPLING_FACTORS`, chroma 1x1) or "gray". ``restart_blocks``:
    ``IMWRITE_JPEG_RST_INTERVAL`` (DRI in MCUs). Luma/chroma quality are left at -1 (= quality).
    """
    import cv2

    a = _as_planes(samples)
    flags = [cv2.IMWRITE_JPEG_QUALITY, quality, cv2.IMWRITE_JPEG_PROGRESSIVE, int(progressive),
             cv2.IMWRITE_JPEG_OPTIMIZE, int(optimize), cv2.IMWRITE_JPEG_RST_INTERVAL, restart_blocks]
    if sampling == "gray":
        if a.shape[2] != 1:
            raise ValueError("gray needs (H, W) samples")
        image = a[:, :, 0]
    elif sampling in SAMPLING_FACTORS:
        if a.shape[2] != 3:
            raise ValueError(f"{sampling} needs RGB samples")
        image = np.ascontiguousarray(a[:, :, ::-1])
        flags += [cv2.IMWRITE_JPEG_SAMPLING_FACTOR, getattr(cv2, f"IMWRITE_JPEG_SAMPLING_FACTOR_{sampling}")]
    else:
        raise ValueError(f"OpenCV cannot write sampling {sampling!r}")
    ok, buf = cv2.imencode(".jpg", image, flags)
    if not ok:  # pragma: no cover - imencode does not fail on valid 8-bit input
        raise RuntimeError("cv2.imencode failed")
    return buf.tobytes()


def exif_app1(orientation: int) -> bytes:
    """APP1 payload "Exif\\0\\0" + a TIFF header and IFD0 holding only Orientation (Exif 2.32
    §4.7.2 for the APP1 identifier; the TIFF structure is :func:`..png.exif_payload`, big-endian)."""
    return exif_payload(orientation, "MM", prefix=True)


ICC_PROFILE = b"conformance-test-profile" * 4  # opaque bytes: carried, never applied by anyone


# ---------------------------------------------------------------------------------------------
# Byte-level edits
# ---------------------------------------------------------------------------------------------


def keep_scans(data: bytes, k: int) -> bytes:
    """Everything up to the end of the k-th scan (tables between scans included), then EOI.

    For a progressive file (T.81 G.1.1) the result is a valid file whose coefficients are not all
    sent or refined: a decoder shows what the first k scans give. libjpeg-turbo (default
    ``do_block_smoothing``) then *estimates* missing low-frequency AC coefficients from the
    neighbouring DC values (``jdcoefct.c decompress_smooth_data``), so its pixels are not a plain
    IDCT of the received coefficients.
    """
    scans = find(data, SOS)
    if not 1 <= k <= len(scans):
        raise ValueError(f"the file has {len(scans)} scans, cannot keep {k}")
    return data[:scans[k - 1].end] + EOI_BYTES


def patch_sof(data: bytes, *, marker: int | None = None, precision: int | None = None,
              height: int | None = None, width: int | None = None) -> bytes:
    """Rewrite SOFn fields in place (T.81 B.2.2: SOFn, Lf, P, Y, X, ...), unchecked."""
    sof = next(s for s in segments(data) if s.marker in SOF_MARKERS)
    out = bytearray(data)
    if marker is not None:
        out[sof.offset + 1] = marker
    p = sof.offset + 4  # P
    if precision is not None:
        out[p] = precision
    if height is not None:
        out[p + 1:p + 3] = struct.pack(">H", height)
    if width is not None:
        out[p + 3:p + 5] = struct.pack(">H", width)
    return bytes(out)


def huffman_tables(data: bytes) -> dict[tuple[int, int], tuple[tuple[int, ...], bytes]]:
    """(Tc, Th) -> (BITS[1..16], HUFFVAL) of every DHT table (B.2.4.2, Figure B.7)."""
    tables = {}
    for seg in find(data, DHT):
        p = seg.payload(data)
        i = 0
        while i < len(p):
            tc, th = p[i] >> 4, p[i] & 15
            bits = tuple(p[i + 1:i + 17])
            n = sum(bits)
            tables[(tc, th)] = (bits, p[i + 17:i + 17 + n])
            i += 17 + n
    return tables


def huffman_codes(bits: tuple[int, ...]) -> list[tuple[int, int]]:
    """(length, code) of every code word, in HUFFVAL order (T.81 Annex C: Figure C.1
    Generate_size_table, Figure C.2 Generate_code_table: canonical codes, consecutive within a
    length, shifted left by one when the length grows)."""
    sizes = [length for length in range(1, 17) for _ in range(bits[length - 1])]
    codes, code, si = [], 0, sizes[0] if sizes else 0
    for size in sizes:
        while size > si:
            code <<= 1
            si += 1
        codes.append((size, code))
        code += 1
    return codes


# Stuffed 0xFF bytes (B.1.1.5): each 0xFF 0x00 pair carries eight 1-bits of entropy-coded data.
# Two of them give 16 one-bits: the longest code word is 16 bits (B.2.4.2, Li for i = 1..16).
ALL_ONES_16 = b"\xff\x00\xff\x00"


def insert_invalid_huffman_code(data: bytes) -> bytes:
    """Put sixteen 1-bits where the first DC Huffman code of the first scan is read.

    The first code of a sequential scan is the DC difference category of the first block of the
    first component (F.1.2.1), decoded with that component's DC table Td (F.2.2.3, DECODE). A
    16-bit run of ones is a code word only if, for some length L, the all-ones L-bit word is a
    code of the table; this function generates the table's codes (Annex C) and refuses a table
    where it is one. Encoders never use the all-ones code (K.2: it is reserved), so a decoder
    that follows Figure F.16 runs past MAXCODE(16) and must reject the file.
    """
    scan = find(data, SOS)[0]
    header = scan.payload(data)
    first_component = header[1]
    td = header[2] >> 4
    comp_ids = [c[0] for c in frame(data).components]
    if first_component not in comp_ids:
        raise ValueError("scan names a component the frame does not have")
    bits, _ = huffman_tables(data)[(0, td)]
    for length, code in huffman_codes(bits):
        if code == (1 << length) - 1:
            raise ValueError(f"DC table {td} uses the all-ones code of length {length}")
    at = scan.header_end(data)
    return data[:at] + ALL_ONES_16 + data[at:]


# ---------------------------------------------------------------------------------------------
# The variant matrix
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipe:
    """One corpus JPEG: writer, every encoder knob, the source image, and edits.

    ``source``: a :mod:`conformance.synthetic` generator name with ``size`` = (H, W), or
    "photo:<name>" with ``size`` = the box-reduction factor. ``scans``: keep only the first
    ``scans`` scans of the (progressive) file (:func:`keep_scans`).
    """

    writer: str
    quality: int
    sampling: str
    source: str
    size: tuple[int, int] | int
    progressive: bool = False
    optimize: bool = False
    restart_blocks: int = 0
    restart_rows: int = 0
    orientation: int | None = None
    icc: bool = False
    scans: int | None = None

    def knobs(self) -> str:
        """Knob values in a fixed order (STYLE.md item 8): quality, sampling, coding, extras."""
        parts = [f"q{self.quality}", self.sampling, "prog" if self.progressive else "seq"]
        parts += ["opt"] if self.optimize else []
        parts += [f"rst{self.restart_blocks}"] if self.restart_blocks else []
        parts += [f"rstrow{self.restart_rows}"] if self.restart_rows else []
        parts += [f"exif{self.orientation}"] if self.orientation is not None else []
        parts += ["icc"] if self.icc else []
        parts += [f"scans{self.scans}"] if self.scans is not None else []
        return ".".join(parts)


SYN = {"zone_plate": syn.zone_plate, "gradients": syn.gradients, "checker": syn.checkerboard,
       "colour_bars": syn.colour_bars, "noise": syn.noise, "text": syn.text_like}
ZP = (37, 45)  # odd sizes, a multiple of no MCU size (8, 16 or 32 samples)
GR = (24, 40)  # whole 8x8 blocks: a gray image fills its MCUs exactly, a 4:2:0 one does not


def recipes() -> list[Recipe]:
    """The corpus JPEGs (46 files, about 100 kB in all)."""
    pil, cv = "pillow", "opencv"
    r = [Recipe(pil, q, "420", "photo:astronaut", 8) for q in (50, 75, 90, 95)]  # quality
    r += [Recipe(pil, 90, s, "zone_plate", ZP) for s in ("444", "422", "420")]  # subsampling
    # OpenCV's libjpeg-turbo writes the same bytes as Pillow's for the same settings (measured),
    # so OpenCV writes what Pillow cannot (4:4:0, 4:1:1) and combinations not repeated below
    r += [Recipe(cv, 90, s, "zone_plate", ZP) for s in ("440", "411")]
    r += [Recipe(pil, 90, "gray", "gradients", GR), Recipe(cv, 90, "gray", "text", (29, 43))]
    r += [Recipe(pil, 90, "420", "photo:chelsea", 4, progressive=True),  # progressive
          Recipe(pil, 90, "444", "zone_plate", ZP, progressive=True),
          Recipe(cv, 90, "440", "gradients", (33, 47), progressive=True),
          Recipe(pil, 90, "gray", "gradients", GR, progressive=True)]
    r += [Recipe(pil, 90, "420", "text", (29, 43), optimize=True),  # optimised Huffman tables
          Recipe(cv, 90, "440", "text", (29, 43), optimize=True)]
    r += [Recipe(pil, 90, "420", "zone_plate", ZP, restart_blocks=2),  # restart intervals
          Recipe(pil, 90, "420", "zone_plate", ZP, restart_rows=1),
          Recipe(cv, 90, "440", "zone_plate", ZP, restart_blocks=4),
          Recipe(cv, 90, "444", "checker", (16, 24), restart_blocks=1),
          Recipe(cv, 90, "422", "gradients", (33, 47), progressive=True, restart_blocks=2)]
    r += [Recipe(pil, 90, "cmyk", "cmyk_bars", GR), Recipe(pil, 90, "rgb", "zone_plate", ZP)]
    r += [Recipe(pil, 90, "420", "gradients", (12, 20), orientation=o) for o in range(1, 9)]
    r += [Recipe(pil, 90, "420", "gradients", (12, 20), icc=True)]
    r += [Recipe(pil, 90, "420", "noise", (1, 1)), Recipe(pil, 90, "420", "zone_plate", (17, 13)),
          Recipe(pil, 90, "420", "zone_plate", (3, 150)), Recipe(pil, 90, "420", "zone_plate", (150, 3)),
          Recipe(cv, 90, "422", "gradients", (5, 3))]  # odd sizes (W = 3: chroma width 2)
    r += [Recipe(pil, 90, "420", "photo:chelsea", 4, progressive=True, scans=k) for k in (1, 2, 5)]
    r += [Recipe(pil, 90, "gray", "gradients", GR, progressive=True, scans=2)]
    r += [Recipe(pil, 90, "420", "photo:astronaut", 4), Recipe(cv, 95, "444", "photo:chelsea", 2),
          Recipe(cv, 75, "420", "photo:coffee", 4, progressive=True),
          Recipe(pil, 85, "gray", "photo:moon", 4)]  # photos at 100-225 px
    return r


def cmyk_bars(h: int, w: int) -> np.ndarray:
    """An (H, W, 4) CMYK image: C, M, Y = 255 - the colour bars' R, G, B; K ramps 0..255 down."""
    rgb = syn.colour_bars(h, w).astype(np.int32)
    k = np.floor(255 * np.arange(h) / max(h - 1, 1) + 0.5).astype(np.int32)
    planes = [255 - rgb[..., 0], 255 - rgb[..., 1], 255 - rgb[..., 2], np.broadcast_to(k[:, None], (h, w))]
    return np.stack(planes, axis=2).astype(np.uint8)


@dataclass(frozen=True)
class JpegInput:
    """A corpus JPEG (or WebP, :mod:`.webp`) ready to become an :class:`conformance.bundle.InputFile`."""

    id: str
    data: bytes
    description: str
    origin: str
    tags: tuple[str, ...]
    expect: str = "ok"
    reject_as: str | None = None  # negatives: the error class a conforming decoder raises


def source_image(recipe: Recipe, photo: Callable[[str, int], np.ndarray]) -> tuple[str, np.ndarray]:
    """(name, samples) of a recipe's source image."""
    if recipe.source.startswith("photo:"):
        name = recipe.source.split(":", 1)[1]
        return name, photo(name, recipe.size)
    h, w = recipe.size
    if recipe.source == "cmyk_bars":
        return "cmyk_bars", cmyk_bars(h, w)
    a = SYN[recipe.source](h, w)
    if recipe.sampling == "gray":
        a = a[..., 1:2]  # the green plane: a smooth or detailed gray image
    return recipe.source, a


def source_origin(recipe: Recipe) -> str:
    if recipe.source.startswith("photo:"):
        return f"the corpus photograph {recipe.source[6:]} box-reduced 1/{recipe.size}"
    h, w = recipe.size
    fn = "conformance.encoders.jpeg.cmyk_bars" if recipe.source == "cmyk_bars" else \
        f"conformance.synthetic.{SYN[recipe.source].__name__}"
    return f"{fn}({h}, {w})" + (" green plane" if recipe.sampling == "gray" else "")


def encode(recipe: Recipe, samples: np.ndarray) -> bytes:
    """The recipe's bytes (encoder call, then the :func:`keep_scans` edit if asked)."""
    if recipe.writer == "pillow":
        data = encode_pillow(samples, quality=recipe.quality, sampling=recipe.sampling,
                             progressive=recipe.progressive, optimize=recipe.optimize,
                             restart_blocks=recipe.restart_blocks, restart_rows=recipe.restart_rows,
                             exif=exif_app1(recipe.orientation) if recipe.orientation is not None else None,
                             icc_profile=ICC_PROFILE if recipe.icc else None)
    else:
        if recipe.restart_rows or recipe.orientation is not None or recipe.icc:
            raise ValueError("OpenCV writes no restart rows, EXIF or ICC")
        data = encode_opencv(samples, quality=recipe.quality, sampling=recipe.sampling,
                             progressive=recipe.progressive, optimize=recipe.optimize,
                             restart_blocks=recipe.restart_blocks)
    return keep_scans(data, recipe.scans) if recipe.scans is not None else data


SAMPLING_TAGS = {"gray": "gray", "cmyk": "cmyk", "rgb": "adobe_rgb"}
PACKAGE_NAMES = {"pillow": "Pillow", "opencv": "opencv-python-headless"}
WRITER_NAMES = {w: f"{PACKAGE_NAMES[w]} {v} ({lib})" for w, (v, lib) in PINNED_ENCODERS.items()}


def tags_for(recipe: Recipe, f: Frame) -> tuple[str, ...]:
    """Tags saying what a file is. None of them is a tag the default plan selects today
    (``exif``/``negative`` would put the files in the PNG decode pipelines before the reference
    decodes JPEG): EXIF files are ``jpeg_exif``, and every file carries ``jpeg``."""
    tags = ["jpeg", recipe.writer, "photo" if recipe.source.startswith("photo:") else "synthetic",
            f"jpeg_q{recipe.quality}", SAMPLING_TAGS.get(recipe.sampling, f"jpeg_{recipe.sampling}"),
            "progressive" if recipe.progressive else "baseline"]
    tags += ["optimized"] if recipe.optimize else []
    tags += ["restart"] if recipe.restart_blocks or recipe.restart_rows else []
    tags += ["jpeg_exif"] if recipe.orientation is not None else []
    tags += ["icc"] if recipe.icc else []
    tags += ["partial_scans"] if recipe.scans is not None else []
    mh, mw = f.mcu_size
    if f.height % mh or f.width % mw:
        tags.append("partial_mcu")  # the image does not fill its last MCU row/column
    if min(f.height, f.width) <= 3:
        tags.append("tiny_side")
    return tuple(tags)


def describe(recipe: Recipe) -> list[str]:
    """The recipe's knobs in words, in the order of :meth:`Recipe.knobs`."""
    sampling = {"gray": "grayscale", "cmyk": "CMYK (inverted, Adobe transform 0)",
                "rgb": "RGB (Adobe transform 0)"}.get(recipe.sampling, f"YCbCr {':'.join(recipe.sampling)}")
    words = [f"quality {recipe.quality}", sampling, "progressive" if recipe.progressive else "baseline"]
    words += ["optimised Huffman tables"] if recipe.optimize else []
    words += [f"restart interval {recipe.restart_blocks} MCUs"] if recipe.restart_blocks else []
    words += [f"restart interval {recipe.restart_rows} MCU row(s)"] if recipe.restart_rows else []
    words += [f"EXIF orientation {recipe.orientation}"] if recipe.orientation is not None else []
    words += ["ICC profile (APP2)"] if recipe.icc else []
    words += [f"cut after its first {recipe.scans} scan(s)"] if recipe.scans is not None else []
    return words


def jpeg_variants(photo: Callable[[str, int], np.ndarray] | None) -> list[JpegInput]:
    """Every :func:`recipes` entry encoded. ``photo(name, reduce)`` gives a corpus photograph as
    an (H, W, C) uint8 array (``conformance.corpus.photo``); None leaves the photographs out."""
    out = []
    for recipe in recipes():
        if photo is None and recipe.source.startswith("photo:"):
            continue
        name, samples = source_image(recipe, photo)
        h, w = samples.shape[:2]
        data = encode(recipe, samples)
        out.append(JpegInput(
            id=f"jpeg.{recipe.writer}.{recipe.knobs()}.{name}.{h}x{w}", data=data,
            description=f"{WRITER_NAMES[recipe.writer]}: {', '.join(describe(recipe))}; "
                        f"{name.replace('_', ' ')} {h}x{w}",
            origin=f"corpus: {WRITER_NAMES[recipe.writer]} encoding of {source_origin(recipe)}",
            tags=tags_for(recipe, frame(data))))
    out += arithmetic_jpegs()
    out += lossless_jpegs()
    ids = [v.id for v in out]
    if len(set(ids)) != len(ids):
        raise ValueError("duplicate JPEG variant ids")  # STYLE.md item 8
    return out


# Arithmetic-coded files (T.81 Annex D, F.1.4): (name, DAC conditioning (L, U, Kx) or None).
# The DAC values are away from the defaults (L = 0, U = 1, Kx = 5) in every field.
ARITHMETIC_CONDITIONINGS = (("sof9", None), ("sof9_dac", (1, 3, 20)))
ARITHMETIC_WRITER = "conformance.encoders.jpeg_arith.encode_gray_arithmetic"


def arithmetic_jpegs() -> list[JpegInput]:
    """Genuine arithmetic-coded sequential files (SOF9, :mod:`.jpeg_arith`) of the green plane of
    the gradients image: one with the default conditioning (no DAC) and one with a DAC segment.
    libjpeg-turbo (Pillow, OpenCV) and the reference decode them; no recipe describes them
    (they carry the tag ``arithmetic`` instead of a writer's)."""
    h, w = GR
    samples = syn.gradients(h, w)[..., 1]
    out = []
    for name, conditioning in ARITHMETIC_CONDITIONINGS:
        dac = ("default conditioning (no DAC)" if conditioning is None else
               "DAC L = {}, U = {}, Kx = {}".format(*conditioning))
        out.append(JpegInput(
            id=f"jpeg.arithmetic.{name}.gradients.{h}x{w}",
            data=encode_gray_arithmetic(samples, conditioning),
            description=f"arithmetic-coded sequential (SOF9) grayscale, Table K.1 quantisation, "
                        f"{dac}; gradients green plane {h}x{w}",
            origin=f"corpus: {ARITHMETIC_WRITER} of conformance.synthetic.gradients({h}, {w}) "
                   "green plane",
            tags=("jpeg", "arithmetic", "synthetic", "gray", "sequential")))
    return out


# (name, predictor Ss, point transform Pt, restart rows, components, one scan per component)
LOSSLESS_VARIANTS = (("gray.p1", 1, 0, 0, 1, False), ("gray.p7.pt1.rst2", 7, 1, 2, 1, False),
                     ("rgb.p4", 4, 0, 0, 3, False), ("rgb.p5.scan_per_component", 5, 0, 0, 3, True))


def lossless_jpegs() -> list[JpegInput]:
    """Lossless JPEGs (SOF3, T.81 Annex H) of the gradients image written by :mod:`.jpeg_lossless`
    (Pillow and OpenCV read them through libjpeg-turbo 3 but write none): gray, and RGB with an
    Adobe APP14 transform 0 (libjpeg-turbo refuses colour conversion of lossless data, so a
    YCbCr lossless file decodes in neither library), several predictors, a point transform and
    restart intervals."""
    from .jpeg_lossless import encode_lossless

    h, w = 29, 37
    rgb = syn.gradients(h, w)
    out = []
    for name, predictor, pt, rows, nc, per_component in LOSSLESS_VARIANTS:
        samples = rgb[..., 1] if nc == 1 else rgb
        data = encode_lossless(samples, predictor=predictor, pt=pt, restart_rows=rows,
                               interleaved=not per_component,
                               adobe_transform=0 if nc == 3 else None)
        out.append(JpegInput(
            id=f"jpeg.lossless.{name}.gradients.{h}x{w}", data=data,
            description=f"lossless (SOF3) {'gray' if nc == 1 else 'RGB (Adobe transform 0)'}, "
                        f"predictor {predictor}, Pt {pt}"
                        + (f", restart every {rows} rows" if rows else "")
                        + (", one scan per component" if per_component else ""),
            origin="corpus: conformance.encoders.jpeg_lossless.encode_lossless of "
                   f"conformance.synthetic.gradients({h}, {w})",
            tags=("jpeg", "lossless", "synthetic", "gray" if nc == 1 else "adobe_rgb", "sequential")))
    return out


# ---------------------------------------------------------------------------------------------
# Negative inputs: each function's docstring says what a conforming decoder must do
# ---------------------------------------------------------------------------------------------

# Maximum Y and X of a frame (B.2.2: 16-bit fields).
MAX_DIMENSION = 65535


def negative_base() -> bytes:
    """The valid file every negative is cut from: Pillow q90 4:2:0 baseline, gradients 16x24."""
    return encode_pillow(syn.gradients(16, 24), quality=90, sampling="420")


def truncated_in_scan() -> bytes:
    """Cut in the middle of the entropy-coded data (no EOI): a conforming decoder must raise
    DecodeError (premature end of data) rather than invent the missing blocks."""
    data = negative_base()
    scan = find(data, SOS)[0]
    start = scan.header_end(data)
    return data[:start + (scan.end - start) // 2]


def truncated_in_segment() -> bytes:
    """Cut in the middle of the first DHT marker segment (its length field promises more bytes):
    a conforming decoder must raise DecodeError."""
    data = negative_base()
    dht = find(data, DHT)[0]
    return data[:(dht.offset + dht.end) // 2]


def invalid_huffman_code() -> bytes:
    """Sixteen 1-bits (two stuffed 0xFF bytes) inserted where the first DC code is read; no code
    of the DC table matches them (:func:`insert_invalid_huffman_code`): a conforming decoder must
    raise DecodeError (T.81 F.2.2.3: no code of length <= 16 matches)."""
    return insert_invalid_huffman_code(negative_base())


def no_scan() -> bytes:
    """The SOS segment and its entropy-coded data removed (tables, SOF, then EOI): a conforming
    decoder must raise DecodeError (B.2.1: a frame has at least one scan)."""
    data = negative_base()
    scan = find(data, SOS)[0]
    return data[:scan.offset] + data[scan.end:]


def no_eoi() -> bytes:
    """Complete entropy-coded data but the final EOI marker missing: a conforming decoder must
    raise DecodeError (B.2.1: the compressed image data ends with EOI), like a truncated file."""
    data = negative_base()
    if not data.endswith(EOI_BYTES):
        raise ValueError("encoder output does not end with EOI")
    return data[:-2]


def zero_width() -> bytes:
    """SOF0 with X = 0 samples per line (B.2.2: X is 1..65535): a conforming decoder must raise
    DecodeError."""
    return patch_sof(negative_base(), width=0)


def zero_height_without_dnl() -> bytes:
    """SOF0 with Y = 0 (B.2.2: the height is then given by a DNL marker after the first scan,
    B.2.5) and no DNL segment: a conforming decoder must raise DecodeError (or UnsupportedFeature
    if it does not implement DNL at all, as libjpeg does not)."""
    return patch_sof(negative_base(), height=0)


def huge_dimensions() -> bytes:
    """SOF0 claiming 65535 x 65535 samples (the largest B.2.2 allows, 4.3 G pixels) over no
    entropy-coded data at all (SOS immediately followed by EOI): a conforming decoder must raise
    LimitsExceeded from the header, before allocating anything."""
    data = patch_sof(negative_base(), height=MAX_DIMENSION, width=MAX_DIMENSION)
    scan = find(data, SOS)[0]
    return data[:scan.header_end(data)] + EOI_BYTES


def twelve_bit() -> bytes:
    """SOF1 (extended sequential, Huffman) with P = 12: the 8-bit file's headers and coefficients
    reinterpreted at 12-bit precision, which is a valid 12-bit file (same entropy coding, 8-bit
    quantisation tables are allowed; the level shift becomes 2048). A decoder that only handles
    8-bit samples, like the reference, must raise UnsupportedFeature."""
    return patch_sof(negative_base(), marker=SOF1, precision=12)


NEGATIVES: dict[str, tuple[Callable[[], bytes], str]] = {
    "truncated_scan": (truncated_in_scan, "DecodeError"),
    "truncated_segment": (truncated_in_segment, "DecodeError"),
    "invalid_huffman_code": (invalid_huffman_code, "DecodeError"),
    "no_sos": (no_scan, "DecodeError"),
    "no_eoi": (no_eoi, "DecodeError"),
    "sof_width0": (zero_width, "DecodeError"),
    "sof_height0_no_dnl": (zero_height_without_dnl, "DecodeError"),
    "huge_sof": (huge_dimensions, "LimitsExceeded"),
}

# Valid files that use JPEG processes the reference does not implement. They are *not* negative
# vectors (libjpeg-turbo decodes them correctly): the reference raises UnsupportedFeature, so a
# bundle lists them under "skipped" with that reason instead of expecting anything of them.
UNSUPPORTED: dict[str, tuple[Callable[[], bytes], str]] = {
    "precision12_sof1": (twelve_bit, "UnsupportedFeature"),
}


def negative_jpegs() -> list[JpegInput]:
    """The hostile JPEGs, described by their builder's docstring."""
    return _described(NEGATIVES, "neg.jpeg", ("jpeg", "jpeg_negative"), "error")


def unsupported_jpegs() -> list[JpegInput]:
    """Valid JPEGs of processes the reference does not implement (12-bit precision)."""
    return _described(UNSUPPORTED, "jpeg.unsupported", ("jpeg", "jpeg_unsupported"), "ok")


def _described(table: dict, prefix: str, tags: tuple[str, ...], expect: str) -> list[JpegInput]:
    out = []
    for name, (fn, reject_as) in table.items():
        doc = " ".join(inspect.getdoc(fn).split())
        out.append(JpegInput(id=f"{prefix}.{name}", data=fn(), description=doc,
                             origin=f"corpus: conformance.encoders.jpeg.{fn.__name__}",
                             tags=tags, expect=expect, reject_as=reject_as))
    return out
