"""EXIF orientation (tag 0x0112) applied to an image array ``a[y, x, ...]``.

The tag says where row 0 and column 0 of the stored image belong in the displayed image
(Exif 2.32 §4.6.4 A, "Orientation"; TIFF 6.0 §8). Displaying means applying the inverse of the
camera's transform. The table (notes/decode-semantics.md §5), with each entry equal to Pillow
``ImageOps.exif_transpose`` and OpenCV ``loadsave.cpp ExifTransform``:

    value  stored row 0 / col 0   numpy                                Pillow method     OpenCV
    1      top / left             a                                    -                 -
    2      top / right            a[:, ::-1]                           FLIP_LEFT_RIGHT   flip(1)
    3      bottom / right         a[::-1, ::-1]                        ROTATE_180        flip(-1)
    4      bottom / left          a[::-1, :]                           FLIP_TOP_BOTTOM   flip(0)
    5      left / top             a.swapaxes(0, 1)                     TRANSPOSE         transpose
    6      right / top            a.swapaxes(0, 1)[:, ::-1]  (90° CW)  ROTATE_270        transpose, flip(1)
    7      right / bottom         a.swapaxes(0, 1)[::-1, ::-1]         TRANSVERSE        transpose, flip(-1)
    8      left / bottom          a.swapaxes(0, 1)[::-1, :]  (90° CCW) ROTATE_90         transpose, flip(0)
    0, >= 9, None (absent)        a  (unchanged, as all three libraries do)

Values 1-4 keep the size; 5-8 swap height and width. Every transform is a permutation of pixels,
so it commutes with any per-pixel step (depth conversion, colour conversion, alpha handling).
"""

from __future__ import annotations

import numpy as np

# value -> (transpose first?, flip rows?, flip columns?), read off the table above.
ORIENTATIONS: dict[int, tuple[bool, bool, bool]] = {
    1: (False, False, False),
    2: (False, False, True),
    3: (False, True, True),
    4: (False, True, False),
    5: (True, False, False),
    6: (True, False, True),
    7: (True, True, True),
    8: (True, True, False),
}

# The orientation value whose transform undoes value v's: all are involutions except the two
# quarter turns, 6 (90° clockwise) and 8 (90° counter-clockwise), which undo each other.
INVERSE: dict[int, int] = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 8, 7: 7, 8: 6}


def apply_orientation(a: np.ndarray, value: int | None) -> np.ndarray:
    """Display an array stored with EXIF orientation ``value`` (see the module table).

    ``a`` has shape (H, W) or (H, W, C); the result is a contiguous copy (a new array even for
    value 1, so callers may modify it). ``value`` 0, >= 9, negative or None: returned unchanged.
    """
    rule = ORIENTATIONS.get(value) if isinstance(value, (int, np.integer)) else None
    if rule is None:
        return np.array(a, order="C", copy=True)
    transpose, flip_rows, flip_cols = rule
    out = a.swapaxes(0, 1) if transpose else a
    if flip_rows:
        out = out[::-1]
    if flip_cols:
        out = out[:, ::-1]
    return np.array(out, order="C", copy=True)
