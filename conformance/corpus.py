"""The built-in input corpus: synthetic images and a few real photographs, encoded into every
PNG variant the reference decoder must handle, plus negative inputs a decoder must reject.

Everything here is deterministic: the same call gives the same bytes on every machine (the PNG
encoder is our own; photographs come from files shipped in the pinned scikit-image wheel, read
losslessly and reduced with an integer box filter, no library resampling).

Tags say what an input is for, so pipelines can pick inputs: ``png``, ``rgb8`` (8-bit RGB, fit for
every resize/colour pipeline), ``photo``, ``synthetic``, ``variant`` (a PNG colour type / depth /
interlace variant), ``small`` (both sides <= 48: upscaling inputs), ``exif`` (eXIf orientation), ``orientation_text``
(an orientation only Pillow reads: text chunk or XMP), ``alpha``, ``16bit``, ``gray``, ``negative``.

JPEG inputs (:func:`jpeg_inputs`, negatives in :func:`negative_inputs`) are written by Pillow and
OpenCV with pinned parameters plus byte-level edits (``conformance/encoders/jpeg.py``); their
bytes are those of the pinned Pillow 13.0.0 / opencv-python-headless 5.0.0 builds. Their tags:
``jpeg`` on every one; the writer (``pillow``, ``opencv``); ``jpeg_q<N>``; the sampling
(``jpeg_444``, ``jpeg_422``, ``jpeg_420``, ``jpeg_440``, ``jpeg_411``, ``gray``, ``cmyk``,
``adobe_rgb``); ``baseline`` or ``progressive``; ``optimized``, ``restart``, ``jpeg_exif``,
``icc``, ``partial_scans`` (a progressive file cut after its first scans), ``partial_mcu``,
``tiny_side``; ``jpeg_negative`` for the hostile ones; ``jpeg_unsupported`` for valid files
of processes the reference does not implement (arithmetic coding, 12-bit). JPEGs carry none of
the PNG tags (``exif``, ``negative``, ``variant``, ``main``...), so the PNG pipelines do not pick
them up by accident; the default plan (:mod:`conformance.plans`) selects them by their own tags
(a pipeline's ``jpeg`` tag selects them all, negatives included when it also asks for
``negative``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from . import synthetic as syn
from .bundle import InputFile
from .encoders import jpeg_damage
from .encoders import jpeg as jpeg_encoder
from .encoders import png as png_encoder
from .encoders import webp as webp_encoder
from .errors import ConformanceError

PNG = "image/png"
JPEG = jpeg_encoder.JPEG

# Photographs shipped by scikit-image whose licence allows redistribution:
# astronaut (NASA, public domain), chelsea and coffee (CC0), moon (public domain).
PHOTOS = {"astronaut": ("astronaut.png", 8), "chelsea": ("chelsea.png", 6),
          "coffee": ("coffee.png", 8), "moon": ("moon.png", 8)}


def skimage_data_dir() -> Path:
    """The folder of sample images inside the installed scikit-image wheel."""
    import importlib.util

    spec = importlib.util.find_spec("skimage")  # located, not imported: only its files are read
    if spec is None or spec.origin is None:  # pragma: no cover - a pinned dependency
        raise ConformanceError("the photographs of the built-in corpus come from scikit-image: "
                               "pip install scikit-image==0.26.0")
    return Path(spec.origin).parent / "data"


@lru_cache(maxsize=None)
def photo(name: str, reduce: int | None = None) -> np.ndarray:
    """Photo ``name`` as an (H, W, C) uint8 array, box-reduced by ``reduce`` (default: corpus size)."""
    from PIL import Image  # PNG is lossless: any conforming decoder gives these exact samples

    file, default_reduce = PHOTOS[name]
    with Image.open(skimage_data_dir() / file) as im:
        a = np.asarray(im)
    a = a[..., None] if a.ndim == 2 else a
    factor = default_reduce if reduce is None else reduce
    return syn.box_downscale(a, factor) if factor > 1 else a.copy()


@dataclass(frozen=True)
class Variant:
    """How a base image is stored in a PNG: colour type, bit depth, interlace. Rows rotate
    through the five filter types (row k uses type k mod 5), so every variant exercises all."""

    color_type: int
    bit_depth: int
    interlace: bool = False

    @property
    def tag(self) -> str:
        names = {0: "gray", 2: "rgb", 3: "palette", 4: "graya", 6: "rgba"}
        return f"{names[self.color_type]}{self.bit_depth}" + ("_adam7" if self.interlace else "")


# Every legal (colour type, bit depth) of PNG 3rd ed. Table 11.1.
LEGAL_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}


def _base_for(variant: Variant, h: int, w: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Samples for a variant at native depth (and a palette for type 3), made from synthetic images."""
    d = variant.bit_depth
    maxv = (1 << d) - 1
    dtype = np.uint16 if d == 16 else np.uint8
    if variant.color_type == 3:
        ncolors = min(1 << d, 16 if d >= 4 else 1 << d)
        bars = syn.colour_bars(1, ncolors)[0]
        palette = np.concatenate([bars, syn.noise(1, max(0, ncolors - len(bars)), 3)[0]])[:ncolors]
        y, x = np.mgrid[0:h, 0:w]
        index = ((x * ncolors) // w + y) % ncolors
        return index.astype(np.uint8)[..., None], palette.astype(np.uint8)
    if d == 16:
        rgb = syn.ramp16(h, w)
    else:
        rgb = (syn.zone_plate(h, w).astype(np.uint32) * maxv + 127) // 255
    channels = {0: [0], 2: [0, 1, 2], 4: [0, 1], 6: [0, 1, 2, 1]}[variant.color_type]
    out = rgb[..., channels].astype(dtype)
    if variant.color_type in (4, 6):  # alpha: a ramp over the whole range along x
        a = np.floor(maxv * np.arange(w) / max(w - 1, 1) + 0.5).astype(dtype)
        out[..., -1] = a[None, :]
    return out, None


def png_variants() -> list[InputFile]:
    """Every colour type x legal bit depth, plain and Adam7-interlaced, on odd sizes; every filter
    type forced once; tRNS for gray, RGB and palette; 16-bit tRNS; eXIf orientations 1..8; iCCP."""
    items: list[InputFile] = []
    h, w = 13, 17  # odd, smaller than one Adam7 block in neither axis
    for ct, depths in LEGAL_DEPTHS.items():
        for d in depths:
            for interlace in (False, True):
                v = Variant(ct, d, interlace)
                samples, palette = _base_for(v, h, w)
                data = png_encoder.encode_png(samples, colour_type=ct, bit_depth=d, interlace=interlace,
                                              palette=palette, filters="rotate")
                tags = ("png", "variant", v.tag, "16bit" if d == 16 else "8bit-or-less")
                if ct in (4, 6):
                    tags += ("alpha",)
                if ct in (0, 4):
                    tags += ("gray",)
                items.append(InputFile(id=f"png.{v.tag}.{h}x{w}", data=data, media_type=PNG,
                                       description=f"PNG colour type {ct}, {d}-bit"
                                       + (", Adam7 interlaced" if interlace else ""),
                                       origin=f"corpus: zone plate/ramp encoded as {v.tag}", tags=tags))
    # each filter type on every row, on a larger RGB and a 16-bit image (bpp 3 and 6)
    for ft in range(5):
        for d in (8, 16):
            rgb = syn.noise(9, 23, 3, dtype=np.uint16 if d == 16 else np.uint8)
            data = png_encoder.encode_png(rgb, colour_type=2, bit_depth=d, filters=ft)
            items.append(InputFile(id=f"png.rgb{d}_filter{ft}.9x23", data=data, media_type=PNG,
                                   description=f"RGB {d}-bit noise, every row filtered with type {ft}",
                                   origin="corpus: noise", tags=("png", "variant", "16bit" if d == 16 else "rgb8")))
    # tRNS on gray, RGB (8 and 16-bit) and palette images
    g8 = syn.gradients(11, 7)
    trns_cases = [
        ("gray8_trns", g8[..., :1], 0, 8, None, 0),
        ("gray16_trns", syn.ramp16(11, 7)[..., :1], 0, 16, None, 65535),
        ("rgb8_trns", g8, 2, 8, None, tuple(int(c) for c in g8[5, 3])),
        ("rgb16_trns", syn.ramp16(11, 7), 2, 16, None, tuple(int(c) for c in syn.ramp16(11, 7)[0, 0])),
    ]
    pal_idx, pal = _base_for(Variant(3, 4), 11, 7)
    trns_cases.append(("palette4_trns", pal_idx, 3, 4, pal, np.arange(len(pal), dtype=np.uint8) * 16))
    for name, samples, ct, d, palette, trns in trns_cases:
        data = png_encoder.encode_png(samples, colour_type=ct, bit_depth=d, palette=palette, trns=trns)
        items.append(InputFile(id=f"png.{name}.11x7", data=data, media_type=PNG,
                               description=f"PNG {name.replace('_', ' + ')}", origin="corpus",
                               tags=("png", "variant", "trns", "16bit" if d == 16 else "8bit-or-less")))
    # EXIF orientation in an eXIf chunk, on a non-square image so rotations change the shape
    g = syn.gradients(6, 10)
    for orientation in range(1, 9):
        data = png_encoder.encode_png(g, colour_type=2, bit_depth=8, exif_orientation=orientation)
        items.append(InputFile(id=f"png.exif{orientation}.6x10", data=data, media_type=PNG,
                               description=f"RGB with eXIf orientation {orientation}", origin="corpus",
                               tags=("png", "exif", "rgb8")))
    # the orientation where only Pillow's getexif reads it (ImageMagick's raw profile text chunk,
    # XMP in an iTXt after IDAT): ImageOps.exif_transpose rotates, OpenCV and libpng do not
    plain = png_encoder.encode_png(g, colour_type=2, bit_depth=8)
    for name, data, desc in (
            ("png.rawprofile6.6x10", png_encoder.with_chunks(plain, [png_encoder.ztxt_chunk(
                "Raw profile type exif", png_encoder.raw_profile_exif(6))]),
             "orientation 6 only in ImageMagick's zTXt 'Raw profile type exif'"),
            ("png.xmp8.6x10", png_encoder.with_chunks(plain, after_idat=[png_encoder.itxt_chunk(
                "XML:com.adobe.xmp", png_encoder.xmp_packet(8))]),
             "orientation 8 only in XMP (iTXt after IDAT)")):
        items.append(InputFile(id=name, data=data, media_type=PNG, description=desc, origin="corpus",
                               tags=("png", "exif", "rgb8", "orientation_text")))
    # an animated PNG whose default image is not part of the animation: Pillow (and libpng)
    # return the default image, OpenCV 5 the first animation frame
    frame = np.ascontiguousarray(g[::-1, ::-1])
    data = png_encoder.encode_apng(g, [(frame, 0, 0), (g[:3, :4].copy(), 2, 1)], colour_type=2,
                                   default_is_frame=False)
    items.append(InputFile(id="png.apng_hidden_default.6x10", data=data, media_type=PNG,
                           description="APNG: default image outside the animation, 2 frames",
                           origin="corpus: conformance.encoders.png.encode_apng",
                           tags=("png", "variant", "rgb8", "apng")))
    # more zlib data than the header needs: libpng warns "Too much image data" and Pillow and
    # OpenCV both decode the 16x16 image; a decoder must stop inflating at what it needs
    data = png_encoder.zip_bomb_png(16, 16, 8 << 20)
    items.append(InputFile(id="png.gray8_excess_idat.16x16", data=data, media_type=PNG,
                           description="16x16 gray whose IDAT inflates to 8 MiB (excess data ignored)",
                           origin="corpus: conformance.encoders.png.zip_bomb_png", tags=("png", "variant")))
    # an ICC profile chunk (kept, never applied by any library here)
    data = png_encoder.encode_png(g, colour_type=2, bit_depth=8, icc_profile=b"conformance-test-profile" * 4)
    items.append(InputFile(id="png.rgb8_iccp.6x10", data=data, media_type=PNG,
                           description="RGB with an iCCP chunk (not applied)", origin="corpus",
                           tags=("png", "variant", "rgb8")))
    return items


def synthetic_inputs() -> list[InputFile]:
    """8-bit RGB synthetic images at sizes chosen to hit odd/prime sizes, 1xN and extreme ratios."""
    specs = [("zone_plate", syn.zone_plate, 61, 83), ("gradients", syn.gradients, 48, 64),
             ("checker", syn.checkerboard, 33, 31), ("colour_bars", syn.colour_bars, 24, 40),
             ("noise", syn.noise, 29, 37), ("text", syn.text_like, 45, 71),
             ("gradients", syn.gradients, 1, 67), ("gradients", syn.gradients, 53, 1),
             ("noise", syn.noise, 1, 1), ("zone_plate", syn.zone_plate, 3, 150),
             ("zone_plate", syn.zone_plate, 150, 3)]
    items = []
    for name, fn, h, w in specs:
        data = png_encoder.encode_png(fn(h, w), colour_type=2, bit_depth=8)
        tags = ("png", "rgb8", "synthetic") + (("edge",) if min(h, w) <= 3 else ("main",))
        tags += ("small",) if 3 < max(h, w) <= 48 else ()
        items.append(InputFile(id=f"syn.{name}.{h}x{w}", data=data, media_type=PNG,
                               description=f"synthetic {name.replace('_', ' ')} {h}x{w}",
                               origin=f"corpus: conformance.synthetic.{fn.__name__}({h}, {w})", tags=tags))
    return items


def photo_inputs() -> list[InputFile]:
    """Real photographs (scikit-image's sample data), box-reduced to small sizes; the astronaut
    also at 32x32, small enough to be upscaled."""
    items = []
    for name, (file, factor) in list(PHOTOS.items()) + [("astronaut", ("astronaut.png", 16))]:
        a = photo(name, factor)
        gray = a.shape[2] == 1
        data = png_encoder.encode_png(a, colour_type=0 if gray else 2, bit_depth=8)
        h, w = a.shape[:2]
        items.append(InputFile(id=f"photo.{name}.{h}x{w}", data=data, media_type=PNG,
                               description=f"photograph {file} reduced 1/{factor}",
                               origin=f"scikit-image 0.26 data/{file}, {factor}x{factor} box mean",
                               tags=("png", "photo") + (("gray", "variant") if gray else
                                                        ("rgb8", "small") if max(h, w) <= 48 else ("rgb8", "main"))))
    return items


def full_size_photos() -> list[InputFile]:
    """The colour photographs at their full size as the JPEGs a camera or a web page hands a
    deployment (Pillow 13 / libjpeg-turbo, quality 90, 4:2:0): ``compare``'s default inputs.
    astronaut 512x512, chelsea 300x451, coffee 400x600, and chelsea stored turned with EXIF
    orientation 6 (as a phone stores a portrait shot)."""
    import io

    from PIL import Image

    items = []
    for name, orientation in (("astronaut", 1), ("chelsea", 1), ("coffee", 1), ("chelsea", 6)):
        a = photo(name, 1)
        if orientation == 6:  # stored as a phone stores a portrait shot: pixels turned, EXIF 6
            a = np.ascontiguousarray(np.rot90(a, 1))
        exif = Image.Exif()
        exif[0x0112] = orientation
        buf = io.BytesIO()
        Image.fromarray(a).save(buf, "JPEG", quality=90, subsampling=2,
                                exif=exif.tobytes() if orientation != 1 else b"")
        h, w = a.shape[:2]
        tag = f".exif{orientation}" if orientation != 1 else ""
        items.append(InputFile(id=f"photo.{name}.{h}x{w}.q90{tag}", data=buf.getvalue(), media_type=JPEG,
                               description=f"photograph {PHOTOS[name][0]}, full size, JPEG q90 4:2:0"
                                           + (f", EXIF orientation {orientation}" if tag else ""),
                               origin=f"scikit-image 0.26 data/{PHOTOS[name][0]} as JPEG q90 4:2:0{tag}",
                               tags=("jpeg", "photo", "full")))
    return items


def jpeg_inputs(*, photos: bool = True) -> list[InputFile]:
    """JPEG variants (conformance/encoders/jpeg.py): qualities, subsamplings, gray, CMYK, Adobe
    RGB, progressive (whole and cut after k scans), optimised tables, restart intervals, EXIF
    orientations 1-8, ICC, odd sizes; synthetic images and the corpus photographs."""
    items = [InputFile(id=v.id, data=v.data, media_type=JPEG, description=v.description,
                       origin=v.origin, tags=v.tags)
             for v in jpeg_encoder.jpeg_variants(photo if photos else None)]
    # valid files of JPEG processes the reference does not implement: generate lists them as
    # skipped (UnsupportedFeature), a record of what the reference cannot check
    items += [InputFile(id=u.id, data=u.data, media_type=JPEG, description=u.description,
                        origin=u.origin, tags=u.tags, meta={"reference": u.reject_as})
              for u in jpeg_encoder.unsupported_jpegs()]
    return items


def webp_inputs(*, photos: bool = True) -> list[InputFile]:
    """WebP variants (conformance/encoders/webp.py): lossy at several qualities and methods,
    lossless, alpha, few colours, odd sizes, EXIF orientation, Pillow's and OpenCV's encoders."""
    return [InputFile(id=v.id, data=v.data, media_type=webp_encoder.WEBP, description=v.description,
                      origin=v.origin, tags=v.tags)
            for v in webp_encoder.webp_variants(photo if photos else None)]


def negative_inputs() -> list[InputFile]:
    """Inputs a conforming decoder must reject (expect='error'): PNG ones (tagged ``negative``),
    then JPEG ones (tagged ``jpeg_negative``; ``meta.reject_as`` names the error class a
    conforming decoder raises)."""
    good = png_encoder.encode_png(syn.gradients(8, 8), colour_type=2, bit_depth=8)
    cases = {
        "bad_crc": (png_encoder.corrupt_crc(good, b"IDAT"), "IDAT chunk CRC does not match"),
        "truncated": (png_encoder.truncate(good, len(good) // 2), "stream cut in the middle of IDAT"),
        "no_iend": (png_encoder.truncate(good, len(good) - 12), "IEND chunk missing"),
        "not_an_image": (png_encoder.not_an_image(), "plain text"),
        "huge_header": (png_encoder.huge_dimensions_png(100_000, 100_000), "IHDR claims 100000x100000 pixels"),
        "bad_zlib": (png_encoder.corrupt_zlib(good), "IDAT holds a corrupt zlib stream (CRC valid)"),
    }
    items = [InputFile(id=f"neg.{name}", data=data, media_type=PNG if data.startswith(b"\x89PNG") else
                       "application/octet-stream", description=desc, expect="error",
                       origin="corpus: negative", tags=("negative",))
             for name, (data, desc) in cases.items()]
    items += [InputFile(id=n.id, data=n.data, media_type=JPEG, description=n.description, expect="error",
                        origin=n.origin, tags=n.tags, meta={"reject_as": n.reject_as})
              for n in jpeg_encoder.negative_jpegs() + jpeg_damage.damaged_jpegs()]
    items += [InputFile(id=n.id, data=n.data, media_type=webp_encoder.WEBP, description=n.description,
                        expect="error", origin=n.origin, tags=n.tags, meta={"reject_as": "DecodeError"})
              for n in webp_encoder.negative_webps()]
    return items


def builtin_corpus(*, photos: bool = True) -> list[InputFile]:
    """The whole built-in corpus, in a fixed order."""
    from .tensor_corpus import negative_tensors, tensor_inputs

    items = (png_variants() + synthetic_inputs() + (photo_inputs() if photos else [])
             + jpeg_inputs(photos=photos) + webp_inputs(photos=photos) + negative_inputs()
             + (tensor_inputs() if photos else []) + negative_tensors())
    ids = [i.id for i in items]
    assert len(ids) == len(set(ids)), "corpus ids must be unique"
    return items
