"""Deterministic images that suit the built-in models, made on demand (nothing committed).

- ``pages``: document pages (dark text lines in several sizes on off-white paper, rendered with
  Pillow's built-in scalable font, ``ImageFont.load_default(size=...)``, FreeType), each turned
  by 0, 90, 180 or 270 degrees clockwise, PNG and JPEG; one in four JPEGs stores its pixels
  turned and carries the EXIF orientation tag that turns them upright (so "EXIF applied" sees
  an upright page and "EXIF ignored" a turned one); plus scikit-image's public-domain scans
  ``text`` and ``page``. For the 4-class orientation model.
- ``lines``: single text lines of aspect 4:1 (the text-line classifier's 48x192 input), upright
  or turned 180 degrees, some JPEGs with EXIF orientation 3 (stored turned, tagged upright).
- ``pages_det``: 480x640 landscape pages with text blocks (the DBNet detector's 736x992 input),
  some with EXIF orientation 3.

File names carry the truth: ``..._r<degrees clockwise as stored>_exif<tag>.<ext>``; the
displayed (EXIF-applied) rotation of a tagged file is 0. :func:`truth` reads it back.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

WORDS = ("the quick brown fox jumps over lazy dog image model resize tensor invoice total "
         "amount date page section report deploy python rust library pixel kernel filter "
         "channel order normalise crop decode orientation text line detector classifier "
         "2024 17.50 No. 42 ACME Ltd. Street").split()
# EXIF orientation tag that displays stored pixels turned k·90 degrees counter-clockwise
# (np.rot90(upright, k)) upright again: 6 = rotate 90 CW to display, 3 = 180, 8 = 90 CCW.
EXIF_FOR_ROT90 = {1: 6, 2: 3, 3: 8}


def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def _text(rng: np.random.Generator, n: int) -> str:
    return " ".join(rng.choice(WORDS, n))


# Paper and ink colours (RGB): white and tinted papers, black, blue and red inks, so that the
# channel order is not invisible on every page.
PAPERS = ((255, 255, 255), (250, 244, 222), (226, 236, 250), (255, 228, 196), (236, 250, 230))
INKS = ((0, 0, 0), (20, 40, 150), (170, 20, 20), (30, 30, 60), (0, 90, 40))


def page(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """An upright page: (height, width, 3) uint8 RGB: a coloured header band on some pages,
    then text lines in several sizes and inks."""
    paper = PAPERS[int(rng.integers(len(PAPERS)))]
    img = Image.new("RGB", (width, height), paper)
    draw = ImageDraw.Draw(img)
    y = int(rng.integers(8, 24))
    margin = int(rng.integers(10, 30))
    if rng.random() < 0.5:
        band = tuple(int(v) for v in rng.integers(40, 220, 3))
        draw.rectangle((0, 0, width, y + 40), fill=band)
        draw.text((margin, y + 4), _text(rng, 3).upper(), fill=(255, 255, 255), font=_font(26))
        y += 56
    while y < height - 20:
        size = int(rng.choice([12, 14, 16, 18, 22, 28]))
        ink = INKS[int(rng.integers(len(INKS)))]
        draw.text((margin, y), _text(rng, int(rng.integers(4, 12))), fill=ink, font=_font(size))
        y += int(size * rng.uniform(1.3, 2.2))
    return np.asarray(img)


def line(rng: np.random.Generator, height: int) -> np.ndarray:
    """An upright text line of aspect 4:1: (height, 4·height, 3) uint8 RGB."""
    width = 4 * height
    paper = PAPERS[int(rng.integers(len(PAPERS)))]
    img = Image.new("RGB", (width, height), paper)
    draw = ImageDraw.Draw(img)
    size = int(height * rng.uniform(0.55, 0.75))
    ink = INKS[int(rng.integers(len(INKS)))]
    draw.text((int(height * 0.1), int((height - size) * 0.4)), _text(rng, 6), fill=ink, font=_font(size))
    return np.asarray(img)


def encode(rgb: np.ndarray, fmt: str, exif_tag: int = 1, quality: int = 90) -> bytes:
    """PNG or JPEG bytes (Pillow), with an EXIF orientation tag when ``exif_tag`` != 1."""
    buf = io.BytesIO()
    img = Image.fromarray(rgb)
    kwargs = {}
    if exif_tag != 1:
        exif = Image.Exif()
        exif[0x0112] = exif_tag
        kwargs["exif"] = exif.tobytes()
    if fmt == "jpg":
        img.save(buf, "JPEG", quality=quality, **kwargs)
    else:
        img.save(buf, "PNG", **kwargs)
    return buf.getvalue()


def _write(out: Path, name: str, upright: np.ndarray, k: int, fmt: str, exif: bool) -> Path:
    """Store ``upright`` turned k·90 degrees counter-clockwise. With ``exif`` the tag that turns
    it back is written (the name then says exif<tag>, and the displayed rotation is 0)."""
    stored = np.ascontiguousarray(np.rot90(upright, k))
    tag = EXIF_FOR_ROT90.get(k % 4, 1) if exif else 1
    clockwise = (360 - 90 * k) % 360
    path = out / f"{name}_r{clockwise}_exif{tag}.{fmt}"
    path.write_bytes(encode(stored, fmt, tag))
    return path


def make_set(kind: str, out: Path, count: int, seed: int = 15) -> list[Path]:
    """Write ``count`` images of set ``kind`` (module docstring) into ``out``; their paths."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths: list[Path] = []
    if kind == "pages":
        paths += _skimage_scans(out)
        for i in range(max(0, count - len(paths))):
            h = int(rng.integers(420, 640))
            w = int(h * rng.uniform(0.68, 0.8))
            upright = page(rng, h, w)
            fmt = "jpg" if i % 2 else "png"
            exif = fmt == "jpg" and i % 4 == 3
            k = 1 + (i // 4) % 3 if exif else (i + i // 4) % 4  # every rotation, EXIF or not
            paths.append(_write(out, f"page{i:03d}", upright, k, fmt, exif))
    elif kind == "lines":
        for i in range(count):
            upright = line(rng, int(rng.choice([32, 40, 48, 64, 80])))
            fmt = "jpg" if i % 2 else "png"
            exif = fmt == "jpg" and i % 4 == 3
            k = 2 if exif or i % 4 in (1, 2) else 0
            paths.append(_write(out, f"line{i:03d}", upright, k, fmt, exif))
    elif kind == "pages_det":
        for i in range(count):
            upright = page(rng, 480, 640)
            fmt = "jpg" if i % 2 else "png"
            exif = fmt == "jpg" and i % 4 == 3
            paths.append(_write(out, f"doc{i:03d}", upright, 2 if exif else 0, fmt, exif))
    else:
        raise ValueError(f"unknown image set {kind!r}: pages, lines, pages_det")
    return paths[:count]


def _skimage_scans(out: Path) -> list[Path]:
    """scikit-image's public-domain scans ``text`` and ``page`` as RGB PNGs (upright)."""
    import skimage.data

    paths = []
    for name in ("text", "page"):
        gray = getattr(skimage.data, name)()
        rgb = np.repeat(gray[:, :, None], 3, axis=2)
        path = out / f"skimage_{name}_r0_exif1.png"
        path.write_bytes(encode(rgb, "png"))
        paths.append(path)
    return paths


def truth(path: str | Path, *, exif_applied: bool) -> str | None:
    """The clockwise rotation (degrees, as a label string) the file shows, from its name: the
    stored rotation, or 0 for a tagged file read with its EXIF orientation applied."""
    parts = Path(path).stem.split("_")
    rot = next((p[1:] for p in parts if p[:1] == "r" and p[1:].isdigit()), None)
    tag = next((p[4:] for p in parts if p.startswith("exif")), "1")
    if rot is None:
        return None
    return "0" if exif_applied and tag != "1" else rot
