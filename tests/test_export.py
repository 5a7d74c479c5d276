"""`conformance export`: the exports replayed by the runtimes they target.

onnx-test-data is replayed the way ONNX Runtime's onnx_test_runner does (every folder with a
model.onnx: load it, for each test_data_set_N parse input_0.pb/output_0.pb as TensorProto,
run, compare), with onnxruntime from Python and the folder's export.json max_abs. tract-npz is
replayed by tract-onnx through the Rust extension (conformance_rust.OnnxModel), reading each
test_data_set_N/io.npz with numpy by tract's key convention (<name>.npy). The tract CLI is not run here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper

from tests.fakes.small_bundle import make_small_bundle


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    return make_small_bundle(tmp_path_factory.mktemp("export") / "bundle")


def export(bundle: Path, out: Path, fmt: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from conformance.cli import main; main()",
                           "export", str(bundle), "--format", fmt, "--out", str(out), *extra],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def onnx_export(bundle, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ox") / "out"
    r = export(bundle, out, "onnx-test-data")
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture(scope="module")
def tract_export(bundle, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tx") / "out"
    r = export(bundle, out, "tract-npz")
    assert r.returncode == 0, r.stderr
    return out


def read_pb(path: Path) -> tuple[str, np.ndarray]:
    t = onnx.TensorProto()
    t.ParseFromString(path.read_bytes())
    return t.name, numpy_helper.to_array(t)


def replay_onnx_folder(folder: Path) -> list[float]:
    """onnx_test_runner's loop with ORT; AssertionError if a data set exceeds max_abs.
    Returns the max abs difference per data set."""
    tol = json.loads((folder / "export.json").read_text())["tolerance"]["max_abs"]
    session = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    in_name, out_name = session.get_inputs()[0].name, session.get_outputs()[0].name
    diffs = []
    for data_set in sorted(folder.glob("test_data_set_*")):
        name_in, x = read_pb(data_set / "input_0.pb")
        name_out, expected = read_pb(data_set / "output_0.pb")
        assert (name_in, name_out) == (in_name, out_name)
        got = session.run([out_name], {in_name: x})[0]
        assert got.dtype == expected.dtype and got.shape == expected.shape, data_set
        diff = float(np.max(np.abs(got.astype(np.float64) - expected.astype(np.float64))))
        assert diff <= tol, f"{data_set}: max abs {diff} > {tol}"
        diffs.append(diff)
    return diffs


def folders(out: Path) -> list[Path]:
    return sorted(p.parent for p in out.glob("*/model.onnx"))


def test_onnx_test_data_replays_with_onnxruntime(onnx_export):
    found = folders(onnx_export)
    # 2 pipelines x 3 positive inputs (the negative vector has no outputs); decode skipped:
    # p.gray color + normalize, p.pillow_resize resize
    assert len(found) == 9
    for folder in found:
        assert replay_onnx_folder(folder), folder
    summary = json.loads((onnx_export / "export.json").read_text())
    assert {s["op"] for s in summary["skipped"]} == {"decode"}
    assert all("decoder" in s["reason"] for s in summary["skipped"])


def test_uint8_exact_steps_replay_exactly(onnx_export):
    # what onnx_test_runner's exact integer comparison would see: color (max_abs 0) exact
    for folder in onnx_export.glob("p.gray.1_color.*"):
        assert replay_onnx_folder(folder) == [0.0]


def test_corrupted_output_fails(onnx_export, tmp_path):
    import shutil

    src = next(iter(onnx_export.glob("p.gray.1_color.*")))
    folder = tmp_path / src.name
    shutil.copytree(src, folder)
    pb = folder / "test_data_set_0" / "output_0.pb"
    name, y = read_pb(pb)
    y = y.copy()
    y.flat[0] ^= 0x01  # flip one bit of one value
    pb.write_bytes(numpy_helper.from_array(y, name).SerializeToString())
    with pytest.raises(AssertionError, match="max abs 1.0"):
        replay_onnx_folder(folder)


def test_corrupted_model_fails_to_load(onnx_export, tmp_path):
    import shutil

    src = next(iter(onnx_export.glob("p.gray.2_normalize.*")))
    folder = tmp_path / src.name
    shutil.copytree(src, folder)
    data = bytearray((folder / "model.onnx").read_bytes())
    data[len(data) // 2:] = b"\xff" * (len(data) - len(data) // 2)
    (folder / "model.onnx").write_bytes(bytes(data))
    with pytest.raises(Exception) as info:
        replay_onnx_folder(folder)
    assert not isinstance(info.value, AssertionError)


def replay_tract_folder(folder: Path) -> list[float]:
    """tract-onnx (the extension) on each test_data_set_N/io.npz, names looked up as tract's CLI
    does: the input by the input node's name, the output by the ONNX output value name (tract's
    outlet label) or else the output node's name."""
    native = pytest.importorskip("conformance_rust")
    tol = json.loads((folder / "export.json").read_text())["tolerance"]["max_abs"]
    data = (folder / "model.onnx").read_bytes()
    model = native.OnnxModel(data)
    (in_name,), (node_name,) = model.inputs, model.outputs
    label = onnx.load_from_string(data).graph.output[0].name
    diffs = []
    data_sets = sorted(folder.glob("test_data_set_*"))
    assert data_sets
    for data_set in data_sets:
        with np.load(data_set / "io.npz", allow_pickle=False) as npz:
            x = npz[in_name]
            expected = npz[label] if label in npz.files else npz[node_name]
        got = model.run(x)[0]
        assert got.dtype == expected.dtype and got.shape == expected.shape
        diff = float(np.max(np.abs(got.astype(np.float64) - expected.astype(np.float64))))
        assert diff <= tol, f"{data_set}: max abs {diff} > {tol}"
        diffs.append(diff)
    return diffs


def test_tract_npz_replays_with_tract(tract_export):
    found = folders(tract_export)
    assert len(found) == 9
    for folder in found:
        assert replay_tract_folder(folder)


def test_corrupted_npz_fails(tract_export, tmp_path):
    import shutil
    import zipfile

    src = next(iter(tract_export.glob("p.gray.2_normalize.*")))
    folder = tmp_path / src.name
    shutil.copytree(src, folder)
    path = folder / "test_data_set_0" / "io.npz"
    with np.load(path) as npz:
        arrays = {k: npz[k].copy() for k in npz.files}
    assert sorted(arrays) == ["image", "output"]
    arrays["output"][0, 0, 0] += np.float32(0.25)
    with zipfile.ZipFile(path, "w") as z:
        for k, v in arrays.items():
            with z.open(k + ".npy", "w") as f:
                np.lib.format.write_array(f, v)
    with pytest.raises(AssertionError, match=r"max abs 0\.2499"):
        replay_tract_folder(folder)


def test_cli_refuses_non_empty_out(bundle, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    r = export(bundle, out, "onnx-test-data")
    assert r.returncode == 2
    assert "not empty" in r.stderr and "Traceback" not in r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["mine.txt"]
    r = export(bundle, out, "onnx-test-data", "--force")
    assert r.returncode == 0, r.stderr
    assert (out / "mine.txt").read_text() == "keep" and (out / "export.json").is_file()


def test_cli_bad_bundle_is_one_line_exit_2(tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "manifest.json").write_text("{not json")
    r = export(bad, tmp_path / "out", "tract-npz")
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "manifest.json is not valid JSON" in r.stderr
    assert not (tmp_path / "out").exists()


def test_cli_filters_and_skips_listed(bundle, tmp_path):
    out = tmp_path / "out"
    r = export(bundle, out, "onnx-test-data", "--pipeline", "p.gray", "--case", "*checker*")
    assert r.returncode == 0, r.stderr
    assert [f.name for f in folders(out)] == ["p.gray.1_color.33x31x3.uint8",
                                              "p.gray.2_normalize.33x31x1.uint8"]
    summary = json.loads((out / "export.json").read_text())
    assert summary["skipped"] == [{"pipeline": "p.gray", "index": 0, "op": "decode",
                                   "reason": summary["skipped"][0]["reason"],
                                   "cases": ["p.gray__syn.checker.33x31"]}]
    assert "p.gray` step 0 (decode)" in (out / "README.md").read_text()


def test_cases_of_one_graph_share_a_folder(tmp_path):
    """Two inputs of one shape reach one graph (two data sets); a Lanczos resize has no ONNX
    Resize mode and is listed as skipped with that reason; both replay with onnxruntime."""
    from conformance.corpus import builtin_corpus
    from conformance.generate import Plan, generate
    from conformance.spec import pipeline_from_dict

    ids = ("png.rgb8.13x17", "png.rgb8_adam7.13x17")
    inputs = [i for i in builtin_corpus(photos=False) if i.id in ids]
    pipelines = [pipeline_from_dict(
        {"id": "p.crop", "steps": [{"op": "decode", "preset": "pillow"},
                                   {"op": "crop", "mode": "center", "height": 9, "width": 11},
                                   {"op": "resize", "preset": "pillow.lanczos", "height": 5, "width": 6},
                                   {"op": "layout", "layout": "chw", "batch": True}]}, source="test")]
    generate(Plan(inputs=inputs, pipelines=pipelines, selection={"p.crop": ("png",)}), tmp_path / "b")
    out = tmp_path / "out"
    r = export(tmp_path / "b", out, "onnx-test-data")
    assert r.returncode == 0, r.stderr
    found = folders(out)
    assert [f.name for f in found] == ["p.crop.1_crop.13x17x3.uint8", "p.crop.3_layout.5x6x3.uint8"]
    for folder in found:
        assert replay_onnx_folder(folder) == [0.0, 0.0]
        doc = json.loads((folder / "export.json").read_text())
        assert sorted(doc["cases"].values()) == sorted(f"p.crop__{i}" for i in ids)
    skipped = json.loads((out / "export.json").read_text())["skipped"]
    assert [(s["index"], s["op"]) for s in skipped] == [(0, "decode"), (2, "resize")]
    assert "Lanczos" in skipped[1]["reason"] and len(skipped[1]["cases"]) == 2
