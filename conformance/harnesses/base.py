"""The in-process harness protocol: what every built-in harness implements.

A harness runs pipeline steps with one library, the way a deployment using that library would
write them. It reads steps as the bundle stores them: plain JSON dicts with every knob spelled out
(``{"op": "resize", "filter": "triangle", "antialias": true, ...}``), exactly what a port in
another language reads from ``manifest.json``. Harnesses never import the reference
(:mod:`conformance.reference`) nor the step classes of :mod:`conformance.spec`: they are
independent implementations, which is the point of comparing them.

Two kinds of knobs (the rule every harness follows, so reports read the same for all of them):

- **Intent knobs** select *what* is computed: the op, the target size, the filter family
  (nearest, box, triangle, cubic, lanczos, area...), decode ``output`` channels, colour
  ``conversion``, normalize mean/std/scale/dtype, layout. If the library has no call for the intent,
  the step is **unsupported** and :meth:`Harness.check` says why in words a porter can act on
  ("cv2.resize has no Gaussian filter; use fast_image_resize or the reference").
- **Behaviour knobs** describe *how* a library computes it: ``antialias``, ``coords``, ``cubic_a``,
  ``arithmetic``, ``rounding``, ``pass_order``, ``border``, EXIF ``orientation``, ``depth16``...
  Where the library exposes a parameter for one, the harness passes it (ONNX Resize takes
  ``coordinate_transformation_mode``; cv2.imdecode takes IMREAD_IGNORE_ORIENTATION). Where it does
  not, the harness runs the library's fixed behaviour and the *score* shows the divergence: that
  is the deployment reality the suite exists to measure (Pillow's bilinear is antialiased and
  OpenCV's is not; asking cv2 for ``antialias=true`` gives you cv2's bilinear anyway).

:meth:`Harness.describe` names the library call a step maps to, so a report can say
"cv2.resize(interpolation=INTER_LINEAR)" next to the numbers.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np


class Unsupported(Exception):
    """The harness's library has no call for this step; ``reason`` says what is missing."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


class Harness:
    """Base class of the built-in harnesses. Subclasses set ``name``/``summary`` and implement
    :meth:`versions`, :meth:`check`, :meth:`describe` and :meth:`run`.

    ``run(step, value)`` receives the encoded file's bytes for a ``decode`` step and an array
    otherwise ((H, W, C) until a layout step changes that, dtype as the previous step produced),
    and returns a numpy array. It must not modify ``value``. Malformed input must raise (any
    exception): for a negative vector, raising is the conforming behaviour.
    """

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""

    def versions(self) -> dict[str, str]:
        """Library name -> version string, e.g. ``{"opencv-python-headless": "5.0.0.93"}``."""
        raise NotImplementedError

    def check(self, step: dict[str, Any]) -> str | None:
        """``None`` if this harness can run ``step``; otherwise the reason it cannot."""
        raise NotImplementedError

    def describe(self, step: dict[str, Any]) -> str:
        """The library call ``step`` maps to, one line (only called for supported steps)."""
        raise NotImplementedError

    def run(self, step: dict[str, Any], value: bytes | np.ndarray) -> np.ndarray:
        """Run one supported step on ``value``; raise :class:`Unsupported` if :meth:`check` would."""
        raise NotImplementedError

    def capabilities(self) -> dict[str, str]:
        """Op -> one line on what of it this harness covers (for ``conformance harnesses``)."""
        return {}


def package_versions(import_name: str, version: str) -> dict[str, str]:
    """``{import_name: version}`` plus the version of each installed distribution that provides
    the import (e.g. cv2 -> opencv-python-headless 5.0.0.93), so a report names the wheel."""
    import importlib.metadata

    out = {import_name: version}
    for dist in importlib.metadata.packages_distributions().get(import_name, []):
        out[dist] = importlib.metadata.version(dist)
    return out


def centre_offset(extra: int, rule: str) -> int:
    """``rule(extra / 2)``, the offset of a centred window (crop) or image (letterbox) on an axis
    with ``extra`` pixels of slack: floor (integer division), round (half to even),
    round_half_up. Shared, like :func:`crop_padding`: which window is meant is the intent."""
    if rule == "floor":
        return extra // 2
    if rule == "round":
        return int(round(extra / 2))
    if rule == "round_half_up":
        return (extra + 1) // 2
    raise ValueError(f"unknown offset_rounding {rule!r}")


def crop_padding(extra: int, pad_extra: str) -> int:
    """Padding before (top/left) of an axis ``extra`` pixels shorter than a centre crop's window
    (crop ``if_smaller="pad"``): ``after`` puts the odd pixel after (extra // 2, torchvision
    F.center_crop), ``before`` puts it before (ceil(extra / 2), transformers'
    image_transforms.center_crop). Shared, like :func:`resize_target`: where the padding goes is
    part of the intent (which window the user asked for)."""
    if pad_extra == "after":
        return extra // 2
    if pad_extra == "before":
        return (extra + 1) // 2
    raise ValueError(f"unknown pad_extra {pad_extra!r} (after or before)")


def resize_target(step: dict[str, Any], height: int, width: int) -> tuple[int, int]:
    """The (out_h, out_w) a resize step asks for, from its size knobs.

    ``height``/``width``: exact. ``shorter_side`` S: the shorter side becomes S and the other is
    ``size_rounding``(other · S / shorter); ``longer_side`` likewise. Rounding: ``round`` = half
    to even, ``round_half_up``, ``floor``, ``ceil``; ``size_formula="ratio"`` computes every side
    as rounding(side / (ref / S)) (timm); ``max_size`` caps the longer side of a ``shorter_side``
    resize (torchvision). Shared by the harnesses because it is part of
    the *intent* (which size the user asked for), not of any library's arithmetic.
    """
    import math
    from fractions import Fraction

    if step.get("height") is not None and step.get("width") is not None:
        return int(step["height"]), int(step["width"])
    side = step.get("shorter_side")
    longer = side is None
    if longer:
        side = step.get("longer_side")
    if side is None:
        raise Unsupported("resize step gives no target size")
    ref = max(height, width) if longer else min(height, width)
    rule = step.get("size_rounding", "round")

    def rounded(exact) -> int:
        if rule == "floor":
            return math.floor(exact)
        if rule == "ceil":
            return math.ceil(exact)
        if rule == "round_half_up":
            return math.floor(exact + Fraction(1, 2))
        return round(exact)  # half to even, as Python's round

    h_fixed = (height <= width) != longer  # the target applies to the height
    other = width if h_fixed else height
    if step.get("size_formula", "product") == "ratio":
        # timm ResizeKeepRatio: ratio = ref / target in float64, every side round(side / ratio)
        r = ref / int(side)
        fixed, derived = max(1, rounded(ref / r)), max(1, rounded(other / r))
    else:
        fixed, derived = int(side), max(1, rounded(Fraction(other * int(side), ref)))
    cap = step.get("max_size")
    if cap is not None and not longer and derived > cap:
        # torchvision F.resize(max_size=): new_short = int(max_size * new_short / new_long)
        fixed, derived = max(1, int(cap * fixed / derived)), int(cap)
    return (fixed, derived) if h_fixed else (derived, fixed)


#: dtypes a tensor input may hold (the bundle format's; the reference reads the same)
TENSOR_DTYPES = ("uint8", "uint16", "int16", "int32", "float16", "float32", "float64")
#: the largest .npy header read (numpy's own default limit)
NPY_HEADER_LIMIT = 10000


def load_tensor(data: bytes, max_elements: int) -> np.ndarray:
    """The array of ``.npy`` bytes, as the file holds it (axes, dtype; native byte order), read
    the way a careful harness does: numpy's own header readers, a plain numeric dtype
    (:data:`TENSOR_DTYPES`), at most ``max_elements`` elements and exactly the data size the header
    declares, all checked before the data is read with ``read_array(allow_pickle=False)``.
    Raises ``ValueError`` otherwise."""
    import io
    import math

    from numpy.lib import format as npy_format

    data = bytes(data)
    f = io.BytesIO(data)
    version = npy_format.read_magic(f)
    # 3.0 differs from 2.0 only by a UTF-8 header, which a plain numeric dtype never needs
    if version == (1, 0):
        shape, fortran, dtype = npy_format.read_array_header_1_0(f, max_header_size=NPY_HEADER_LIMIT)
    elif version in ((2, 0), (3, 0)):
        shape, fortran, dtype = npy_format.read_array_header_2_0(f, max_header_size=NPY_HEADER_LIMIT)
    else:
        raise ValueError(f".npy format version {version} (1.0, 2.0 and 3.0 are read)")
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None \
            or dtype.name not in TENSOR_DTYPES:
        raise ValueError(f"tensor dtype {dtype.str!r} is not one of {', '.join(TENSOR_DTYPES)}")
    if any(n < 0 for n in shape):
        raise ValueError(f"bad .npy shape {shape!r}")
    count = math.prod(shape)
    if count > max_elements:
        raise ValueError(f"the tensor holds {count:,} elements, over max_elements {max_elements:,}")
    need, have = count * dtype.itemsize, len(data) - f.tell()
    if have != need:
        raise ValueError(f"the .npy header declares {dtype.name}{list(shape)} ({need:,} data bytes) "
                         f"but the file holds {have:,}")
    f.seek(0)
    array = npy_format.read_array(f, allow_pickle=False, max_header_size=NPY_HEADER_LIMIT)
    return np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("="))


#: a tensor step's ``layout`` -> (rank, axes of (H, W, C) after a batch axis of 1 is dropped)
TENSOR_AXES = {"nchw": (4, (1, 2, 0)), "chw": (3, (1, 2, 0)), "nhwc": (4, (0, 1, 2)), "hwc": (3, (0, 1, 2))}


def tensor_input(step: dict[str, Any], value: Any) -> np.ndarray:
    """A ``tensor`` step's input: the .npy file's bytes read by :func:`load_tensor` (at most
    the step's ``max_elements``), as the file holds it."""
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise TypeError(f"the tensor step needs the bytes of a .npy file, got {type(value).__name__}")
    return load_tensor(bytes(value), int(step["max_elements"]))


def tensor_hwc(array: np.ndarray, layout: str, max_elements: int) -> np.ndarray:
    """(H, W, C) view of a tensor read per ``layout`` (intent: which axis is which), batch 1."""
    rank, axes = TENSOR_AXES[layout]
    if array.ndim != rank:
        raise ValueError(f"layout {layout} needs rank {rank}, the tensor has shape {list(array.shape)}")
    if array.size > max_elements:
        raise ValueError(f"{array.size} elements, over max_elements {max_elements}")
    if rank == 4:
        if array.shape[0] != 1:
            raise ValueError(f"batch of {array.shape[0]}: one image per case")
        array = array[0]
    out = np.transpose(array, axes)
    if not 1 <= out.shape[2] <= 4:
        raise ValueError(f"(H, W, C) = {list(out.shape)}: C must be 1..4")
    return np.ascontiguousarray(out)


def float_input(image: np.ndarray, op: str, compute_dtype: str) -> np.ndarray:
    """A way-back step's float input cast to its ``compute_dtype``; TypeError on integers (a
    denormalize or quantize of pixels that are already integers)."""
    if image.dtype.kind != "f":
        raise TypeError(f"{op} needs a float tensor, got {image.dtype}")
    return image.astype(np.dtype(compute_dtype))


def per_channel(values: list, channels: int, dtype) -> np.ndarray:
    """A per-channel knob (one value broadcasts) as a 1-D array of ``dtype``, each constant
    rounded to it from its float64 value."""
    if len(values) not in (1, channels):
        raise ValueError(f"{len(values)} values for {channels} channels")
    return np.asarray([float(values[k % len(values)]) for k in range(channels)]).astype(dtype)
