"""``--format onnx-test-data``: the ONNX backend-test layout, one folder per graph::

    <folder>/model.onnx
    <folder>/test_data_set_<N>/input_0.pb    TensorProto named like the graph input ("image")
    <folder>/test_data_set_<N>/output_0.pb   TensorProto named like the graph output ("output")
    <folder>/export.json                     step, tolerance, which case each data set is

The layout and encoding are those of the ONNX backend test data (onnx/backend/test/case/
node/__init__.py ``expect`` writes ``numpy_helper.from_array(x, name).SerializeToString()``
per input and output into ``test_data_set_0``), which ONNX Runtime's ``onnx_test_runner``
(onnxruntime/test/onnx/) and other backends' runners read: ``onnx_test_runner <export dir>``
runs every folder holding a ``model.onnx``.
"""

from __future__ import annotations

from pathlib import Path

from onnx import numpy_helper

from ..bundle import Bundle, json_bytes
from . import Group, folder_path, group_manifest, iter_cases, write_file

FORMAT = "onnx-test-data"
REPLAY = ("onnx_test_runner -e cpu EXPORT_DIR   # ONNX Runtime; then check max_abs (docs/exports.md)")


def write_group(bundle: Bundle, out: Path, group: Group) -> None:
    from ..harnesses.onnx_graphs import INPUT, OUTPUT

    folder = folder_path(out, group.folder)
    write_file(folder / "model.onnx", group.model)
    files = {}
    for n, (cid, x, y) in enumerate(iter_cases(bundle, group)):
        data_set = f"test_data_set_{n}"
        write_file(folder / data_set / "input_0.pb",
                   numpy_helper.from_array(x, INPUT).SerializeToString())
        write_file(folder / data_set / "output_0.pb",
                   numpy_helper.from_array(y, OUTPUT).SerializeToString())
        files[data_set] = cid
    write_file(folder / "export.json", json_bytes(group_manifest(group, FORMAT, files)))
