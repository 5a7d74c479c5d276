"""Writes the two PNG inputs of the example port's bundle (deterministic bytes).

- ``chelsea.272x340.png``: scikit-image's ``chelsea.png`` (CC0), the 272x340 window at row 14,
  column 55 of the full 300x451 photograph, no resampling;
- ``zone_plate.312x264.png``: the corpus zone plate (``conformance.synthetic.zone_plate``) at a
  portrait 312x264, a worst case for a resize without antialiasing.

Both are larger than 256 on their shorter side, so the 256 resize of ``torchvision_224`` shrinks
them (by 272/256 and 264/256): the case where antialiasing matters.

Run from the repository root: ``.venv/bin/python examples/rust-port/make_images.py``.
"""

from pathlib import Path

from conformance import corpus
from conformance import synthetic as syn
from conformance.encoders.png import encode_png

OUT = Path(__file__).resolve().parent / "images"


def main() -> None:
    OUT.mkdir(exist_ok=True)
    chelsea = corpus.photo("chelsea", 1)[14:286, 55:395]
    (OUT / "chelsea.272x340.png").write_bytes(encode_png(chelsea, colour_type=2, bit_depth=8))
    (OUT / "zone_plate.312x264.png").write_bytes(encode_png(syn.zone_plate(312, 264), colour_type=2, bit_depth=8))


if __name__ == "__main__":
    main()
