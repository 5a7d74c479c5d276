"""``--format tract-npz``: per graph, ``model.onnx`` and, per case, the ``io.npz`` tract's CLI
replays::

    <folder>/model.onnx
    <folder>/test_data_set_<N>/io.npz   image.npy (graph input), output.npy (graph output)
    <folder>/export.json                step, tolerance, which case each data set is

    tract <folder>/model.onnx run --input-from-bundle <folder>/test_data_set_N/io.npz \\
          --assert-output-bundle <folder>/test_data_set_N/io.npz

Key convention, read in sonos/tract: ``cli/src/params.rs`` ``parse_npz`` takes an entry
``<name>.npy`` as tensor ``<name>`` (``turn_<k>/<name>.npy`` as its value at turn k);
``libcli/src/tensor.rs`` ``retrieve_or_make_inputs`` matches inputs to the model's input nodes
by name (the ONNX graph input, ``image``); ``cli/src/utils.rs`` ``check_outputs`` looks the
expected output up by the output outlet's label (tract-onnx labels it with the ONNX value name,
``output``) or else its node name, and compares ``values[0]`` only. Several turns of one
tensor are only reassembled for a pulsed model (it bails "multiple turn without
pulse.output_axes property" otherwise), so the cases of one graph are not turns of one io.npz:
each case has its own ``test_data_set_N/io.npz``, as in the onnx-test-data layout.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from ..bundle import Bundle, json_bytes, npy_bytes
from . import Group, folder_path, group_manifest, iter_cases, write_file

FORMAT = "tract-npz"
REPLAY = ("tract FOLDER/model.onnx run --input-from-bundle FOLDER/test_data_set_N/io.npz "
          "--assert-output-bundle FOLDER/test_data_set_N/io.npz   # see docs/exports.md for --approx")


def npz_bytes(arrays: dict[str, bytes]) -> bytes:
    """An .npz (a zip of ``<name>.npy`` entries, as ``np.savez`` writes) with a fixed timestamp,
    so the same bundle exports to the same bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as z:
        for name, data in arrays.items():
            z.writestr(zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0)), data)
    return buf.getvalue()


def write_group(bundle: Bundle, out: Path, group: Group) -> None:
    from ..harnesses.onnx_graphs import INPUT, OUTPUT

    folder = folder_path(out, group.folder)
    write_file(folder / "model.onnx", group.model)
    files = {}
    for n, (cid, x, y) in enumerate(iter_cases(bundle, group)):
        data_set = f"test_data_set_{n}"
        write_file(folder / data_set / "io.npz", npz_bytes({INPUT: npy_bytes(x), OUTPUT: npy_bytes(y)}))
        files[data_set] = cid
    write_file(folder / "export.json", json_bytes(group_manifest(group, FORMAT, files)))
