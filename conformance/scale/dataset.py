"""A synthetic image set at ImageNet-validation sizes, made from the corpus's real photographs:
for ``conformance check``'s benchmark and tests (no data set can be downloaded here).

Image i is a random crop of one of the shipped photographs (astronaut, chelsea, coffee, moon;
full resolution), flipped or not, resized by Pillow to about 500x375 (landscape) or 375x500
(portrait), given sensor-like grain, and saved as a JPEG at quality 75-95: 4:2:0 for nine images in ten, else 4:4:4 or
4:2:2, progressive for one in ten. Seeded: the same ``count`` and ``seed`` give the same bytes.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np


def imagenet_like(out: Path, count: int, *, seed: int = 0, on_image=None) -> list[Path]:
    """Write ``count`` JPEGs into ``out`` (``img_000000.jpg``...); returns their paths."""
    from PIL import Image

    from ..corpus import PHOTOS, photo

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    bases = [photo(name, 1) for name in sorted(PHOTOS)]
    paths = []
    for i in range(count):
        base = bases[int(rng.integers(len(bases)))]
        h, w = base.shape[:2]
        ch, cw = int(h * rng.uniform(0.6, 1.0)), int(w * rng.uniform(0.6, 1.0))
        y, x = int(rng.integers(h - ch + 1)), int(rng.integers(w - cw + 1))
        crop = base[y:y + ch, x:x + cw]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        if crop.shape[2] == 1:
            crop = np.repeat(crop, 3, axis=2)
        size = (500, 375) if rng.random() < 0.75 else (375, 500)
        size = (size[0] + int(rng.integers(-20, 21)), size[1] + int(rng.integers(-20, 21)))
        img = Image.fromarray(np.ascontiguousarray(crop)).resize(size, Image.Resampling.BICUBIC)
        # sensor-like grain (sigma 2-8): the corpus photos are smoother than camera JPEGs, whose
        # entropy-coded data (what decoding time follows) the files should resemble
        grain = rng.normal(0.0, rng.uniform(2.0, 8.0), (size[1], size[0], 3))
        img = Image.fromarray(np.clip(np.asarray(img) + grain, 0, 255).astype(np.uint8))
        r = rng.random()
        subsampling = 2 if r < 0.9 else (0 if r < 0.95 else 1)
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=int(rng.integers(75, 96)), subsampling=subsampling,
                 progressive=bool(rng.random() < 0.1))
        path = out / f"img_{i:06d}.jpg"
        path.write_bytes(buf.getvalue())
        paths.append(path)
        if on_image:
            on_image(i)
    return paths
