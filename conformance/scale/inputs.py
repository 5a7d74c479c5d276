"""The images of a check: listed from directories and list files, named, read with limits.

``--images`` takes directories (walked recursively, files with an image suffix, sorted by
relative path), image files, and list files (``.txt`` or ``.lst``: one path per line, relative to the list
file's folder; blank lines and ``#`` comments skipped), as many as wanted. An image's id is its
path relative to the directory or list it came from, made a safe name (``n01440764/x.JPEG`` ->
``n01440764.x.JPEG``), so ids are stable across runs and resumes; two images that would share an
id get ``.2``, ``.3``... in listing order.

Listing reads no image: a file is read (and checked: regular file, size limit, signature) only
when its batch is sent, so memory does not grow with the number of images.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import SpecError
from ..plans import IMAGE_SUFFIXES, MAX_INPUT_BYTES, read_user_file
from ..safeio import read_limited
from .task import Image

LIST_SUFFIXES = (".txt", ".lst")
LIST_LIMIT = 256 << 20  # bytes of one list file


@dataclass(frozen=True)
class ImageRef:
    id: str
    path: str  # as it will be opened


def list_images(paths: list[Path]) -> list[ImageRef]:
    """Every image the ``--images`` arguments name, with its id (see the module docstring)."""
    found: list[tuple[str, str]] = []  # (relative name, path)
    for p in paths:
        p = Path(p)
        if p.is_dir():
            here = []
            for root, _, files in os.walk(p):
                for f in files:
                    full = Path(root) / f
                    if full.suffix.lower() in IMAGE_SUFFIXES and full.suffix.lower() != ".npy":
                        here.append((full.relative_to(p).as_posix(), str(full)))
            found += sorted(here)
        elif p.suffix.lower() in LIST_SUFFIXES:
            try:
                text = read_limited(p, LIST_LIMIT).decode("utf-8")
            except (OSError, UnicodeDecodeError) as e:
                raise SpecError(f"{p}: cannot read the image list: {getattr(e, 'strerror', None) or e}") from None
            for line in text.splitlines():
                line = line.strip()
                if line and not line.startswith("#"):
                    found.append((line, str(p.parent / line)))
        else:
            found.append((p.name, str(p)))
    out, seen = [], set()
    for rel, path in found:
        base = safe_id(rel)
        iid, n = base, 1
        while iid in seen:
            n += 1
            iid = f"{base}.{n}"
        seen.add(iid)
        out.append(ImageRef(iid, path))
    return out


def safe_id(rel: str) -> str:
    """A bundle-safe id from a relative path: path separators become dots, anything but
    letters, digits and ``._-`` an underscore; at most 150 characters."""
    parts = [p for p in rel.replace("\\", "/").split("/") if p not in ("", ".", "..")]
    text = ".".join(parts)
    text = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in text)
    return text.lstrip("._-")[:150] or "image"


def read_image(ref: ImageRef, max_bytes: int = MAX_INPUT_BYTES) -> Image:
    """The image with its bytes, or with the reason it is refused (it is not read then)."""
    got = read_user_file(Path(ref.path), max_bytes)
    if isinstance(got, dict):
        return Image(ref.id, ref.path, refused=got)
    data, fmt = got
    if fmt == "npy":
        return Image(ref.id, ref.path, refused={"input": ref.path, "type": "SpecError",
                                                 "message": f"{ref.path}: a tensor; check takes images"})
    return Image(ref.id, ref.path, data=data, format=fmt)
