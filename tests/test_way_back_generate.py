"""Tensor inputs end to end: generate from a user's folder of .npy model outputs and images,
the manifest's record of each tensor, NaN/inf kept as data, hostile files refused one by one,
direction mistakes refused at load time, and a run scored with NaN matching NaN."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
from click.testing import CliRunner

from conformance.bundle import Bundle, npy_bytes, verify_bundle
from conformance.cli import cli
from conformance.encoders.png import encode_png
from conformance.score import compare
from conformance.tensor_corpus import negative_tensors

BACK = """id = "back"
[[steps]]
op = "tensor"
layout = "nchw"
[[steps]]
op = "denormalize"
preset = "basicsr.tensor2img"
[[steps]]
op = "quantize"
preset = "basicsr.tensor2img"
[[steps]]
op = "encode"
format = "png"
"""
FORWARD = 'id = "fwd"\nsteps = [{op = "decode", preset = "pillow"}, {op = "crop", height = 4, width = 4}]\n'


def _folder(tmp_path):
    d = tmp_path / "outputs"
    d.mkdir()
    t = np.linspace(-1.2, 1.2, 3 * 5 * 6, dtype=np.float32).reshape(1, 3, 5, 6)
    t[0, 0, 0, 0], t[0, 1, 0, 1], t[0, 2, 0, 2] = np.nan, np.inf, -np.inf
    (d / "out.npy").write_bytes(npy_bytes(t))
    (d / "photo.png").write_bytes(encode_png(np.full((6, 7, 3), 90, np.uint8), colour_type=2, bit_depth=8))
    for n in negative_tensors()[:3]:
        (d / f"{n.id}.npy").write_bytes(n.data)
    (tmp_path / "back.toml").write_text(BACK)
    (tmp_path / "fwd.toml").write_text(FORWARD)
    return d, t


def test_generate_pairs_tensors_and_images_by_kind(tmp_path):
    d, t = _folder(tmp_path)
    r = CliRunner().invoke(cli, ["generate", "--pipelines", str(tmp_path / "back.toml"), "--pipelines",
                                 str(tmp_path / "fwd.toml"), "--images", str(d), "--out", str(tmp_path / "b"),
                                 "--jobs", "1"])
    assert r.exit_code == 0, r.output
    words = " ".join(r.output.split())
    # the three hostile .npy files are refused before the run, each named, the rest go on
    for n in negative_tensors()[:3]:
        assert f"{n.id}.npy" in words
    b = Bundle(tmp_path / "b")
    assert {c["id"] for c in b.cases} == {"back__user.out", "fwd__user.photo"}
    meta = b.manifest["inputs"]["user.out"]
    assert meta["media_type"] == "application/x-npy" and meta["path"].endswith(".npy")
    assert meta["header"] == {"format": "npy", "dtype": "float32", "shape": [1, 3, 5, 6],
                              "nan": 1, "posinf": 1, "neginf": 1,
                              "range": [float(np.nanmin(t[np.isfinite(t)])), float(t[np.isfinite(t)].max())]}
    case = b.case("back__user.out")
    tensor_out = b.expected(case["steps"][0])
    assert np.isnan(tensor_out).sum() == 1 and np.isinf(tensor_out).sum() == 2
    assert "range" not in case["steps"][0] or None not in case["steps"][0]["range"]
    pixels = b.expected(case["steps"][2])
    assert pixels.dtype == np.uint8 and np.array_equal(b.expected(case["steps"][3]), pixels)
    assert verify_bundle(tmp_path / "b").ok


def test_nan_in_the_expected_output_is_matched_only_by_nan(tmp_path):
    want = np.array([[[np.nan], [np.inf], [1.0]]], np.float32)
    assert compare(want, want.copy(), 0)[0] == "pass"
    got = want.copy()
    got[0, 0, 0] = 0.0
    verdict, message, metrics = compare(want, got, 0)
    assert verdict == "fail" and metrics["max_abs"] is None
    got = want.copy()
    got[0, 2, 0] = np.nan
    verdict, message, _ = compare(want, got, 0)
    assert verdict == "fail" and "non-finite" in message


def test_direction_mistakes_are_one_line_errors(tmp_path):
    (tmp_path / "bad.toml").write_text('id = "bad"\nsteps = [{op = "decode"}, {op = "quantize"}]\n')
    proc = subprocess.run([sys.executable, "-m", "conformance.cli", "generate", "--pipelines",
                           str(tmp_path / "bad.toml"), "--out", str(tmp_path / "b")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    line = proc.stderr.strip()
    assert len(line.splitlines()) == 1
    assert "bad.toml" in line and "quantize takes a float tensor" in line


def test_default_bundle_records_its_tensors():
    b = Bundle("vectors/default")
    tensors = {k: v for k, v in b.manifest["inputs"].items() if v["media_type"] == "application/x-npy"}
    assert {k for k, v in tensors.items() if v["expect"] == "error"} == {n.id for n in negative_tensors()}
    traps = tensors["tensor.traps.unit.f32.nchw"]["header"]
    assert traps["nan"] == 3 and traps["posinf"] == 3 and traps["neginf"] == 3
    back = [c for c in b.cases if c["pipeline"].startswith("back.")]
    assert {c["pipeline"].split("__")[0] for c in back} >= {"back.basicsr.png", "back.basicsr.jpeg_q90",
                                                              "back.imagenet.to_pil_image", "back.uint16.png"}
    assert json.dumps(b.manifest)  # NaN never reaches the JSON


def test_expectations_select_tensor_inputs_by_their_header(tmp_path):
    from conformance.expectations import Expectations

    (tmp_path / "e.toml").write_text('[[expected_failure]]\nharness = "opencv"\nop = "quantize"\n'
                                     'header = {format = "npy", dtype = "float16", nan = 0}\n'
                                     'reason = "a half-precision output"\n')
    e = Expectations.load([tmp_path / "e.toml"])
    b = Bundle("vectors/default", validate_schema=False)
    hits = {c["input"] for c in b.cases if c["pipeline"].startswith("back.")
            and e.matching("expected_failure", "opencv", "isolated", c, 1, "quantize", bundle=b)}
    assert hits == {"tensor.photo.unit.f16.chw"}
