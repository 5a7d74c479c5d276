"""Pipelines and steps: typed, validated, every semantic choice an explicit knob.

A *pipeline* is an ordered list of *steps*; each step is one op (``decode``, ``resize``, ``crop``,
``pad``, ``letterbox``, ``color``, ``normalize``, ``layout``; on the way back from a model's output
``tensor``, ``denormalize``, ``quantize``, ``encode``) with all its knobs spelled out.
Users write pipelines as TOML or JSON; bundles store them as JSON with every knob expanded, so a
port never has to know our defaults.

A step may name a ``preset`` (see :mod:`conformance.presets`): the preset's knob values are applied
first, then the knobs the user wrote override them. The expanded step keeps the preset name for
provenance only; its knobs alone define the semantics.

Images between steps are numpy arrays of shape ``(H, W, C)`` (C = 1 for gray) until a ``layout``
step changes that.
"""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

from .errors import SpecError

# ---------------------------------------------------------------------------------------------
# Knob declaration helpers
# ---------------------------------------------------------------------------------------------


def knob(default: Any, doc: str, choices: tuple | None = None) -> Any:
    """Declare a step knob: its default, a one-line meaning, and the allowed values (if a set)."""
    return field(default=default, metadata={"doc": doc, "choices": choices})


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


# Arithmetic knob grammar of the resize step: fixed-point widths are part of the value.
RESIZE_ARITHMETIC_FORMS = ("float64", "float32", "fixed:BITS (1..30)", "fixed_dynamic:BITS (1..30)",
                           "opencv", "openvino", "tensorflow")


def _valid_resize_arithmetic(v: str) -> bool:
    if v in ("float64", "float32", "opencv", "openvino", "tensorflow"):
        return True
    for prefix in ("fixed:", "fixed_dynamic:"):
        if v.startswith(prefix) and v[len(prefix):].isdigit():
            return 1 <= int(v[len(prefix):]) <= 30
    return False


# ---------------------------------------------------------------------------------------------
# Steps
# ---------------------------------------------------------------------------------------------


# The luma coefficients each fixed-point luma arithmetic is defined for (reference.color).
FIXED_LUMA_COEFFICIENTS = {"pillow_fixed": "bt601", "opencv_fixed": "bt601", "libpng_fixed": "bt601",
                           "image_f32": "bt709", "openvino_f32": "bt601", "vips_linear": "bt709"}


@dataclass(frozen=True)
class Step:
    """Base of all steps. ``op`` names the operation; ``preset`` is provenance only."""

    op: ClassVar[str] = ""
    preset: str | None = knob(None, "name of the preset these knobs were expanded from (provenance)")

    def knobs(self) -> dict[str, Any]:
        """All knobs as plain JSON values, including ``op``."""
        out: dict[str, Any] = {"op": self.op}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = list(v) if isinstance(v, tuple) else v
        return out

    def validate(self, where: dict) -> None:
        """Check choices and value ranges; raise :class:`SpecError` naming the field."""
        for f in fields(self):
            choices = f.metadata.get("choices")
            v = getattr(self, f.name)
            if choices is not None and v not in choices:
                raise SpecError(f"{v!r} is not one of {', '.join(map(repr, choices))}",
                                field=f.name, value=v, **where)


@dataclass(frozen=True)
class Decode(Step):
    """Decode an encoded file (PNG, JPEG or WebP) to an (H, W, C) array.

    Knobs:
    - ``output``: ``rgb`` (3 channels, plus alpha if ``alpha=keep``), ``bgr`` (same, reversed),
      ``gray`` (1 channel; colour images converted with ``gray_coefficients``/``gray_arithmetic``),
      ``unchanged`` (the file's own channels: gray, gray+alpha, rgb, rgba; palette expanded to rgb(a);
      JPEG: gray 1 channel, YCbCr/RGB as rgb, CMYK/YCCK as 4 channels of ink per ``cmyk``).
    - ``orientation``: ``apply`` the EXIF orientation tag (JPEG APP1 / PNG eXIf), or ``ignore`` it.
      OpenCV's imread applies it by default; Pillow's open ignores it (exif_transpose applies it).
    - ``alpha``: ``drop`` the alpha channel (no compositing: what Pillow convert('RGB'), OpenCV
      IMREAD_COLOR and image's to_rgb8 do), ``keep`` it as the last channel, or ``composite`` over
      ``background`` (out = a·c + (1−a)·bg, rounded half up, in float64).
    - ``trns``: ``apply`` a PNG tRNS chunk as alpha (only matters for alpha keep/composite), or
      ``ignore`` it (Pillow convert('RGB') and OpenCV IMREAD_COLOR ignore it).
    - ``depth16``: 16-bit samples to 8 bits: ``shift`` = v >> 8 (libpng strip_16, Pillow RGB),
      ``round`` = (v + 128) // 257 = round(v·255/65535) (Rust image), ``clip`` = min(v, 255)
      (Pillow's I;16 -> L), ``keep`` = stay uint16.
    - ``depth16_gray``: the same rule for 16-bit *gray* images, or ``same`` as ``depth16``.
      Pillow clips gray but shifts colour, hence a separate knob.
    - ``gray_coefficients``/``gray_arithmetic``: the luma for output=gray. ``float``,
      ``pillow_fixed``, ``opencv_fixed`` are the ``color`` step's, applied after the 16 -> 8 rule
      and after compositing. ``libpng_fixed`` is libpng's png_do_rgb_to_gray as OpenCV's
      IMREAD_GRAYSCALE runs it (png_set_rgb_to_gray(png, 1, 0.299, 0.587): weights 9797, 19234,
      3737 over 2^15), applied to the colour samples at the file's native depth, *before* the
      16 -> 8 rule and before compositing: 8-bit (9797R + 19234G + 3737B) >> 15 (truncating),
      16-bit (9797R + 19234G + 3737B + 2^14) >> 15. ``image_f32`` is the Rust image crate's
      to_luma8 (float32, reference.color.IMAGE_LUMA_F32). ``vips_linear`` is libvips'
      colourspace("b-w") (linear light, reference.color.vips_luma; 8-bit only). Fixed forms
      exist only for bt601, except image_f32 and vips_linear (bt709 only).
    JPEG reconstruction (no effect on PNG; formulas on the modules of ``reference/jpeg/``):
    - ``idct``: ``islow`` (libjpeg-turbo jidctint.c, 13-bit LL&M: Pillow, OpenCV), ``ifast``
      (libjpeg-turbo jidctfst.c, 8-bit AA&N, truncating: TensorFlow's decode_jpeg default), ``float``
      (the exact T.81 A.3.3 IDCT in float64, rounded half up; no library), ``zune`` (zune-jpeg's
      12-bit stb_image transform: Rust image).
    - ``range_limit``: clamp of islow's output: ``saturate`` (the SIMD kernels of the Pillow and
      OpenCV wheels) or ``wrap`` (libjpeg's C table, mod 1024 beyond ±512; a build without SIMD).
      Only crafted coefficients reach the difference. With ``dct_scale`` 8 every 1x1 block wraps
      (libjpeg-turbo has no SIMD 1x1 kernel: the C table runs in every build).
    - ``upsampling``: ``fancy`` (libjpeg-turbo's triangle filter for 2x ratios on the real
      samples, replication otherwise), ``nearest`` (replication; = libjpeg with
      do_fancy_upsampling FALSE, merged upsampler included), ``zune`` (zune-jpeg's filter on
      the MCU-padded plane).
    - ``ycc``: YCbCr -> RGB as ``libjpeg_fixed`` (jdcolor.c 16-bit tables), ``float`` (T.871
      formulas in float64, rounded half up) or ``zune_fixed14`` (zune-jpeg's 14-bit).
    - ``block_smoothing``: ``libjpeg-turbo`` (3.x jdcoefct.c estimates missing low AC
      coefficients of incompletely refined progressive files, as Pillow and OpenCV do) or ``off``.
    - ``cmyk``: how 4-component samples relate to ink: ``adobe_inverted`` (ink = 255 − sample,
      Adobe's convention, assumed by Pillow and OpenCV) or ``plain``.
    - ``cmyk_rgb``: CMYK ink -> RGB, nk = 255 − K: ``pillow`` (nk − round(C·nk/255), Convert.c
      cmyk2rgb; also zune-jpeg's result) or ``opencv`` (nk − (C·nk >> 8), icvCvt_CMYK2BGR).
    - ``jpeg_gray``: output=gray of a JPEG: ``y_plane`` (libjpeg's own grayscale output: the Y
      component of YCbCr files, libjpeg's luma of RGB files; CMYK files, which libjpeg cannot
      convert, as OpenCV does: ``cmyk_rgb`` then (4899R + 9617G + 1868B + 2^13) >> 14; what
      cv2 IMREAD_GRAYSCALE returns) or ``from_rgb`` (decode to RGB, then ``gray_coefficients`` /
      ``gray_arithmetic``: Pillow's convert('L')).
    - ``max_pixels``: refuse images with more pixels than this before allocating (bomb guard).
    - ``orientation_source``: where ``orientation="apply"`` reads the orientation: ``exif`` (the
      PNG eXIf chunk or the JPEG APP1 Exif block only: OpenCV, libpng, the image crate,
      torchvision's decode_image) or ``pillow`` (Pillow's ``getexif``: also ImageMagick's
      ``Raw profile type exif`` text chunk and XMP's ``tiff:Orientation``, in PNG text chunks or
      a JPEG APP1; what ``ImageOps.exif_transpose`` rotates by). Rules:
      ``reference.orientation_sources``.
    - ``apng_frame``: which image of an animated PNG: ``default`` (the IDAT image: Pillow's
      ``Image.open``, libpng without APNG support, the image crate's decode) or ``first`` (the
      animation's first frame, an fdAT frame when the default image is not part of the
      animation: OpenCV 5's ``imdecode``). A PNG without acTL is the same either way.
    - ``on_corrupt``: damaged JPEG data: ``reject`` (the strict reference: a DecodeError names
      the damage; what a conforming decoder does, and the negative vectors) or
      ``libjpeg-turbo`` (what libjpeg-turbo 3 outputs, hence Pillow, OpenCV and torchvision:
      junk before a marker skipped, a Motion-JPEG frame without DHT decoded with the Annex K
      tables, a scan cut short at a marker finished as mid-gray blocks, restart markers
      resynchronised, progressive scans out of order decoded as they come, zero runs past
      coefficient 63 stored at 63, a bad Huffman code read as symbol 0; rules in
      ``reference.jpeg.reader``). Data ending at the end of the file and broken markers stay
      errors either way.
    - ``dct_scale``: decode a JPEG at 1/``dct_scale`` of its size in the DCT domain (libjpeg's
      scale_num = 1, scale_denom = 1, 2, 4, 8: Pillow's ``Image.draft``/``thumbnail``, OpenCV's
      ``IMREAD_REDUCED_*``, TensorFlow's ``decode_jpeg(ratio=...)``): output ceil(W/s) ×
      ceil(H/s); each component is inverse-transformed to 8/s samples per block by
      libjpeg-turbo's reduced IDCTs (jidctred.c 4x4, 2x2, 1x1, whatever ``idct`` says), or, for
      a subsampled chroma component, at a larger block size up to 8 (then ``idct`` applies)
      so that it needs less or no upsampling (jdmaster.c); the remaining upsampling runs at the
      reduced size, always replicating at 1/8 (jdsample.c: no fancy upsampling when the
      smallest block is 1 sample). 1 = no scaling. No effect on PNG, WebP or lossless JPEG
      (libjpeg-turbo does not scale lossless frames); not with ``upsampling="zune"``.
      Rules: ``reference.jpeg.reconstruct``.
    - ``lossless_color``: a lossless JPEG (SOF3) whose output needs a colour conversion:
      ``convert`` (the reference converts as for DCT files: JFIF YCbCr to RGB, gray replicated)
      or libjpeg-turbo's refusal (jdcolor.c: no colour conversion of lossless data,
      JERR_CONVERSION_NOTIMPL), which depends on the colour space the library asks for:
      ``file_space`` (Pillow: the file's own, RGB for YCbCr files: YCbCr/YCCK files fail) or
      ``output_space`` (OpenCV, the ``libjpeg-turbo`` preset: the output's, BGR for colour and
      GRAYSCALE for gray: any other file fails). A refusal is UnsupportedFeature.
    WebP (lossless VP8L, lossy VP8 with or without ALPH; animations are unsupported):
    - ``webp_upsampling``: lossy 4:2:0 chroma to full size: ``fancy`` (libwebp's default
      bilinear "fancy upsampler": Pillow, OpenCV, dwebp) or ``nearest`` (libwebp's
      ``no_fancy_upsampling``: each chroma sample for its 2x2 pixels). Lossless files have none.
    - ``webp_gray``: output=gray of a WebP: ``from_rgb`` (``gray_coefficients`` /
      ``gray_arithmetic`` on the decoded RGB, as for PNG: Pillow's convert('L')) or
      ``opencv_fixed`` (cv2.cvtColor of the decoded BGR: OpenCV's IMREAD_GRAYSCALE, whose
      libpng rule does not apply to WebP).
    ``alpha``, ``background``, ``output``, ``orientation`` and ``orientation_source`` (the EXIF
    chunk; XMP too for ``pillow``) act on WebP as on PNG; ``trns`` and the 16-bit rules do not.
    """

    op: ClassVar[str] = "decode"
    output: str = knob("rgb", "output channels", ("rgb", "bgr", "gray", "unchanged"))
    orientation: str = knob("apply", "EXIF orientation", ("apply", "ignore"))
    alpha: str = knob("drop", "alpha channel handling", ("drop", "keep", "composite"))
    background: tuple = knob((255, 255, 255), "composite background, 8-bit RGB")
    trns: str = knob("ignore", "PNG tRNS as alpha", ("apply", "ignore"))
    depth16: str = knob("shift", "16-bit to 8-bit rule", ("shift", "round", "clip", "keep"))
    depth16_gray: str = knob("same", "16-bit gray rule", ("same", "shift", "round", "clip", "keep"))
    gray_coefficients: str = knob("bt601", "luma weights for output=gray", ("bt601", "bt709"))
    gray_arithmetic: str = knob("pillow_fixed", "luma arithmetic for output=gray",
                                ("float", "pillow_fixed", "opencv_fixed", "libpng_fixed", "image_f32",
                                 "vips_linear"))
    idct: str = knob("islow", "JPEG inverse DCT", ("islow", "ifast", "float", "zune"))
    range_limit: str = knob("saturate", "JPEG islow output clamp", ("saturate", "wrap"))
    upsampling: str = knob("fancy", "JPEG chroma upsampling", ("fancy", "nearest", "zune"))
    ycc: str = knob("libjpeg_fixed", "JPEG YCbCr -> RGB arithmetic",
                    ("libjpeg_fixed", "float", "zune_fixed14"))
    block_smoothing: str = knob("libjpeg-turbo", "JPEG progressive block smoothing",
                                ("libjpeg-turbo", "off"))
    cmyk: str = knob("adobe_inverted", "JPEG CMYK convention", ("adobe_inverted", "plain"))
    cmyk_rgb: str = knob("pillow", "JPEG CMYK -> RGB formula", ("pillow", "opencv"))
    jpeg_gray: str = knob("from_rgb", "JPEG output=gray rule", ("y_plane", "from_rgb"))
    max_pixels: int = knob(1 << 26, "largest W*H accepted before allocating")
    orientation_source: str = knob("exif", "where the orientation is read from", ("exif", "pillow"))
    apng_frame: str = knob("default", "which image of an animated PNG", ("default", "first"))
    on_corrupt: str = knob("reject", "damaged JPEG data", ("reject", "libjpeg-turbo"))
    lossless_color: str = knob("convert", "lossless JPEG colour conversion",
                               ("convert", "file_space", "output_space"))
    webp_upsampling: str = knob("fancy", "WebP lossy chroma upsampling", ("fancy", "nearest"))
    webp_gray: str = knob("from_rgb", "WebP output=gray rule", ("from_rgb", "opencv_fixed"))
    dct_scale: int = knob(1, "JPEG DCT-domain scaling denominator", (1, 2, 4, 8))

    def validate(self, where: dict) -> None:
        super().validate(where)
        bg = self.background
        if not (isinstance(bg, tuple) and len(bg) == 3 and all(isinstance(c, int) and 0 <= c <= 255
                                                                  for c in bg)):
            raise SpecError("must be three integers 0..255", field="background", value=bg, **where)
        needs = FIXED_LUMA_COEFFICIENTS.get(self.gray_arithmetic)
        if needs is not None and self.gray_coefficients != needs:
            raise SpecError(f"gray_arithmetic {self.gray_arithmetic!r} exists only for {needs} coefficients "
                            f"(got gray_coefficients {self.gray_coefficients!r})",
                            field="gray_arithmetic", value=self.gray_arithmetic, **where)
        if self.dct_scale != 1 and self.upsampling == "zune":
            raise SpecError("zune-jpeg has no DCT scaling: upsampling 'zune' needs dct_scale 1",
                            field="dct_scale", value=self.dct_scale, **where)
        if not (isinstance(self.max_pixels, int) and self.max_pixels > 0):
            raise SpecError("must be a positive integer", field="max_pixels",
                            value=self.max_pixels, **where)


@dataclass(frozen=True)
class Resize(Step):
    """Resample an (H, W, C) image to a new size. Every library difference is a knob.

    Target size (exactly one form):
    - ``height`` and ``width``: the exact output size.
    - ``shorter_side``: scale so the shorter side becomes this; the other side is
      ``size_rounding(other * shorter_side / shorter)`` (``round`` = half to even, as Python's
      round; ``round_half_up``; ``floor``; ``ceil``).
    - ``longer_side``: likewise for the longer side.
    - ``size_formula``: how a derived side is computed from an (H, W) image: ``product``
      (``other·target/ref`` in float64, as torchvision ``int(s·long/short)`` and transformers'
      ``get_resize_output_image_size``; with ``size_rounding="floor"`` that is their truncation), or
      ``ratio`` (timm ``ResizeKeepRatio``: r = ref/target in float64, then *both* sides are
      ``size_rounding(side / r)``, the target side included).
    - ``max_size`` (only with ``shorter_side``): if the derived longer side exceeds it, the longer
      side becomes ``max_size`` and the shorter ``trunc(max_size·shorter/longer)`` of the sizes just
      derived (torchvision ``F.resize(max_size=)``, transformers ``get_resize_output_image_size``).

    Kernel:
    - ``filter``: ``nearest``, ``box``, ``triangle`` (bilinear), ``cubic`` (Keys, ``cubic_a``),
      ``lanczos`` (``lobes``), ``gaussian`` (sigma 0.5, support 3, the image crate's), ``hamming``
      (``hamming_constants``), ``area`` (OpenCV INTER_AREA's pixel-area cells with
      ``arithmetic="opencv"``, TF's ResizeArea with ``arithmetic="tensorflow"``), ``mitchell``
      (Mitchell–Netravali B = C = 1/3, TF's mitchellcubic; only with ``arithmetic="tensorflow"``).
    - ``hamming_constants``: the Hamming window's 0.54/0.46 as ``float32`` literals (Pillow's
      0.54f/0.46f, order sin(t)/t·(0.54f + 0.46f·cos t)) or ``float64`` (fast_image_resize:
      (0.54 + 0.46·cos t)·sin t / t).
    - ``cubic_a``: Keys' a; Pillow, image and fast_image_resize use -0.5, OpenCV/ONNX/PyTorch -0.75.
    - ``lobes``: Lanczos window; 3 for Pillow/image, 4 for OpenCV INTER_LANCZOS4.
    - ``antialias``: when downscaling, stretch the kernel support by the scale factor (Pillow,
      image, torchvision antialias=True, ONNX antialias=1). False: a fixed-tap interpolator
      (OpenCV, ONNX antialias=0), which aliases on downscale.

    Coordinates (``coords``): how output index i maps to source coordinate x (s = in/out):
    ``half_pixel`` x = (i+0.5)·s − 0.5; ``pytorch_half_pixel`` same but −0.5 when out == 1
    (onnx.reference 1.23; the ONNX spec text says 0); ``asymmetric`` x = i·s; ``align_corners``
    x = i·(in−1)/(out−1); ``half_pixel_symmetric`` (ONNX 19). Exact float64 formulas (ONNX's, with
    scale = out/in and divisions by it): ``reference.resize.interpolation``. Convolution windows
    (``pillow``, ``floor_ceil``) centre output i at (i+0.5)·s, i.e. they require ``half_pixel``.
    ``nearest_rounding``: for ``filter=nearest`` without antialias, how x picks a pixel:
    ``floor``, ``ceil``, ``round_prefer_floor``, ``round_prefer_ceil``.
    ``nearest_index``: ``coords`` (the pixel the ``window`` picks: with ``centered`` /
    ``onnx_reference`` x = ``coords``(i) rounded by ``nearest_rounding`` (ONNX); with ``floor_ceil``
    the one tap floor((i+0.5)·s) of a support-0 kernel (the image crate's Nearest)), ``accumulate``
    (Pillow: idx = trunc(x0 + i·s) accumulated in double, starting at s/2), ``multiply`` (OpenCV
    INTER_NEAREST: floor(i · (1.0 / (d/s))) in double, two roundings, no half-pixel offset),
    ``fir`` (fast_image_resize's Nearest: columns trunc(s/d·0.5 + s/d·i) in double, rows
    accumulated as ``accumulate``).
    Both clamp the index to s − 1.

    Borders: ``border`` = ``clamp`` (taps outside the image read the edge pixel: OpenCV, ONNX
    exclude_outside=0) or ``renormalize`` (taps outside are dropped and the weights renormalised:
    Pillow, image, fast_image_resize, ONNX exclude_outside=1).

    Arithmetic: ``arithmetic`` = ``float64`` (exact weights, one final rounding), ``float32`` (the
    image crate: all in f32), ``fixed:BITS`` (weights rounded to BITS fractional bits, integer
    accumulation: Pillow uses 22), ``fixed_dynamic:BITS`` (fast_image_resize: per-axis precision up to
    BITS), ``opencv`` (OpenCV's own per-interpolation fixed-point schemes, see
    ``reference.resize.opencv``), ``openvino`` (OpenVINO's CPU plugin Pillow modes: Pillow's
    algorithm in float32 with fused multiply-adds, ``reference.resize.openvino``), ``tensorflow``
    (TF's float32 resize ops as ``tf.image.resize`` runs them, one per method; the kernels are
    TF's own, e.g. gaussian has radius 1.5 there; an unchanged size is resampled, see
    ``reference.resize.tensorflow``). ``weights_dtype``: ``float64`` or ``float32`` coefficients (ONNX's
    reference computes cubic weights in float32). ``rounding``: how the final value becomes an
    integer (``half_up``, ``half_even``, ``half_away``, ``truncate``); ignored for float images.
    ``pass_order``: ``hv`` (horizontal first), ``vh``, or ``pillow13`` (Pillow 13's rule: vertical
    first iff out_h < in_h and (in_h − out_h) > 2·(in_w − out_w)). ``intermediate``: between passes
    keep ``exact`` values (float64 or the integer accumulator), round+clip to ``uint8`` (Pillow,
    fast_image_resize; with ``rounding``, clipped to the image's integer range, so 0..65535 for a
    uint16 image; float images are never rounded), or round to ``float32`` (image crate).
    ``window``: which source taps an output reads, and so which resampler family runs:
    convolution (a kernel centred at c = (i+0.5)·in/out, support × scale on downscale with
    ``antialias``): ``pillow`` (trunc(c ± support + 0.5), Pillow), ``floor_ceil``
    (floor(c − support) .. ceil(c + support): image, fast_image_resize); coordinate transform
    (n fixed taps around x = ``coords``(i), ONNX): ``centered`` (the ONNX spec: taps
    floor(x)−n/2+1 .. floor(x)+n/2, an integer x anchored one to the left), ``onnx_reference``
    (onnx.reference's placement from x + n/2 rounded in float64, which moves the window one pixel
    left when x is within an ulp above an integer), ``openvino`` (``centered`` around x computed
    in float32 from a float32 scale d/s, as OpenVINO's CPU plugin: a nearest pick differs from
    float64 where x lands across k + 0.5). Details: ``reference.resize.convolution`` and
    ``reference.resize.interpolation``.
    ``unchanged_axis``: an axis whose length does not change is ``skip``ped (Pillow, ONNX,
    fast_image_resize) or ``resample``d anyway (the image crate always runs both passes; its
    kernels are not all identities at scale 1, e.g. Gaussian).
    ``output_dtype``: ``input`` (integer images are rounded per ``rounding`` and clipped back to
    their type, float images keep theirs) or ``float32`` (the values as computed, neither rounded
    nor clipped, as float32: ``tf.image.resize`` returns float32 whatever the input, and a Lanczos
    or cubic result may then lie below 0 or above 255; with float64 arithmetic the exact value is
    rounded once to float32). Fixed-point and OpenCV arithmetic produce integers: ``input`` only.
    ``sum_order``: the order of every sum over the taps of one output (weighted values, and the
    weights when renormalising): ``sequential`` (tap 0, 1, 2, ...: Pillow, OpenCV, the Rust crates)
    or ``numpy_pairwise`` (onnx.reference: numpy's pairwise summation, which ``ndarray.sum`` uses
    along a contiguous axis; it applies to the horizontal pass (the innermost axis of NCHW), to the
    vertical pass only when the image is 1 pixel wide, and to the exclude_outside weight sums;
    identical to sequential below 8 taps). Definition: ``reference.resize.taps.pairwise_sum``.
    ``weight_rounding``: how ``fixed:BITS`` turns a weight w into an integer: ``half_away``
    (``(int)(w·2^BITS ± 0.5)``, Pillow) or ``truncate`` (``(int)(w·2^BITS)``, C's cast toward
    zero: libvips).

    libvips (``window="vips"``, uint8 only): ``vips_resize``'s own resampler,
    ``reference.resize.vips``. Upsizing is ``vips_affine`` with the bicubic interpolator (cubic and
    lanczos: x = j/scale − 0.5 on both axes, rows rounded unclipped, then columns; linear and
    nearest upsizing are not modelled). Downsizing: per axis (vertical first) an optional integer
    box pre-shrink, then
    ``vips_reduceh/v``: n = 2·rint(support·scale) + 1 taps around centres
    (i + 0.5)·r − 0.5 − (d·r − s)/2 with r = 1/(d/s), kernel positions rounded to 1/64 pixel,
    edge pixels repeated (``border="clamp"``), 12-bit truncated weights (``arithmetic="fixed:12"``,
    ``weight_rounding="truncate"``), ``(acc + 2048) >> 12`` (``rounding="half_up"``) and uint8
    between the axes (``intermediate="uint8"``). ``reducing_gap`` g (libvips' ``gap``; 0 = off,
    else >= 1; ``vips_resize`` defaults to 2.0): the axis is first box-shrunk by the integer
    k = floor(in / out / g) (``vips_shrinkh/v``: ceil(in/k) means of k pixels, the last block padded
    with the edge pixel, libvips' multiply-shift rounding), ``filter="nearest"`` subsamples
    (every k-th pixel) instead.
    """

    op: ClassVar[str] = "resize"
    height: int | None = knob(None, "output height (with width)")
    width: int | None = knob(None, "output width (with height)")
    shorter_side: int | None = knob(None, "scale so the shorter side has this length")
    longer_side: int | None = knob(None, "scale so the longer side has this length")
    size_rounding: str = knob("round", "rounding of the derived side",
                              ("round", "round_half_up", "floor", "ceil"))
    size_formula: str = knob("product", "derived side: other*target/ref, or side/(ref/target)",
                             ("product", "ratio"))
    max_size: int | None = knob(None, "shorter_side only: cap of the longer side")
    filter: str = knob("triangle", "resampling kernel",
                       ("nearest", "box", "triangle", "cubic", "lanczos", "gaussian", "hamming", "area",
                        "mitchell"))
    cubic_a: float = knob(-0.75, "Keys cubic parameter a")
    lobes: int = knob(3, "Lanczos lobes")
    antialias: bool = knob(True, "widen support on downscale", (True, False))
    coords: str = knob("half_pixel", "coordinate transform",
                       ("half_pixel", "pytorch_half_pixel", "asymmetric", "align_corners",
                        "half_pixel_symmetric"))
    nearest_rounding: str = knob("round_prefer_floor", "nearest pixel choice",
                                 ("floor", "ceil", "round_prefer_floor", "round_prefer_ceil"))
    nearest_index: str = knob("coords", "how nearest computes indices", ("coords", "accumulate", "multiply", "fir"))
    border: str = knob("renormalize", "taps outside the image", ("clamp", "renormalize"))
    arithmetic: str = knob("float64", "arithmetic model: " + ", ".join(RESIZE_ARITHMETIC_FORMS))
    weights_dtype: str = knob("float64", "coefficient precision", ("float64", "float32"))
    rounding: str = knob("half_up", "final rounding to integers",
                         ("half_up", "half_even", "half_away", "truncate"))
    pass_order: str = knob("hv", "order of the 1-D passes", ("hv", "vh", "pillow13"))
    intermediate: str = knob("exact", "values between passes", ("exact", "uint8", "float32"))
    window: str = knob("pillow", "tap window (and resampler family)",
                       ("pillow", "floor_ceil", "centered", "onnx_reference", "openvino", "vips"))
    unchanged_axis: str = knob("skip", "axis of unchanged length", ("skip", "resample"))
    hamming_constants: str = knob("float32", "Hamming window constants", ("float32", "float64"))
    sum_order: str = knob("sequential", "order of the sums over taps", ("sequential", "numpy_pairwise"))
    weight_rounding: str = knob("half_away", "fixed:BITS weights to integers", ("half_away", "truncate"))
    reducing_gap: float = knob(0.0, "window vips: box pre-shrink by floor(in/out/gap); 0 = none")
    output_dtype: str = knob("input", "dtype of the result", ("input", "float32"))

    def validate(self, where: dict) -> None:
        super().validate(where)
        forms = [("height/width", self.height is not None or self.width is not None),
                 ("shorter_side", self.shorter_side is not None),
                 ("longer_side", self.longer_side is not None)]
        given = [name for name, present in forms if present]
        if len(given) != 1:
            raise SpecError("give exactly one target: height+width, shorter_side or longer_side "
                            f"(got {', '.join(given) or 'none'})", field="height", **where)
        if given[0] == "height/width" and (self.height is None or self.width is None):
            raise SpecError("height and width must be given together", field="height", **where)
        for name in ("height", "width", "shorter_side", "longer_side", "max_size"):
            v = getattr(self, name)
            if v is not None and not (isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 1 << 16):
                raise SpecError("must be an integer 1..65536", field=name, value=v, **where)
        if self.max_size is not None:
            if self.shorter_side is None:
                raise SpecError("max_size applies only with shorter_side", field="max_size",
                                value=self.max_size, **where)
            if self.max_size <= self.shorter_side:
                raise SpecError(f"max_size must be greater than shorter_side ({self.shorter_side})",
                                field="max_size", value=self.max_size, **where)
        if not _is_number(self.cubic_a):
            raise SpecError("must be a finite number", field="cubic_a", value=self.cubic_a, **where)
        if not (isinstance(self.lobes, int) and 1 <= self.lobes <= 8):
            raise SpecError("must be an integer 1..8", field="lobes", value=self.lobes, **where)
        if not (_is_number(self.reducing_gap) and (self.reducing_gap == 0 or self.reducing_gap >= 1)):
            raise SpecError("must be 0 (no pre-shrink) or a number >= 1", field="reducing_gap",
                            value=self.reducing_gap, **where)
        if not (isinstance(self.arithmetic, str) and _valid_resize_arithmetic(self.arithmetic)):
            raise SpecError("must be one of " + ", ".join(RESIZE_ARITHMETIC_FORMS),
                            field="arithmetic", value=self.arithmetic, **where)

    def output_size(self, in_h: int, in_w: int) -> tuple[int, int]:
        """The (out_h, out_w) this step produces from an (in_h, in_w) image."""
        if self.height is not None:
            return self.height, self.width
        target = self.shorter_side if self.shorter_side is not None else self.longer_side
        pick_shorter = self.shorter_side is not None
        h_is_ref = (in_h <= in_w) if pick_shorter else (in_h >= in_w)
        ref, other = (in_h, in_w) if h_is_ref else (in_w, in_h)
        if self.size_formula == "ratio":
            r = ref / target  # timm ResizeKeepRatio: ratio = img / target, size = round(img / ratio)
            fixed = max(1, _round_size(ref / r, self.size_rounding))
            derived = max(1, _round_size(other / r, self.size_rounding))
        else:
            fixed, derived = target, max(1, _round_size(other * target / ref, self.size_rounding))
        if self.max_size is not None and derived > self.max_size:
            # torchvision: new_short, new_long = int(max_size * new_short / new_long), max_size
            fixed, derived = max(1, int(self.max_size * fixed / derived)), self.max_size
        return (fixed, derived) if h_is_ref else (derived, fixed)


def _round_size(v: float, rule: str) -> int:
    """Round a derived side length: ``round`` is Python's round (half to even)."""
    if rule == "round":
        return int(round(v))
    if rule == "round_half_up":
        return int(math.floor(v + 0.5))
    if rule == "floor":
        return int(math.floor(v))
    return int(math.ceil(v))


@dataclass(frozen=True)
class Crop(Step):
    """Cut a window out of an (H, W, C) image.

    - ``mode="center"``: a ``height`` × ``width`` window centred; the top offset is
      ``offset_rounding((H − height) / 2)``: ``floor`` (integer division, most C++ code),
      ``round`` (Python's round, half to even: torchvision CenterCrop), ``round_half_up``.
    - ``mode="box"``: the window at ``top``, ``left`` of size ``height`` × ``width``.
    - ``if_smaller`` (center mode): a window larger than the image along an axis is an ``error``
      (use ``pad`` first), or that axis is first ``pad``ded with ``value`` to the window's length,
      the odd pixel of an odd padding going ``after`` (bottom/right: torchvision
      ``F.center_crop``, timm ``CenterCropOrPad``, transformers' torchvision backend: before =
      floor(d/2)) or ``before`` (top/left: transformers' PIL backend ``center_crop``, before =
      ceil(d/2)). The other axis is cropped as usual. A box outside the image is always an error.
    """

    op: ClassVar[str] = "crop"
    mode: str = knob("center", "where the window is", ("center", "box"))
    height: int = knob(224, "window height")
    width: int = knob(224, "window width")
    top: int = knob(0, "box mode: first row")
    left: int = knob(0, "box mode: first column")
    offset_rounding: str = knob("round", "center mode: rounding of (H − h)/2",
                                ("floor", "round", "round_half_up"))
    if_smaller: str = knob("error", "center mode: window larger than the image", ("error", "pad"))
    pad_extra: str = knob("after", "if_smaller=pad: side of the odd padding pixel", ("after", "before"))
    value: tuple = knob((0,), "if_smaller=pad: fill, one value or one per channel")

    def validate(self, where: dict) -> None:
        super().validate(where)
        for name in ("height", "width"):
            v = getattr(self, name)
            if not (isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 1 << 16):
                raise SpecError("must be an integer 1..65536", field=name, value=v, **where)
        if self.if_smaller == "pad" and self.mode != "center":
            raise SpecError("if_smaller='pad' applies only to mode='center'", field="if_smaller",
                            value=self.if_smaller, **where)
        _check_values(self.value, "value", where)
        for name in ("top", "left"):
            v = getattr(self, name)
            if not (isinstance(v, int) and not isinstance(v, bool) and v >= 0):
                raise SpecError("must be a non-negative integer", field=name, value=v, **where)


@dataclass(frozen=True)
class Pad(Step):
    """Add borders: ``top``, ``bottom``, ``left``, ``right`` pixels filled per ``mode``:
    ``constant`` (``value``, one number per channel or one for all), ``edge`` (replicate the
    border pixel, cv2.BORDER_REPLICATE), ``reflect`` (mirror without repeating the edge,
    cv2.BORDER_REFLECT_101, numpy 'reflect')."""

    op: ClassVar[str] = "pad"
    top: int = knob(0, "rows added above")
    bottom: int = knob(0, "rows added below")
    left: int = knob(0, "columns added left")
    right: int = knob(0, "columns added right")
    mode: str = knob("constant", "fill", ("constant", "edge", "reflect"))
    value: tuple = knob((0,), "constant fill, one value or one per channel")

    def validate(self, where: dict) -> None:
        super().validate(where)
        for name in ("top", "bottom", "left", "right"):
            v = getattr(self, name)
            if not (isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 1 << 16):
                raise SpecError("must be an integer 0..65536", field=name, value=v, **where)
        _check_values(self.value, "value", where)


@dataclass(frozen=True)
class Letterbox(Step):
    """Pad an image that fits inside ``height`` × ``width`` up to exactly that size with ``value``.
    ``placement``: ``center`` (offsets ``offset_rounding((H_out − H)/2)``, the rest after) or
    ``top_left``. Pair it with ``resize(longer_side=...)`` for the YOLO-style letterbox. An image
    larger than the target is an error."""

    op: ClassVar[str] = "letterbox"
    height: int = knob(640, "output height")
    width: int = knob(640, "output width")
    placement: str = knob("center", "where the image goes", ("center", "top_left"))
    offset_rounding: str = knob("floor", "center placement: rounding of the offset",
                                ("floor", "round", "round_half_up"))
    value: tuple = knob((114,), "fill, one value or one per channel")

    def validate(self, where: dict) -> None:
        super().validate(where)
        for name in ("height", "width"):
            v = getattr(self, name)
            if not (isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 1 << 16):
                raise SpecError("must be an integer 1..65536", field=name, value=v, **where)
        _check_values(self.value, "value", where)


def _check_values(v: Any, name: str, where: dict) -> None:
    if not (isinstance(v, tuple) and len(v) >= 1 and all(_is_number(x) for x in v)):
        raise SpecError("must be a number or a list of numbers", field=name, value=v, **where)


@dataclass(frozen=True)
class Color(Step):
    """Colour conversion of an (H, W, C) image.

    ``conversion``:
    - ``rgb_to_bgr`` / ``bgr_to_rgb``: reverse the channel order (its own inverse).
    - ``rgb_to_gray`` / ``bgr_to_gray``: Y = kr·R + kg·G + kb·B with ``gray_coefficients``
      ``bt601`` (0.299, 0.587, 0.114) or ``bt709`` (0.2126, 0.7152, 0.0722), computed per
      ``arithmetic``: ``float`` (float64, then ``rounding``), ``pillow_fixed`` (Pillow's
      (19595·R + 38470·G + 7471·B + 0x8000) >> 16), ``opencv_fixed`` (OpenCV 5's cvtColor:
      (9798·R + 19235·G + 3735·B + 2^14) >> 15), ``image_f32`` (the Rust image crate's
      to_luma8: float32 BT.709 from moxcms's derived coefficients, reference.color.image_luma),
      ``openvino_f32`` (OpenVINO's convert_color(GRAY): float32 fused multiply-adds,
      reference.color.openvino_luma), ``vips_linear`` (libvips' colourspace("b-w"): linear light
      through libvips' float32 sRGB tables, BT.709 weights, back through its interpolated table,
      reference.color.vips_luma; uint8). Fixed forms exist only for bt601, except image_f32 and
      vips_linear (bt709 only).
    - ``gray_to_rgb``: replicate the channel.
    - ``rgba_to_rgb``: drop alpha (``alpha="drop"``) or composite over ``background``.
    - ``rgb_to_ycbcr`` / ``ycbcr_to_rgb``: JPEG (JFIF) full-range, float64, then ``rounding``.
    - ``nv12_to_rgb`` / ``nv12_to_bgr`` / ``i420_to_rgb`` / ``i420_to_bgr``: a YUV 4:2:0 frame held
      as one uint8 plane (H·3/2, W, 1) (a ``tensor`` input, e.g. OpenVINO's single-plane NV12
      tensor (1, H·3/2, W, 1) read with layout ``nhwc``) to (H, W, 3): chroma replicated over
      2×2 blocks, BT.601 limited range (R = 1.164(Y−16) + 1.596(V−128), ...; reference.color), computed per
      ``arithmetic`` ``float`` (float64) or ``openvino_f32`` (OpenVINO CPU plugin's float32
      order), then ``rounding``.
    """

    op: ClassVar[str] = "color"
    conversion: str = knob("rgb_to_bgr", "what to convert",
                           ("rgb_to_bgr", "bgr_to_rgb", "rgb_to_gray", "bgr_to_gray", "gray_to_rgb",
                            "rgba_to_rgb", "rgb_to_ycbcr", "ycbcr_to_rgb", "nv12_to_rgb", "nv12_to_bgr",
                            "i420_to_rgb", "i420_to_bgr"))
    gray_coefficients: str = knob("bt601", "luma weights", ("bt601", "bt709"))
    arithmetic: str = knob("float", "luma / YUV arithmetic",
                           ("float", "pillow_fixed", "opencv_fixed", "image_f32", "openvino_f32",
                            "vips_linear"))
    rounding: str = knob("half_up", "float results to integers", ("half_up", "half_even", "truncate"))
    alpha: str = knob("drop", "rgba_to_rgb: drop or composite", ("drop", "composite"))
    background: tuple = knob((255, 255, 255), "rgba_to_rgb composite background")

    def validate(self, where: dict) -> None:
        super().validate(where)
        needs = FIXED_LUMA_COEFFICIENTS.get(self.arithmetic)
        if needs is not None and self.gray_coefficients != needs:
            raise SpecError(f"arithmetic {self.arithmetic!r} exists only for {needs} coefficients",
                            field="arithmetic", value=self.arithmetic, **where)
        _check_values(self.background, "background", where)


@dataclass(frozen=True)
class Normalize(Step):
    """Integers to a float tensor: out = (x·scale − mean) / std per channel (``order="scale_first"``)
    or out = (x − mean)·scale / std (``order="mean_first"``, cv2.dnn.blobFromImage's order with mean
    in input units). With ``divisor`` set, x·scale is computed as x / divisor instead (torchvision's
    ToTensor divides by 255; x/255 and x·(1/255) differ by one ulp for some x in float32).
    Computed in ``compute_dtype`` (torchvision: float32; float64 = exact), each operation rounded
    to it, then cast to ``dtype``.

    ``scale_dtype``: ``compute`` (x·scale rounded to ``compute_dtype``, like every other operation)
    or ``float64`` (x·scale, or x/divisor, computed in float64 and rounded once to
    ``compute_dtype``: transformers' ``rescale``, ``image.astype(float64) * rescale_factor`` then
    float32; only with ``order="scale_first"``).

    ``order="fused"`` folds the scale into mean and std, as transformers' torchvision backend
    (``_fuse_mean_std_and_rescale_factor``) does: with k = 1/scale (in float64) or k = divisor,
    M = mean·k and S = std·k, each rounded to ``compute_dtype`` after its operands are, then
    out = (x − M) / S, each operation rounded to ``compute_dtype``.

    ``input_range`` documents what the input holds (e.g. [0, 255]); the output range follows from
    the formula and is recorded in the bundle, so [0, 1] versus [-1, 1] is caught by name.
    """

    op: ClassVar[str] = "normalize"
    dtype: str = knob("float32", "output dtype", ("float32", "float16", "float64"))
    compute_dtype: str = knob("float64", "arithmetic dtype", ("float32", "float64"))
    scale: float = knob(1 / 255, "multiplier (used when divisor is not set)")
    divisor: float | None = knob(None, "divide by this instead of multiplying by scale (torchvision: 255)")
    mean: tuple = knob((0.0,), "per-channel mean (one value broadcasts)")
    std: tuple = knob((1.0,), "per-channel std (one value broadcasts)")
    order: str = knob("scale_first", "formula", ("scale_first", "mean_first", "fused"))
    scale_dtype: str = knob("compute", "dtype of x*scale (scale_first)", ("compute", "float64"))
    input_range: tuple = knob((0, 255), "documented input range [lo, hi]")

    def validate(self, where: dict) -> None:
        super().validate(where)
        if not _is_number(self.scale):
            raise SpecError("must be a finite number", field="scale", value=self.scale, **where)
        if self.divisor is not None and not (_is_number(self.divisor) and self.divisor != 0):
            raise SpecError("must be a finite non-zero number", field="divisor", value=self.divisor, **where)
        _check_values(self.mean, "mean", where)
        _check_values(self.std, "std", where)
        if any(s == 0 for s in self.std):
            raise SpecError("std must not be 0", field="std", value=self.std, **where)
        _check_values(self.input_range, "input_range", where)
        if self.scale_dtype == "float64" and self.order != "scale_first":
            raise SpecError("scale_dtype 'float64' is defined only for order 'scale_first'",
                            field="scale_dtype", value=self.scale_dtype, **where)
        if len(self.input_range) != 2 or self.input_range[0] >= self.input_range[1]:
            raise SpecError("must be [lo, hi] with lo < hi", field="input_range",
                            value=self.input_range, **where)

    def output_range(self, channels: int) -> list[list[float]]:
        """Per channel [lo, hi] of the output for inputs in ``input_range``."""
        out = []
        for c in range(channels):
            m = self.mean[c % len(self.mean)]
            s = self.std[c % len(self.std)]
            ends = []
            k = 1.0 / self.divisor if self.divisor is not None else self.scale
            for x in self.input_range:
                ends.append((x - m) * k / s if self.order == "mean_first" else (x * k - m) / s)
            out.append([min(ends), max(ends)])
        return out


@dataclass(frozen=True)
class Layout(Step):
    """Rearrange an (H, W, C) array: ``layout`` ``hwc`` or ``chw``; ``batch`` adds a leading axis of
    length 1; ``channel_order`` ``keep`` or ``reverse`` (RGB <-> BGR as part of packing)."""

    op: ClassVar[str] = "layout"
    layout: str = knob("chw", "axis order", ("hwc", "chw"))
    batch: bool = knob(True, "add a leading batch axis", (True, False))
    channel_order: str = knob("keep", "channel order", ("keep", "reverse"))


# ---------------------------------------------------------------------------------------------
# The way back: from a model's output tensor to pixels (and optionally a file)
# ---------------------------------------------------------------------------------------------


TENSOR_LAYOUTS = {"nchw": "(1, C, H, W)", "chw": "(C, H, W)", "nhwc": "(1, H, W, C)", "hwc": "(H, W, C)"}


@dataclass(frozen=True)
class Tensor(Step):
    """Read an input that is a tensor (a ``.npy`` file: float16/32/64 or integers) into the
    reference's (H, W, C) convention, in the file's own dtype. It takes the place of ``decode``
    as the first step of a pipeline that starts from a model's output.

    - ``layout``: how the file's axes read: ``nchw`` (1, C, H, W), ``chw`` (C, H, W), ``nhwc``
      (1, H, W, C) or ``hwc`` (H, W, C). A batch axis must have length 1 (one image per case);
      C must be 1..4. The values are not touched: NaN and ±inf pass through as they are, so the
      later steps show what each library does with them.
    - ``max_elements``: refuse a tensor with more elements than this before reading its data.
    """

    op: ClassVar[str] = "tensor"
    layout: str = knob("nchw", "axes of the input tensor", tuple(TENSOR_LAYOUTS))
    max_elements: int = knob(1 << 26, "largest element count accepted before reading")

    def validate(self, where: dict) -> None:
        super().validate(where)
        if not (isinstance(self.max_elements, int) and not isinstance(self.max_elements, bool)
                and self.max_elements > 0):
            raise SpecError("must be a positive integer", field="max_elements",
                            value=self.max_elements, **where)


@dataclass(frozen=True)
class Denormalize(Step):
    """Undo a normalisation on a float (H, W, C) tensor, every operation rounded to
    ``compute_dtype`` (``float32``: what torch and numpy on float32 tensors compute; ``float64``:
    exact), the output in ``compute_dtype``.

    - ``mode="mean_std"`` (the inverse of ``normalize``): out = (x·std + mean) / scale per
      channel (torchvision-style ``t.mul(std).add(mean)``; ``scale`` = 1 leaves [0, 1] values,
      ``scale`` = 1/255 gives [0, 255]).
    - ``mode="range"``: a linear map of ``from_range`` [a, b] onto ``to_range`` [c, d]:
      out = (x − a) / (b − a) · (d − c) + c (basicsr's ``tensor2img``:
      ``(t − min) / (max − min)`` onto [0, 1], where the last two operations are exact). A
      [-1, 1] model output read as [0, 1] is the classic mistake this knob names (CodeFormer).

    Out-of-range values are not clamped here: clamping is ``quantize``'s ``clamp`` knob (for a
    monotone map, clamping before it or after it gives the same values).
    """

    op: ClassVar[str] = "denormalize"
    mode: str = knob("range", "formula", ("mean_std", "range"))
    mean: tuple = knob((0.0,), "mean_std: per-channel mean (one value broadcasts)")
    std: tuple = knob((1.0,), "mean_std: per-channel std (one value broadcasts)")
    scale: float = knob(1.0, "mean_std: divide by this last (the normalize step's scale)")
    from_range: tuple = knob((-1.0, 1.0), "range: [a, b] the tensor holds")
    to_range: tuple = knob((0.0, 1.0), "range: [c, d] it maps onto")
    compute_dtype: str = knob("float32", "arithmetic and output dtype", ("float32", "float64"))

    def validate(self, where: dict) -> None:
        super().validate(where)
        _check_values(self.mean, "mean", where)
        _check_values(self.std, "std", where)
        if not (_is_number(self.scale) and self.scale != 0):
            raise SpecError("must be a finite non-zero number", field="scale", value=self.scale, **where)
        for name in ("from_range", "to_range"):
            _check_values(getattr(self, name), name, where)
            lo_hi = getattr(self, name)
            if len(lo_hi) != 2 or lo_hi[0] >= lo_hi[1]:
                raise SpecError("must be [lo, hi] with lo < hi", field=name, value=lo_hi, **where)


QUANTIZE_DTYPES = {"uint8": 255, "uint16": 65535}


@dataclass(frozen=True)
class Quantize(Step):
    """A float (H, W, C) tensor to integer pixels. In this order, each operation in
    ``compute_dtype`` (the input is first cast to it):

    1. ``clamp="before"``: x = clip(x, 0, max/scale) (basicsr ``tensor2img`` clamps to [0, 1]
       before ``* 255.0``);
    2. y = x·``scale`` (255 for 8 bits, 65535 for 16);
    3. ``absolute``: y = |y| (``cv2.convertScaleAbs``);
    4. ``clamp="after"``: y = clip(y, 0, max) (``np.clip(x * 255, 0, 255)``); ``none``: no clip;
    5. ``rounding``: ``half_even`` (numpy ``round``, OpenCV ``cvRound``), ``half_up``
       (floor(y + 0.5)), ``half_away`` (Rust ``f32::round``), ``truncate`` (toward zero: a C
       cast, torch ``.byte()``, numpy ``astype``, Rust ``as``), ``floor``;
    6. the integer conversion, which decides what happens to values outside 0..max and to NaN/inf:
       - ``int_path="exact"``: from the rounded float itself (Rust's ``as``: saturating, NaN → 0);
       - ``int_path="int32"`` / ``"int64"``: through a C conversion to that signed integer, as
         x86-64 code does (``cvttss2si``): a value outside its range, NaN or ±inf becomes the
         "integer indefinite" −2^(n−1). Measured: numpy's float→uint8/uint16 ``astype`` and
         torch's float32 ``.byte()`` go through int32, torch's float64 ``.byte()`` through
         int64, OpenCV's ``saturate_cast`` through ``cvRound`` (int32).
       - ``overflow="saturate"``: clip the integer to 0..max (Rust ``as u8``, OpenCV
         ``saturate_cast``); ``"wrap"``: keep its low bits, i.e. modulo 2^bits (a C cast to a
         narrower type: numpy ``astype``, torch ``.byte()``: −1 becomes 255, 256 becomes 0).
    """

    op: ClassVar[str] = "quantize"
    dtype: str = knob("uint8", "integer output dtype", tuple(QUANTIZE_DTYPES))
    scale: float = knob(255.0, "multiplier to integer units")
    clamp: str = knob("after", "where values are clipped to the output range", ("before", "after", "none"))
    rounding: str = knob("half_even", "float to integer rounding",
                         ("half_even", "half_up", "half_away", "truncate", "floor"))
    overflow: str = knob("saturate", "integers outside 0..max", ("saturate", "wrap"))
    int_path: str = knob("exact", "integer conversion (x86 cast width)", ("exact", "int32", "int64"))
    absolute: bool = knob(False, "take |x·scale| first (cv2.convertScaleAbs)", (True, False))
    compute_dtype: str = knob("float32", "arithmetic dtype", ("float32", "float64"))

    def validate(self, where: dict) -> None:
        super().validate(where)
        if not (_is_number(self.scale) and self.scale > 0):
            raise SpecError("must be a finite positive number", field="scale", value=self.scale, **where)


@dataclass(frozen=True)
class Encode(Step):
    """Write the (H, W, C) integer image to a file and read it back: the output is the pixels a
    conforming decoder returns for the written bytes, channels in RGB order (what a viewer shows).

    - ``format``: ``png`` (lossless: the output equals the input, 8 or 16 bits, 1..4 channels,
      uint16 written as 16-bit) or ``jpeg`` (8-bit gray or RGB, baseline, libjpeg-turbo's
      encoder at ``quality`` with ``sampling`` 444/422/420, read back with libjpeg-turbo's
      default decode: ISLOW IDCT, fancy upsampling).
    - ``channel_order``: what the array holds: ``rgb`` (PIL ``Image.save``) or ``bgr`` (what
      ``cv2.imwrite`` expects, so a BGR array from ``color rgb_to_bgr`` is written correctly).
      An RGB array given to ``cv2.imwrite`` is the classic mistake: the file has red and blue
      swapped, which is this knob set to ``bgr`` on an RGB array.
    """

    op: ClassVar[str] = "encode"
    format: str = knob("png", "file format", ("png", "jpeg"))
    quality: int = knob(95, "jpeg: quality 1..100")
    sampling: str = knob("420", "jpeg: chroma subsampling", ("444", "422", "420"))
    channel_order: str = knob("rgb", "channel order of the array written", ("rgb", "bgr"))

    def validate(self, where: dict) -> None:
        super().validate(where)
        if not (isinstance(self.quality, int) and not isinstance(self.quality, bool)
                and 1 <= self.quality <= 100):
            raise SpecError("must be an integer 1..100", field="quality", value=self.quality, **where)


STEP_TYPES: dict[str, type[Step]] = {cls.op: cls for cls in (Decode, Resize, Crop, Pad, Letterbox,
                                                              Color, Normalize, Layout, Tensor,
                                                              Denormalize, Quantize, Encode)}
_TUPLE_FIELDS = {"background", "value", "mean", "std", "input_range", "from_range", "to_range"}


# ---------------------------------------------------------------------------------------------
# Pipelines
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pipeline:
    """An ordered list of steps with an id. ``tolerances`` optionally overrides the default
    tolerance of a step: {"<index>" or "<op>": {"max_abs": number, "reason": "..."}}."""

    id: str
    steps: tuple[Step, ...]
    description: str = ""
    tolerances: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"id": self.id, "description": self.description,
                "steps": [s.knobs() for s in self.steps], "tolerances": self.tolerances}


def make_step(raw: dict, *, source: str | None = None, index: int | None = None) -> Step:
    """Build one validated step from a dict: ``op``, optional ``preset``, then knob overrides."""
    where = {"source": source, "step": index}
    if not isinstance(raw, dict):
        raise SpecError(f"a step must be a table/object, got {type(raw).__name__}", **where)
    raw = dict(raw)
    op = raw.pop("op", None)
    if op not in STEP_TYPES:
        raise SpecError(f"unknown op {op!r}; known ops: {', '.join(STEP_TYPES)}", field="op",
                        value=op, **where)
    cls = STEP_TYPES[op]
    values: dict[str, Any] = {}
    preset = raw.get("preset")
    if preset is not None:
        from .presets import preset_knobs  # presets import this module's names only at call time
        values.update(preset_knobs(op, preset, where))
    known = {f.name for f in fields(cls)}
    for key, v in raw.items():
        if key not in known:
            hint = _closest(key, known)
            raise SpecError(f"unknown knob {key!r} for op {op!r}" + (f" (did you mean {hint!r}?)"
                                                                      if hint else ""),
                            field=key, value=v, **where)
        values[key] = v
    step = cls(**_coerce(values))
    step.validate(where)
    return step


def _coerce(values: dict[str, Any]) -> dict[str, Any]:
    """TOML/JSON values to the dataclass types: lists (or one number) -> tuples for the per-channel
    fields; integers -> floats for the float knobs (``scale = 1`` is the float 1.0)."""
    for key in _TUPLE_FIELDS & set(values):
        v = values[key]
        if v is not None:
            values[key] = tuple(v) if isinstance(v, (list, tuple)) else (v,)
    for key in ("cubic_a", "scale", "divisor", "reducing_gap"):  # quantize/denormalize scale too
        if isinstance(values.get(key), int) and not isinstance(values.get(key), bool):
            values[key] = float(values[key])
    return values


def _closest(name: str, candidates: set[str]) -> str | None:
    import difflib
    found = difflib.get_close_matches(name, sorted(candidates), n=1)
    return found[0] if found else None


def pipeline_from_dict(raw: dict, *, source: str | None = None, default_id: str | None = None) -> Pipeline:
    """Build a validated pipeline from a parsed TOML/JSON document.

    Accepted shape: {"id": str, "description": str, "steps": [step, ...], "tolerances": {...}}.
    """
    if not isinstance(raw, dict):
        raise SpecError("a pipeline must be a table/object", source=source)
    unknown = set(raw) - {"id", "description", "steps", "tolerances"}
    if unknown:
        raise SpecError(f"unknown pipeline field(s): {', '.join(sorted(unknown))}", source=source,
                        field=sorted(unknown)[0])
    pid = raw.get("id", default_id)
    if not isinstance(pid, str) or not pid or not all(c.isalnum() or c in "._-" for c in pid):
        raise SpecError("pipeline id must be a non-empty string of letters, digits, '.', '_', '-'",
                        source=source, field="id", value=pid)
    steps_raw = raw.get("steps")
    if not isinstance(steps_raw, list) or not steps_raw:
        raise SpecError("a pipeline needs a non-empty list 'steps'", source=source, field="steps")
    steps = tuple(make_step(s, source=source, index=i) for i, s in enumerate(steps_raw))
    tolerances = raw.get("tolerances", {})
    _check_tolerances(tolerances, steps, source)
    _check_order(steps, source)
    return Pipeline(id=pid, steps=steps, description=str(raw.get("description", "")),
                    tolerances=tolerances)


def _check_tolerances(tolerances: Any, steps: tuple[Step, ...], source: str | None) -> None:
    """Overrides are keyed by step index ("1") or op ("resize") and carry a number and a reason:
    {"max_abs": 2, "reason": "measured: ... differs by 2 on ..."}. A widening without a reason is
    an error, so every tolerance in a bundle says why it is what it is."""
    if not isinstance(tolerances, dict):
        raise SpecError("must be a table/object", source=source, field="tolerances")
    ops = {s.op for s in steps}
    for key, tol in tolerances.items():
        where = dict(source=source, field=f"tolerances.{key}")
        if not (key in ops or (key.isdigit() and int(key) < len(steps))):
            raise SpecError(f"names neither a step index (0..{len(steps) - 1}) nor an op of this "
                            f"pipeline ({', '.join(sorted(ops))})", value=key, **where)
        if not isinstance(tol, dict) or set(tol) != {"max_abs", "reason"}:
            raise SpecError('must be {max_abs = <number>, reason = "<why>"}', value=tol, **where)
        if not (_is_number(tol["max_abs"]) and tol["max_abs"] >= 0):
            raise SpecError("max_abs must be a number >= 0", value=tol["max_abs"], **where)
        if not (isinstance(tol["reason"], str) and tol["reason"].strip()):
            raise SpecError("a tolerance override needs a reason", value=tol["reason"], **where)


def _check_order(steps: tuple[Step, ...], source: str | None) -> None:
    """Structural rules, checked when a pipeline is loaded (before any input is read):

    - ``decode`` or ``tensor`` only first: a pipeline reads an encoded file or a tensor, not both;
    - nothing after ``layout``, except an ``encode`` after a layout that keeps (H, W, C) without
      a batch axis; ``encode`` only last;
    - at most one ``normalize``, ``denormalize`` and ``quantize``;
    - the direction of the values: ``denormalize`` and ``quantize`` take floats, ``encode``
      takes integers. Where the kind of value is known from the steps before (``decode`` gives
      integers, ``normalize``/``denormalize`` floats, ``quantize`` integers), a wrong kind is an
      error here; after a ``tensor`` step it depends on the file, and is checked per case."""
    kind = "unknown"  # what flows between the steps: "int", "float" or "unknown" (a tensor file)
    for i, s in enumerate(steps):
        where = dict(source=source, step=i, field="op", value=s.op)
        if isinstance(s, (Decode, Tensor)) and i != 0:
            first = steps[0].op
            if first in ("decode", "tensor"):
                raise SpecError(f"{s.op} after {first}: a pipeline starts from an encoded file "
                                "(decode) or from a tensor (tensor), as its first step, not both",
                                **where)
            raise SpecError(f"{s.op} can only be the first step", **where)
        if i > 0 and isinstance(steps[i - 1], Layout):
            before = steps[i - 1]
            if not (isinstance(s, Encode) and before.layout == "hwc" and not before.batch):
                raise SpecError("layout must be the last step (only an encode may follow a layout "
                                "that keeps hwc without a batch axis)", **where)
        if isinstance(s, Encode) and i != len(steps) - 1:
            raise SpecError("encode can only be the last step", **where)
        if isinstance(s, (Denormalize, Quantize)) and kind == "int":
            raise SpecError(f"{s.op} takes a float tensor, but step {i - 1} "
                            f"({steps[i - 1].op}) gives integers: {s.op} belongs to the way back, "
                            "after a tensor input or a normalize", **where)
        if isinstance(s, Encode) and kind == "float":
            raise SpecError(f"encode writes integer pixels, but step {i - 1} ({steps[i - 1].op}) "
                            "gives floats: quantize them first", **where)
        if isinstance(s, Decode):
            kind = "int"
        elif isinstance(s, (Normalize, Denormalize)):
            kind = "float"
        elif isinstance(s, Quantize):
            kind = "int"
    for cls in (Normalize, Denormalize, Quantize):
        if sum(isinstance(s, cls) for s in steps) > 1:
            raise SpecError(f"at most one {cls.op} step", source=source, field="steps")


PIPELINE_FILE_LIMIT = 16 << 20  # bytes: a pipeline file is a few KB; a larger one is not one


def load_pipelines(path: str | Path) -> list[Pipeline]:
    """Load one pipeline, or several under a top-level ``pipelines`` list, from TOML or JSON."""
    from .safeio import UnsafeData, read_limited

    path = Path(path)
    kind = "TOML" if path.suffix.lower() == ".toml" else "JSON"
    try:
        text = read_limited(path, PIPELINE_FILE_LIMIT).decode("utf-8")
    except OSError as e:
        raise SpecError(f"cannot read: {e.strerror}", source=str(path)) from None
    except UnsafeData as e:
        raise SpecError(str(e).removeprefix(f"{path} "), source=str(path)) from None
    except UnicodeDecodeError as e:
        raise SpecError(f"not UTF-8 text (byte {e.start}: {e.object[e.start:e.start + 4]!r})",
                        source=str(path)) from None
    try:
        doc = tomllib.loads(text) if kind == "TOML" else json.loads(text)
    except ValueError as e:  # TOMLDecodeError, JSONDecodeError, an integer of > 4300 digits
        raise SpecError(f"not valid {kind}: {str(e)[:300]}", source=str(path)) from None
    except RecursionError:
        raise SpecError(f"not valid {kind}: nested too deeply", source=str(path)) from None
    if isinstance(doc, dict) and "pipelines" in doc:
        items = doc["pipelines"]
        if not isinstance(items, list):
            raise SpecError("'pipelines' must be a list", source=str(path), field="pipelines")
        return [pipeline_from_dict(p, source=f"{path} (pipeline {i})") for i, p in enumerate(items)]
    return [pipeline_from_dict(doc, source=str(path), default_id=path.stem)]


def load_one_pipeline(path: str | Path, *, command: str) -> Pipeline:
    """The single pipeline of a file; SpecError naming the file when it holds several (a command
    that compares pipelines takes one per file)."""
    pipelines = load_pipelines(path)
    if len(pipelines) != 1:
        raise SpecError(f"holds {len(pipelines)} pipelines; {command} takes a file with one "
                        f"(ids: {', '.join(p.id for p in pipelines)})", source=str(path))
    return pipelines[0]


def step_from_json(raw: dict) -> Step:
    """Rebuild a fully expanded step from a bundle (no preset expansion: knobs are explicit)."""
    raw = dict(raw)
    op = raw.pop("op", None)
    if op not in STEP_TYPES:
        raise SpecError(f"unknown op {op!r}", field="op", value=op)
    cls = STEP_TYPES[op]
    known = {f.name for f in fields(cls)}
    extra = set(raw) - known
    if extra:
        raise SpecError(f"unknown knob(s) {sorted(extra)} for op {op!r}", field=sorted(extra)[0])
    step = cls(**_coerce(raw))
    step.validate({})
    return step


def pipeline_from_json(raw: dict) -> Pipeline:
    """Rebuild a pipeline stored in a bundle manifest."""
    steps = tuple(step_from_json(s) for s in raw["steps"])
    return Pipeline(id=raw["id"], steps=steps, description=raw.get("description", ""),
                    tolerances=raw.get("tolerances", {}))


def replace(step: Step, **changes: Any) -> Step:
    """A copy of ``step`` with some knobs changed (validated)."""
    new = dataclasses.replace(step, **changes)
    new.validate({})
    return new
