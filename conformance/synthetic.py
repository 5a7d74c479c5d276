"""Deterministic synthetic test images, each designed to expose one kind of difference.

All generators are pure numpy functions of their size (and a fixed seed where noise is involved),
so the same call gives the same pixels on every machine. They return (H, W, 3) uint8 unless said.

- ``zone_plate``: concentric rings whose frequency rises to Nyquist at the corners: shows
  aliasing (antialias knob) and kernel shape differences.
- ``gradients``: R ramps along x, G along y, B along the diagonal: smooth, catches off-by-half
  coordinate conventions and channel swaps (R and B differ everywhere).
- ``checkerboard``: 1-pixel (or ``cell``-pixel) squares, the worst case for downscaling.
- ``colour_bars``: flat saturated bars with hard edges: ringing of cubic/lanczos, clipping.
- ``noise``: uniform random bytes (seeded): every pixel independent, no structure to hide in.
- ``text_like``: thin strokes, dots and one-pixel lines: fine detail like document images.
"""

from __future__ import annotations

import numpy as np

SEED = 20261129


def zone_plate(h: int, w: int) -> np.ndarray:
    """I(y, x) = 127.5·(1 + cos(π·r²/ (2·max(h, w)))) with r measured from the centre; channels
    use the same pattern shifted by a third of the period so they differ."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r2 = (y - (h - 1) / 2) ** 2 + (x - (w - 1) / 2) ** 2
    k = np.pi / (2 * max(h, w))
    planes = [127.5 * (1 + np.cos(k * r2 + phase)) for phase in (0, 2 * np.pi / 3, 4 * np.pi / 3)]
    return np.clip(np.floor(np.stack(planes, axis=2) + 0.5), 0, 255).astype(np.uint8)


def gradients(h: int, w: int) -> np.ndarray:
    """R = 255·x/(w−1), G = 255·y/(h−1), B = 255·(x+y)/(w+h−2), rounded half up (0 if a side is 1)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 255 * x / max(w - 1, 1)
    g = 255 * y / max(h - 1, 1)
    b = 255 * (x + y) / max(w + h - 2, 1)
    return np.floor(np.stack([r, g, b], axis=2) + 0.5).astype(np.uint8)


def checkerboard(h: int, w: int, cell: int = 1) -> np.ndarray:
    """Black/white squares of ``cell`` pixels; the red channel is inverted so channels differ."""
    y, x = np.mgrid[0:h, 0:w]
    v = (((y // cell) + (x // cell)) % 2 * 255).astype(np.uint8)
    return np.stack([255 - v, v, v], axis=2)


def colour_bars(h: int, w: int) -> np.ndarray:
    """Seven 75 % bars (white, yellow, cyan, green, magenta, red, blue) then black, left to right."""
    bars = np.array([[191, 191, 191], [191, 191, 0], [0, 191, 191], [0, 191, 0], [191, 0, 191],
                     [191, 0, 0], [0, 0, 191], [0, 0, 0]], dtype=np.uint8)
    idx = (np.arange(w) * len(bars)) // w
    return np.broadcast_to(bars[idx][None], (h, w, 3)).copy()


def noise(h: int, w: int, channels: int = 3, seed: int = SEED, dtype=np.uint8) -> np.ndarray:
    """Uniform random samples over the full range of ``dtype`` (numpy PCG64, fixed seed)."""
    info = np.iinfo(dtype)
    rng = np.random.Generator(np.random.PCG64(seed + 7919 * h + 104729 * w + channels))
    return rng.integers(info.min, info.max, size=(h, w, channels), dtype=dtype, endpoint=True)


def text_like(h: int, w: int) -> np.ndarray:
    """Dark strokes on a light page: 1-px horizontal rules every 7 rows, 1-px verticals every 5
    columns within 'words', and a dot grid: high-frequency, mostly two-level detail."""
    y, x = np.mgrid[0:h, 0:w]
    ink = (y % 7 == 3) & (x % 11 < 8)
    ink |= (x % 5 == 1) & (y % 7 < 5) & ((x // 11 + y // 7) % 3 != 0)
    ink |= (y % 4 == 0) & (x % 4 == 0)
    page = np.full((h, w, 3), (236, 232, 220), dtype=np.uint8)
    page[ink] = (24, 24, 40)
    return page


def ramp16(h: int, w: int) -> np.ndarray:
    """A 16-bit (H, W, 3) ramp covering 0..65535 on R, its reverse on G and a coarse ramp on B:
    exercises every 16-to-8-bit rule (shift, round, clip) over the whole range."""
    n = h * w
    t = np.arange(n, dtype=np.float64) / max(n - 1, 1)
    r = np.floor(t * 65535 + 0.5).astype(np.uint16)
    g = (65535 - r).astype(np.uint16)
    b = (np.arange(n) * 257 % 65536).astype(np.uint16)
    return np.stack([r, g, b], axis=1).reshape(h, w, 3)


def alpha_ramp(h: int, w: int) -> np.ndarray:
    """An (H, W, 4) image: gradients for colour, alpha ramping 0..255 along x (compositing tests)."""
    rgb = gradients(h, w)
    a = np.floor(255 * np.arange(w) / max(w - 1, 1) + 0.5).astype(np.uint8)
    return np.concatenate([rgb, np.broadcast_to(a[None, :, None], (h, w, 1))], axis=2)


def box_downscale(image: np.ndarray, factor: int) -> np.ndarray:
    """Mean of factor×factor blocks, rounded half up (crops the remainder): a library-free way to
    make small corpus photos from large ones, identical on every machine."""
    h, w = (image.shape[0] // factor) * factor, (image.shape[1] // factor) * factor
    blocks = image[:h, :w].astype(np.uint32).reshape(h // factor, factor, w // factor, factor, -1)
    s = blocks.sum(axis=(1, 3))
    n = factor * factor
    return ((s + n // 2) // n).astype(image.dtype)
