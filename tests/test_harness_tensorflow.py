"""TensorFlow's decoders (the ``tensorflow`` harness, the ``[tensorflow]`` extra) against the
reference's ``tensorflow`` presets and its ``idct = "ifast"``.

1. ``idct="ifast"`` (libjpeg-turbo jidctfst.c) is ``tf.io.decode_jpeg(dct_method="INTEGER_FAST")``
   bit for bit: on every corpus JPEG both decode (with and without fancy upsampling), and on
   random JPEGs of random sizes, qualities and subsamplings (seeded).
2. The ``tensorflow`` and ``tensorflow.accurate`` presets are what ``tf.io.decode_*`` return on
   every corpus PNG and JPEG, output rgb and gray, except the named differences below (each
   measured, the set pinned: a new difference fails the test).
3. The harness maps the knobs TF exposes (dct_method, fancy_upscaling, channels, dtype) and says
   why resize and the other ops are unsupported; its versions name TF's libjpeg-turbo.

Metric: max abs difference per element; 0 unless a case is named.
"""

from __future__ import annotations

import io

import numpy as np
import pytest

# through the harness module: it imports triton before TensorFlow (the other order aborts a
# process that later imports torch's compiler: conformance/harnesses/tensorflow.py)
tf = pytest.importorskip("conformance.harnesses.tensorflow").tf

from PIL import Image  # noqa: E402

from conformance.corpus import builtin_corpus, photo  # noqa: E402
from conformance.harnesses import load  # noqa: E402
from conformance.reference.decode import decode_image  # noqa: E402
from conformance.spec import make_step  # noqa: E402

# TensorFlow 2.21 (libjpeg-turbo 2.1.4) against the presets: CMYK through TF's own conversion
# (1 level off Pillow's cmyk2rgb in places), and progressive files whose low AC coefficients are
# never refined to Al = 0, which libjpeg-turbo 2.1.4 smooths otherwise than 3.x (the reference's
# block_smoothing): the DC-only file by up to 5 levels, the others by 1.
KNOWN = {"jpeg.pillow.q90.cmyk.seq.cmyk_bars.24x40": 1,
         "jpeg.pillow.q90.420.prog.scans1.chelsea.75x112": 5,
         "jpeg.pillow.q90.420.prog.scans2.chelsea.75x112": 1,
         "jpeg.pillow.q90.420.prog.scans5.chelsea.75x112": 1}


@pytest.fixture(scope="module")
def harness():
    return load("tensorflow")


def _positive(media: tuple[str, ...]):
    return [i for i in builtin_corpus() if i.expect == "ok" and i.media_type in media]


def _tf_decodes(harness, step, data) -> np.ndarray | None:
    try:
        return harness.run(step.knobs(), data)
    except tf.errors.InvalidArgumentError:
        return None  # 12-bit, lossless and arithmetic JPEGs: TF's libjpeg-turbo refuses them


def _max_diff(a: np.ndarray, b: np.ndarray) -> int | str:
    if a.shape != b.shape or a.dtype != b.dtype:
        return f"{a.dtype}{list(a.shape)} vs {b.dtype}{list(b.shape)}"
    return int(np.abs(a.astype(np.int64) - b.astype(np.int64)).max()) if a.size else 0


def _corpus_differences(harness, media: tuple[str, ...], knobs: dict) -> tuple[int, dict]:
    """(how many corpus files of ``media`` TF decodes, {id: max difference} where it differs
    from the reference under the decode ``knobs``)."""
    compared, differ = 0, {}
    step = make_step({"op": "decode", **knobs})
    for item in _positive(media):
        got = _tf_decodes(harness, step, item.data)
        if got is None:
            continue
        compared += 1
        d = _max_diff(decode_image(item.data, step, source=item.id), got)
        if d != 0:
            differ[item.id] = d
    return compared, differ


@pytest.mark.parametrize("fancy", [True, False])
def test_ifast_is_tensorflows_integer_fast_on_the_corpus(harness, fancy):
    compared, differ = _corpus_differences(harness, ("image/jpeg",), {
        "preset": "tensorflow", "upsampling": "fancy" if fancy else "nearest"})
    assert compared >= 25
    assert differ == KNOWN


def test_ifast_is_tensorflows_integer_fast_on_random_jpegs(harness):
    rng = np.random.default_rng(21)
    source = np.tile(photo("astronaut"), (2, 2, 1))  # 128 x 128
    step = make_step({"op": "decode", "preset": "tensorflow"})
    for n in range(30):
        h, w = int(rng.integers(1, 90)), int(rng.integers(1, 90))
        y, x = int(rng.integers(0, 129 - h)), int(rng.integers(0, 129 - w))
        crop = source[y:y + h, x:x + w]
        if n % 3 == 0:
            crop = rng.integers(0, 256, crop.shape, dtype=np.uint8)  # noise: large AC terms
        buf = io.BytesIO()
        Image.fromarray(crop).save(buf, "JPEG", quality=int(rng.integers(5, 101)),
                                   subsampling=int(rng.integers(0, 3)), progressive=bool(n % 2))
        data = buf.getvalue()
        got = harness.run(step.knobs(), data)
        want = decode_image(data, step, source=f"random {n}")
        assert _max_diff(want, got) == 0, (n, h, w)


@pytest.mark.parametrize("preset", ["tensorflow", "tensorflow.accurate"])
@pytest.mark.parametrize("output", ["rgb", "gray", "bgr"])
def test_presets_are_tensorflows_decoders_on_the_corpus(harness, preset, output):
    compared, differ = _corpus_differences(harness, ("image/jpeg", "image/png"),
                                           {"preset": preset, "output": output})
    assert compared >= 100
    # TF decodes no CMYK file to one channel ("Unsupported color conversion request")
    assert differ == ({k: v for k, v in KNOWN.items() if "cmyk" not in k} if output == "gray" else KNOWN)


def test_sixteen_bit_png_keeps_its_depth_when_asked(harness):
    from conformance.encoders.png import encode_png

    rng = np.random.default_rng(3)
    img = rng.integers(0, 65536, (9, 7, 3), dtype=np.uint16)
    data = encode_png(img, colour_type=2, bit_depth=16)
    for depth16, dtype in (("keep", np.uint16), ("shift", np.uint8)):
        step = make_step({"op": "decode", "preset": "tensorflow", "depth16": depth16})
        got = harness.run(step.knobs(), data)
        assert got.dtype == dtype
        assert _max_diff(decode_image(data, step, source="16-bit"), got) == 0


def test_the_harness_names_its_calls_and_what_it_cannot_do(harness):
    step = make_step({"op": "decode", "preset": "tensorflow", "output": "bgr"}).knobs()
    assert harness.check(step) is None
    assert "INTEGER_FAST" in harness.describe(step) and "[..., ::-1]" in harness.describe(step)
    accurate = make_step({"op": "decode", "preset": "tensorflow.accurate"}).knobs()
    assert "INTEGER_ACCURATE" in harness.describe(accurate)
    resize = make_step({"op": "resize", "preset": "tf.lanczos5.antialias", "height": 4, "width": 4}).knobs()
    assert harness.check(resize) is None
    assert "method='lanczos5', antialias=True" in harness.describe(resize)
    assert "hamming" in harness.check(make_step({"op": "resize", "preset": "pillow.hamming", "height": 4,
                                                 "width": 4}).knobs())
    assert "decode and resize" in harness.check(make_step({"op": "crop", "mode": "center", "height": 2,
                                                            "width": 2}).knobs())
    v = harness.versions()
    assert v["tensorflow"] == tf.__version__ and v["libjpeg-turbo"].count(".") == 2
