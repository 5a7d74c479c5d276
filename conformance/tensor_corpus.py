"""Tensor inputs of the built-in corpus: model outputs for the way back (``.npy`` files).

Each tensor is chosen for a trap of the float -> pixel conversion:

- a photograph in [0, 1] (a restoration model's output), in [-1, 1] (CodeFormer, GFPGAN, GAN
  generators: the tensor a [0, 1] conversion darkens and clips) and ImageNet-normalised;
- every tie (k + 0.5)/255, k = 0..255, in float32 and float64: where half-up, half-even and
  truncation disagree (in float32, ·255 does not always land on the tie exactly);
- the values just outside the range (−0.5/255, 1 + 0.5/255, −0.01, 1.01), far outside (±3e9/255
  beyond int32, 1e30), exact k/255, −0.0, a subnormal, NaN, +inf and −inf;
- the photograph in float16 (CHW) and float64 (NHWC) for the layouts and dtypes;
- hostile files a tensor reader must refuse (expect="error"): a header that lies about the
  length, an object array (pickle), a format version from the future, a truncated header;
- YUV 4:2:0 camera frames (NV12 and I420, one uint8 plane of H·3/2 rows, the (1, H·3/2, W, 1)
  tensor OpenVINO's PrePostProcessor takes): a photograph, every byte value as noise (Y and
  chroma beyond the video range, so R, G and B clip at both ends) and a 2x2 frame.

Deterministic: values come from the corpus photographs (scikit-image) and fixed formulas.
"""

from __future__ import annotations

import numpy as np

from .bundle import NPY, InputFile, npy_bytes
from .corpus import photo

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406])
IMAGENET_STD = np.array([0.229, 0.224, 0.225])


def _photo_unit() -> np.ndarray:
    """chelsea, 30x45x3, as float64 in [0, 1]."""
    return photo("chelsea", 10)[:30, :45].astype(np.float64) / 255.0


def ties(dtype) -> np.ndarray:
    """(1, 1, 16, 16): (k + 0.5)/255 for k = 0..255, row-major."""
    return ((np.arange(256, dtype=np.float64) + 0.5) / 255.0).astype(dtype).reshape(1, 1, 16, 16)


def traps() -> np.ndarray:
    """(1, 3, 4, 8) float32 in [0, 1] units: out of range, far out, exact levels, signed zero,
    subnormal, NaN, ±inf; channel 1 and 2 are rotations of channel 0."""
    values = [-0.5 / 255, -1 / 255, -0.01, -2.0, 1 + 0.4 / 255, 1 + 0.5 / 255, 1 + 1 / 255, 1.01,
              2.0, 3e9 / 255, -3e9 / 255, 1e30, 0.0, -0.0, 1e-45, 1.0,
              0.5 / 255, 1.5 / 255, 2.5 / 255, 127.5 / 255, 254.5 / 255, 128 / 255, 64 / 255, 0.5,
              np.nan, np.inf, -np.inf, 0.25, 0.75, 0.999, 0.001, 1 / 3]
    c0 = np.array(values, dtype=np.float32).reshape(4, 8)
    return np.stack([c0, np.roll(c0, 3), np.roll(c0, 11)])[None]


def _tensor(tid: str, array: np.ndarray, description: str, tags: tuple[str, ...]) -> InputFile:
    return InputFile(id=tid, data=npy_bytes(array), media_type=NPY, description=description,
                     origin=f"corpus: conformance.tensor_corpus ({description})", tags=("tensor",) + tags)


def tensor_inputs() -> list[InputFile]:
    """The positive tensor inputs, in a fixed order."""
    unit = _photo_unit()
    nchw = unit.transpose(2, 0, 1)[None]
    return [
        _tensor("tensor.photo.unit.f32.nchw", nchw.astype(np.float32),
                "chelsea 30x45 as a [0, 1] float32 NCHW model output", ("tensor_unit", "main")),
        _tensor("tensor.photo.symmetric.f32.nchw", (nchw * 2 - 1).astype(np.float32),
                "chelsea 30x45 as a [-1, 1] float32 NCHW model output (CodeFormer, GANs)",
                ("tensor_symmetric", "main")),
        _tensor("tensor.photo.imagenet.f32.nchw",
                ((nchw - IMAGENET_MEAN[:, None, None]) / IMAGENET_STD[:, None, None]).astype(np.float32),
                "chelsea 30x45 ImageNet-normalised, float32 NCHW", ("tensor_imagenet",)),
        _tensor("tensor.ties.unit.f32.nchw", ties(np.float32),
                "every tie (k + 0.5)/255, k = 0..255, float32, 1 channel", ("tensor_unit",)),
        _tensor("tensor.traps.unit.f32.nchw", traps(),
                "out of range, beyond int32, exact levels, -0.0, subnormal, NaN, +inf, -inf (float32)",
                ("tensor_unit", "nonfinite")),
        _tensor("tensor.traps.symmetric.f32.nchw", (traps() * np.float32(2) - np.float32(1)),
                "the traps tensor mapped to [-1, 1] units (float32)", ("tensor_symmetric", "nonfinite")),
        _tensor("tensor.photo.unit.f16.chw", unit.transpose(2, 0, 1).astype(np.float16),
                "chelsea 30x45 in [0, 1], float16 CHW", ("tensor_chw",)),
        _tensor("tensor.photo.unit.f64.nhwc", unit[None], "chelsea 30x45 in [0, 1], float64 NHWC",
                ("tensor_nhwc",)),
        _tensor("tensor.ties.unit.f64.hwc", ties(np.float64)[0].transpose(1, 2, 0),
                "every tie (k + 0.5)/255, float64 HWC, 1 channel", ("tensor_hwc",)),
    ] + yuv420_inputs()


def yuv420_plane(rgb: np.ndarray, layout: str) -> np.ndarray:
    """(1, H·3/2, W, 1) uint8 single-plane NV12 or I420 frame of an (H, W, 3) uint8 image (H, W
    even): BT.601 limited-range forward transform (Y = 16 + 0.257R + 0.504G + 0.098B, U = 128 −
    0.148R − 0.291G + 0.439B, V = 128 + 0.439R − 0.368G − 0.071B), chroma the mean of each 2×2
    block, rounded half up and clipped. Only an input generator: the oracle is the other way."""
    x = rgb.astype(np.float64)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    y = 16 + 0.257 * r + 0.504 * g + 0.098 * b
    u = 128 - 0.148 * r - 0.291 * g + 0.439 * b
    v = 128 + 0.439 * r - 0.368 * g - 0.071 * b
    h, w = y.shape

    def q(a):
        return np.clip(np.floor(a + 0.5), 0, 255).astype(np.uint8)

    def block(c):
        return c.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
    u, v = q(block(u)), q(block(v))
    if layout == "nv12":
        chroma = np.stack([u, v], axis=-1).reshape(h // 2, w)
    else:
        chroma = np.concatenate([u.reshape(-1), v.reshape(-1)]).reshape(h // 2, w)
    return np.concatenate([q(y), chroma])[None, :, :, None]


def yuv420_inputs() -> list[InputFile]:
    """NV12 and I420 frames (tags ``yuv_nv12`` / ``yuv_i420``), three of each."""
    photo_rgb = photo("chelsea", 10)[:30, :44]
    noise = np.random.default_rng(420).integers(0, 256, (1, 18, 16, 1), dtype=np.uint8)
    out = []
    for layout in ("nv12", "i420"):
        tag = (f"yuv_{layout}",)
        out += [
            _tensor(f"tensor.photo.{layout}.u8.nhwc", yuv420_plane(photo_rgb, layout),
                    f"chelsea 30x44 as a {layout.upper()} single-plane frame, uint8 (1, 45, 44, 1)", tag),
            _tensor(f"tensor.noise.{layout}.u8.nhwc", noise,
                    f"every byte value as a 12x16 {layout.upper()} frame (clips at both ends), uint8", tag),
            _tensor(f"tensor.tiny.{layout}.u8.nhwc",
                    np.array([16, 235, 0, 255, 240, 16], dtype=np.uint8).reshape(1, 3, 2, 1),
                    f"a 2x2 {layout.upper()} frame: video black and white, 0 and 255 luma, extreme chroma", tag),
        ]
    return out


def _npy_header(descr: str, shape: tuple, version: int = 1, pad_to: int = 64) -> bytes:
    text = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape!r}, }}"
    text = text.ljust(pad_to - 11) + "\n"
    return b"\x93NUMPY" + bytes([version, 0]) + len(text).to_bytes(2, "little") + text.encode("latin-1")


def negative_tensors() -> list[InputFile]:
    """.npy files a tensor reader must refuse (expect="error"), tag ``tensor_negative``."""
    good = npy_bytes(ties(np.float32))
    cases = {
        "short_data": (good[:-100], "the header declares 1x1x16x16 float32; 100 data bytes are missing"),
        "huge_shape": (_npy_header("<f4", (1, 3, 100_000, 100_000)) + b"\0" * 64,
                       "the header declares 3x100000x100000 float32 (120 GB) over 64 data bytes"),
        "object_dtype": (_npy_header("|O", (1, 1, 2, 2)) + b"\x80\x04N." * 4,
                         "an object array: reading it would unpickle"),
        "version_9": (b"\x93NUMPY\x09\x00" + good[8:], "format version 9.0"),
        "bad_header": (b"\x93NUMPY\x01\x00\x10\x00{'descr': '<f4',\n" + good[26:],
                       "a header dict cut in the middle"),
    }
    return [InputFile(id=f"neg.tensor.{name}", data=data, media_type=NPY, description=desc,
                      expect="error", origin="corpus: negative tensor", tags=("tensor", "tensor_negative"))
            for name, (data, desc) in cases.items()]
