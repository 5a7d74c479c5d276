"""Read a tensor input (.npy bytes) into the (H, W, C) convention (see spec.Tensor).

The .npy reader is strict and bounded: the header is parsed with ``ast.literal_eval`` (no pickle,
no code), the dtype must be a plain numeric type the bundle format stores, and the element count
and the data length are checked against the header before any array is allocated.
"""

from __future__ import annotations

import ast
import math
import struct

import numpy as np

from ...errors import DecodeError, SpecError
from ...spec import TENSOR_LAYOUTS, Tensor

MAGIC = b"\x93NUMPY"
#: dtypes a tensor input may hold: those a bundle stores (``dtype`` of bundle-v1.schema.json)
TENSOR_DTYPES = ("uint8", "uint16", "int16", "int32", "float16", "float32", "float64")
#: (file layout) -> axes of (H, W, C) in the array, after a batch axis of 1 is dropped
_AXES = {"nchw": (1, 2, 0), "chw": (1, 2, 0), "nhwc": (0, 1, 2), "hwc": (0, 1, 2)}


def npy_info(data: bytes, source: str) -> tuple[np.dtype, tuple[int, ...], bool, int]:
    """(dtype, shape, fortran_order, data offset) of .npy bytes; DecodeError if they are not a
    plain array whose header matches the length of the data."""
    if len(data) < 10 or not data.startswith(MAGIC):
        raise DecodeError("not a .npy file (no \\x93NUMPY magic)", source=source)
    major = data[6]
    if major == 1:
        (hlen,), start = struct.unpack("<H", data[8:10]), 10
    elif major in (2, 3):
        if len(data) < 12:
            raise DecodeError("truncated .npy header", source=source)
        (hlen,), start = struct.unpack("<I", data[8:12]), 12
    else:
        raise DecodeError(f".npy format version {major} (1, 2 and 3 are read)", source=source)
    if hlen > 1 << 16 or start + hlen > len(data):
        raise DecodeError(f".npy header length {hlen} does not fit the file ({len(data)} bytes)",
                          source=source)
    try:
        header = ast.literal_eval(data[start:start + hlen].decode("latin-1" if major < 3 else "utf-8"))
    except (ValueError, SyntaxError, MemoryError, RecursionError, UnicodeDecodeError) as e:
        raise DecodeError(f"unreadable .npy header: {type(e).__name__}", source=source) from None
    if not (isinstance(header, dict) and set(header) == {"descr", "fortran_order", "shape"}):
        raise DecodeError("the .npy header must hold exactly descr, fortran_order and shape",
                          source=source)
    descr, fortran, shape = header["descr"], header["fortran_order"], header["shape"]
    if not (isinstance(shape, tuple) and all(isinstance(n, int) and n >= 0 for n in shape)):
        raise DecodeError(f"bad .npy shape {shape!r}", source=source)
    if not isinstance(fortran, bool):
        raise DecodeError(f"bad .npy fortran_order {fortran!r}", source=source)
    try:
        dtype = np.dtype(descr) if isinstance(descr, str) else None
    except TypeError:
        dtype = None
    if dtype is None or dtype.name not in TENSOR_DTYPES:
        raise DecodeError(f"tensor dtype {descr!r} is not one of {', '.join(TENSOR_DTYPES)}",
                          source=source)
    offset = start + hlen
    need = math.prod(shape) * dtype.itemsize
    if len(data) - offset != need:
        raise DecodeError(f"the .npy header declares {dtype.name}{list(shape)} ({need:,} data bytes) "
                          f"but the file holds {len(data) - offset:,}", source=source)
    return dtype, shape, fortran, offset


def read_tensor(data: bytes, step: Tensor, source: str = "<input>") -> np.ndarray:
    """The (H, W, C) array of a .npy input per ``step.layout``, in its own dtype (native byte
    order), values untouched (NaN and ±inf included)."""
    dtype, shape, fortran, offset = npy_info(data, source)
    rank = 4 if step.layout.startswith("n") else 3
    if len(shape) != rank:
        raise SpecError(f"tensor layout {step.layout!r} reads a rank-{rank} array "
                        f"{TENSOR_LAYOUTS[step.layout]}, the file holds shape {list(shape)}",
                        field="layout", value=step.layout)
    if rank == 4 and shape[0] != 1:
        raise SpecError(f"the batch axis holds {shape[0]} images; a case is one image (batch 1)",
                        field="layout", value=step.layout)
    count = math.prod(shape)
    if count > step.max_elements:
        raise SpecError(f"the tensor holds {count:,} elements, over max_elements "
                        f"{step.max_elements:,}", field="max_elements", value=step.max_elements)
    a = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
    a = a.reshape(shape, order="F" if fortran else "C")
    if rank == 4:
        a = a[0]
    out = np.ascontiguousarray(np.transpose(a, _AXES[step.layout]))
    if not (1 <= out.shape[2] <= 4) or out.shape[0] == 0 or out.shape[1] == 0:
        raise SpecError(f"layout {step.layout!r} reads (H, W, C) = {list(out.shape)}: C must be "
                        "1..4 and H, W at least 1 (is the layout right?)", field="layout",
                        value=step.layout)
    return out.astype(out.dtype.newbyteorder("="), copy=False)


def describe(data: bytes, source: str = "<input>") -> dict:
    """What a bundle manifest records of a tensor input: dtype, shape, value range and the count
    of NaN and ±inf (read once, bounded by the header checks)."""
    dtype, shape, fortran, offset = npy_info(data, source)
    a = np.frombuffer(data, dtype=dtype, count=math.prod(shape), offset=offset)
    out: dict = {"format": "npy", "dtype": dtype.name, "shape": list(shape)}
    if dtype.kind == "f":
        finite = a[np.isfinite(a)]
        out["nan"] = int(np.count_nonzero(np.isnan(a)))
        out["posinf"] = int(np.count_nonzero(a == np.inf))
        out["neginf"] = int(np.count_nonzero(a == -np.inf))
    else:
        finite = a
    out["range"] = [float(finite.min()), float(finite.max())] if finite.size else None
    return out
