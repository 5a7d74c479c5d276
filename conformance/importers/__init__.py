"""Importers: a model's preprocessing config -> a pipeline file with every knob explicit.

One module per format, each with ``import_<format>(doc, *, source, **options) -> Imported``
(``doc`` is the parsed JSON config, or None for a format driven by options alone, such as a
torchvision weights name or a Keras mode):

- ``hf``: a Hugging Face ``preprocessor_config.json`` (transformers image processors).
- ``timm``: a timm ``pretrained_cfg`` (alone or inside a hub ``config.json``).
- ``torchvision``: a torchvision weights enum's ``transforms()``.
- ``keras``: a Keras applications ``preprocess_input`` mode.

The modules are imported on first use, so a format's dependencies are read only when asked for.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Callable

from .common import ConfigError, Imported, ImportedStep, full_step, load_config, to_toml

__all__ = ["FORMATS", "ConfigError", "Imported", "ImportedStep", "full_step", "import_file",
           "importer", "load_config", "sniff_format", "to_toml"]

#: format name -> (module under conformance.importers, function name)
FORMATS: dict[str, tuple[str, str]] = {
    "hf": ("hf", "import_hf"),
    "timm": ("timm", "import_timm"),
    "torchvision": ("torchvision", "import_torchvision"),
    "keras": ("keras", "import_keras"),
}


def importer(fmt: str) -> Callable[..., Imported]:
    """The ``import_<fmt>`` function; ConfigError for an unknown format."""
    if fmt not in FORMATS:
        raise ConfigError("--format", None, f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    module, name = FORMATS[fmt]
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def import_file(fmt: str, source: str | Path | None, **options: Any) -> Imported:
    """Import the config file ``source`` (None for a format driven by options only) as format
    ``fmt``; ``options`` go to the importer, which raises ConfigError for one it does not take."""
    fn = importer(fmt)
    if source is None:
        return fn(None, source="<options>", **options)
    doc = load_config(source)
    return fn(doc, source=str(source), **options)


def sniff_format(path: str | Path) -> str:
    """The format of a config file by its content: an HF image processor config (a key
    ``image_processor_type`` / ``feature_extractor_type``, or the file name
    ``preprocessor_config.json``) -> ``hf``; a timm config (``pretrained_cfg`` or a bare
    pretrained_cfg with ``input_size``) -> ``timm``. ConfigError when neither fits."""
    doc = load_config(path)
    if "image_processor_type" in doc or "feature_extractor_type" in doc or \
            Path(path).name == "preprocessor_config.json":
        return "hf"
    if "pretrained_cfg" in doc or ("input_size" in doc and "image_mean" not in doc):
        return "timm"
    raise ConfigError(str(path), None, "cannot tell the format (no image_processor_type, "
                      "feature_extractor_type or pretrained_cfg key): give --format")
