"""The Keras importer against Keras's own code.

Two oracles, both fed the encoded corpus photos (``full_size_photos``: 4 JPEGs) and a PNG:

- ``keras_transcript``: the lines of keras 3.15.1 ``keras/src/utils/image_utils.py`` (``load_img``,
  ``img_to_array``) and ``keras/src/applications/imagenet_utils.py``
  (``_preprocess_numpy_input``) transcribed as they are (PIL open/convert/resize, float32 numpy,
  in-place operations): runs everywhere.
- keras itself (``keras.utils.load_img``, ``img_to_array``, ``keras.applications.imagenet_utils.
  preprocess_input``) when it is importable (backend torch); skipped otherwise. The project does
  not depend on keras; measured here with keras 3.15.1 on the torch backend: identical (0.0).

Candidate: the imported pipeline run by the reference from the encoded bytes (decode included).
Tolerance (STYLE 9), metric = max abs per element: 0 (``EXACT``), measured 0.0 for every mode,
size and interpolation below.
"""

from __future__ import annotations

import io
import os
import tomllib

import numpy as np
import pytest

from conformance.importers.common import ConfigError, to_toml
from conformance.importers.keras import import_keras
from conformance.reference.pipeline import run_pipeline
from conformance.spec import pipeline_from_dict

Image = pytest.importorskip("PIL.Image")

EXACT = 0.0

# image_utils.PIL_INTERPOLATION_METHODS
PIL_INTERPOLATION_METHODS = {"nearest": Image.Resampling.NEAREST, "bilinear": Image.Resampling.BILINEAR,
                             "bicubic": Image.Resampling.BICUBIC, "hamming": Image.Resampling.HAMMING,
                             "box": Image.Resampling.BOX, "lanczos": Image.Resampling.LANCZOS}


def keras_transcript(data: bytes, target_size, interpolation: str, mode: str) -> np.ndarray:
    """load_img + img_to_array + expand_dims + _preprocess_numpy_input, line by line."""
    img = Image.open(io.BytesIO(data))                       # load_img
    if img.mode != "RGB":
        img = img.convert("RGB")
    if target_size is not None:
        width_height_tuple = (target_size[1], target_size[0])
        if img.size != width_height_tuple:
            img = img.resize(width_height_tuple, PIL_INTERPOLATION_METHODS[interpolation])
    x = np.asarray(img, dtype="float32")                     # img_to_array (floatx float32)
    x = np.expand_dims(x, axis=0)
    if mode == "tf":                                          # _preprocess_numpy_input
        x /= 127.5
        x -= 1.0
        return x
    elif mode == "torch":
        x /= 255.0
        mean = [0.485, 0.456, 0.406]
        std = [0.229, 0.224, 0.225]
    else:
        x = x[..., ::-1]
        mean = [103.939, 116.779, 123.68]
        std = None
    x[..., 0] -= mean[0]
    x[..., 1] -= mean[1]
    x[..., 2] -= mean[2]
    if std is not None:
        x[..., 0] /= std[0]
        x[..., 1] /= std[1]
        x[..., 2] /= std[2]
    return x


def real_keras(data: bytes, target_size, interpolation: str, mode: str) -> np.ndarray:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    from keras.applications import imagenet_utils

    img = keras.utils.load_img(io.BytesIO(data), target_size=target_size, interpolation=interpolation)
    x = np.expand_dims(keras.utils.img_to_array(img), axis=0)
    return np.asarray(imagenet_utils.preprocess_input(x, mode=mode))


def pipeline_output(data: bytes, **options) -> np.ndarray:
    imp = import_keras(None, source="<options>", **options)
    pipeline = pipeline_from_dict(tomllib.loads(to_toml(imp)), source="imported.toml")
    return run_pipeline(pipeline, data)[-1]


def assert_same(got: np.ndarray, want: np.ndarray, what: str) -> None:
    assert got.shape == want.shape and got.dtype == want.dtype, (
        f"{what}: {got.shape} {got.dtype} != {want.shape} {want.dtype}")
    diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
    worst = np.unravel_index(np.argmax(diff), diff.shape)
    assert diff.max() <= EXACT, f"{what}: max abs {diff.max():.3g} at {worst}: {got[worst]!r} != {want[worst]!r}"


@pytest.fixture(scope="module")
def inputs():
    from conformance.corpus import full_size_photos
    from conformance.encoders.png import encode_png

    items = [(p.id, p.data) for p in full_size_photos()]
    gray = np.random.default_rng(7).integers(0, 256, (37, 53, 1), dtype=np.uint8)
    items.append(("gray.png", encode_png(gray, colour_type=0, bit_depth=8)))  # convert('RGB') path
    return items


CASES = [("caffe", (224, 224), "nearest"), ("tf", (299, 299), "nearest"), ("torch", (224, 224), "bilinear"),
         ("caffe", (200, 300), "bicubic"), ("tf", None, "nearest"), ("torch", (331, 331), "lanczos")]


@pytest.mark.parametrize("mode,size,interpolation", CASES, ids=[f"{m}_{s}_{i}" for m, s, i in CASES])
@pytest.mark.parametrize("oracle", [keras_transcript, real_keras], ids=["transcript", "keras"])
def test_matches_keras(inputs, oracle, mode, size, interpolation):
    for name, data in inputs:
        want = oracle(data, size, interpolation, mode)
        got = pipeline_output(data, mode=mode, size=size, interpolation=interpolation)
        assert_same(got, want, f"{name} {mode} {size} {interpolation}")


def test_caffe_subtracts_the_mean_in_bgr_order():
    """Channel 0 of the output is blue minus 103.939; channel 2 is red minus 123.68."""
    img = np.zeros((4, 4, 3), dtype=np.uint8)
    img[..., 0], img[..., 1], img[..., 2] = 200, 100, 10  # R, G, B
    from conformance.encoders.png import encode_png

    out = pipeline_output(encode_png(img, colour_type=2, bit_depth=8), mode="caffe")
    assert out.shape == (1, 4, 4, 3) and out.dtype == np.float32
    assert out[0, 0, 0].tolist() == [np.float32(10) - np.float32(103.939),
                                     np.float32(100) - np.float32(116.779),
                                     np.float32(200) - np.float32(123.68)]


def test_tf_and_torch_arithmetic():
    imp = import_keras(None, source="<options>", mode="tf", size=224)
    n = imp.steps[2].knobs
    assert (n["divisor"], n["mean"], n["std"], n["compute_dtype"]) == (127.5, [1.0], [1.0], "float32")
    t = import_keras(None, source="<options>", mode="torch").steps[1].knobs
    assert (t["divisor"], t["mean"], t["std"]) == (255.0, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225])


def test_default_interpolation_is_nearest_and_file_form():
    imp = import_keras({"mode": "caffe", "target_size": [224, 224]}, source="k.json")
    assert imp.steps[1].knobs["preset"] == "pillow.nearest" and imp.steps[1].knobs["antialias"] is False
    assert "load_img's default" in imp.steps[1].comment
    assert [s.knobs["op"] for s in imp.steps] == ["decode", "resize", "color", "normalize", "layout"]
    assert imp.steps[-1].knobs["layout"] == "hwc"
    assert import_keras({"mode": "tf"}, source="k.json", size=(224, 224)).id == "keras.tf.224x224"


@pytest.mark.parametrize("doc,options,key,fragment", [
    (None, {}, "mode", "required"),
    (None, {"mode": "inception"}, "mode", "not one of"),
    ({"mode": "caffe", "target_size": [224]}, {}, "target_size", "[height, width]"),
    (None, {"mode": "caffe", "size": (0, 5)}, "--size", "[height, width]"),
    ({"mode": "caffe", "target_size": [224, 224]}, {"size": (299, 299)}, "target_size", "in the file but --size"),
    ({"mode": "caffe"}, {"mode": "tf"}, "mode", "in the file but --mode"),
    ({"mode": "caffe", "keep_aspect_ratio": True}, {}, "keep_aspect_ratio", "box="),
    ({"mode": "caffe", "color_mode": "grayscale"}, {}, "color_mode", "only 'rgb'"),
    ({"mode": "caffe", "interpolation": "area"}, {}, "interpolation", "load_img knows"),
    ({"mode": "caffe", "data_format": "channels_first"}, {}, "data_format", "unknown key"),
    (None, {"mode": "caffe", "weights": "x"}, "--weights", "not an option"),
])
def test_errors_name_the_key(doc, options, key, fragment):
    with pytest.raises(ConfigError) as e:
        import_keras(doc, source="k.json", **options)
    assert e.value.key == key and fragment in str(e.value)


EXAMPLES = __import__("pathlib").Path(__file__).resolve().parent.parent / "examples" / "models"
KERAS_EXAMPLES = {"keras_resnet50_caffe_224.toml": ("caffe", (224, 224)),
                  "keras_inception_v3_tf_299.toml": ("tf", (299, 299)),
                  "keras_densenet121_torch_224.toml": ("torch", (224, 224))}


def test_examples_are_what_the_importer_writes():
    """examples/models/keras_*.toml = ``conformance import keras --mode M --size H W --out ...``."""
    assert sorted(p.name for p in EXAMPLES.glob("keras_*.toml")) == sorted(KERAS_EXAMPLES)
    for name, (mode, size) in KERAS_EXAMPLES.items():
        want = to_toml(import_keras(None, source="<options>", mode=mode, size=size))
        assert (EXAMPLES / name).read_text(encoding="utf-8") == want, name
