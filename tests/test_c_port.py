"""The C example port (examples/c-port/port.c) scored through the harness protocol.

The port is built once per session with the system C compiler (-Werror) into a temporary
folder, run by the runner as an external program on a small bundle of end-to-end pipelines
(torchvision, cv2.dnn, transformers PIL and torchvision backends, timm crop-or-pad, plus one
with colour reversal, box and round-half-up centre crops, an odd pad-before crop and float64
normalize), and scored against the reference: its crop/normalize/layout/color steps must pass
(0 difference), decode and resize must be `unsupported` with its reason. Hostile bundle files
must give error records for their cases, not a crash.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from conformance.corpus import builtin_corpus
from conformance.generate import Plan, generate
from conformance.harnesses.external import ExternalHarness
from conformance.plans import END_TO_END
from conformance.runner import run_bundle
from conformance.score import score_results
from conformance.spec import pipeline_from_dict

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "examples" / "c-port" / "port.c"
SCHEMA = json.loads((ROOT / "conformance" / "schemas" / "harness-v1.schema.json").read_text())
E2E = ("e2e.torchvision.bilinear_s40.center32.imagenet.chw", "e2e.cv2dnn.bgr.linear_32x32.mean_first.chw",
       "e2e.hf_pil.clip_like.bicubic_s40.crop32.chw", "e2e.hf_torchvision.fused.bilinear_s24_max30.crop28.chw",
       "e2e.timm.border.bicubic_l36.croppad32.chw")
EXTRA = {"id": "c_port.bgr.crops.float64", "steps": [
    {"op": "decode", "preset": "pillow"},
    {"op": "color", "conversion": "rgb_to_bgr"},
    # 33x31 -> 36x36: odd paddings (3 rows, 5 columns), the odd pixel before, per-channel fill
    {"op": "crop", "mode": "center", "height": 36, "width": 36, "offset_rounding": "floor",
     "if_smaller": "pad", "pad_extra": "before", "value": [1, 2, 3]},
    # extra 13 and 10 (36x36) / 12 and 28 (48x64 input): round_half_up differs from floor on odd
    {"op": "crop", "mode": "center", "height": 23, "width": 26, "offset_rounding": "round_half_up"},
    {"op": "crop", "mode": "box", "top": 2, "left": 3, "height": 17, "width": 19},
    {"op": "normalize", "dtype": "float32", "compute_dtype": "float64", "divisor": 255.0,
     "mean": [0.5, 0.4, 0.3], "std": [0.2, 0.25, 0.3], "order": "mean_first"},
    {"op": "layout", "layout": "hwc", "batch": False, "channel_order": "reverse"}]}
INPUTS = ("syn.gradients.48x64", "syn.checker.33x31")
IMPLEMENTED = {"crop", "normalize", "layout", "color"}


@pytest.fixture(scope="session")
def port(tmp_path_factory) -> Path:
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        pytest.skip("no C compiler (cc, gcc or clang) on PATH to build examples/c-port/port.c")
    binary = tmp_path_factory.mktemp("c-port") / "port"
    argv = [cc, "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off", "-o", str(binary),
            str(SOURCE), "-lm"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return binary


@pytest.fixture(scope="session")
def bundle(tmp_path_factory) -> Path:
    dicts = [{"id": pid, "steps": steps} for pid, _, steps in END_TO_END if pid in E2E] + [EXTRA]
    assert len(dicts) == len(E2E) + 1
    pipelines = [pipeline_from_dict(d, source="test") for d in dicts]
    inputs = [i for i in builtin_corpus(photos=False) if i.id in INPUTS]
    assert len(inputs) == len(INPUTS)
    out = tmp_path_factory.mktemp("c-port-bundle") / "bundle"
    generate(Plan(inputs=inputs, pipelines=pipelines, selection={p.id: ("synthetic",) for p in pipelines}), out)
    return out


def test_c_port_steps_score_exactly_through_the_runner(port, bundle, tmp_path):
    ext = ExternalHarness.parse(f"c-port={port}", timeout=20)
    out = tmp_path / "results"
    run_bundle(bundle, out, harnesses=[], externals=[ext], modes=("isolated", "chained"), jobs=1)
    scores = score_results(out)
    n_cases = len(json.loads((bundle / "manifest.json").read_text())["cases"])
    isolated = [c for c in scores.cases if c.mode == "isolated"]
    chained = [c for c in scores.cases if c.mode == "chained"]
    assert len(isolated) == len(chained) == n_cases == (len(E2E) + 1) * len(INPUTS)
    ran = set()
    for case in isolated:
        assert case.error is None, case.to_json()
        for s in case.steps:
            if s.op in IMPLEMENTED:
                # every step it implements matches the reference bit for bit (float32 included)
                assert s.verdict == "pass", (case.case, s.index, s.op, s.message)
                assert s.metrics["max_abs"] == 0, (case.case, s.index, s.op, s.metrics)
                ran.add(s.op)
            else:
                assert s.verdict == "unsupported", (case.case, s.index, s.op, s.verdict)
                want = "no PNG/JPEG decoder" if s.op == "decode" else "no resampling filters"
                assert want in s.message, s.message
    assert ran == IMPLEMENTED
    # chained: the port cannot decode, so everything after step 0 is skipped, never an error
    for case in chained:
        assert case.error is None, case.to_json()
        assert case.steps[0].verdict == "unsupported"
        assert {s.verdict for s in case.steps[1:]} == {"skipped"}, case.to_json()


def _run(port: Path, bundle: Path, out: Path, mode: str = "isolated") -> tuple[int, dict]:
    out.mkdir()
    done = subprocess.run([str(port), "--bundle", str(bundle), "--out", str(out), "--mode", mode],
                          capture_output=True, text=True, timeout=30)
    doc = json.loads((out / "harness.json").read_text()) if (out / "harness.json").exists() else {}
    return done.returncode, doc


def _valid(doc: dict) -> None:
    jsonschema.validate(doc, {k: v for k, v in SCHEMA.items() if k != "$defs"})
    for entry in doc["cases"].values():
        jsonschema.validate(entry, {"$defs": SCHEMA["$defs"], **SCHEMA["$defs"]["case"]})


def test_c_port_hostile_bundle_files_are_error_records_not_a_crash(port, bundle, tmp_path):
    hostile = tmp_path / "hostile"
    shutil.copytree(bundle, hostile)
    manifest = json.loads((hostile / "manifest.json").read_text())
    ok_cases = [c for c in manifest["cases"] if c["pipeline"] == "e2e.torchvision.bilinear_s40.center32.imagenet.chw"]
    truncated, absurd = ok_cases[0], ok_cases[1]
    # the crop's input (the reference resize output): cut short / a header claiming 2^62 elements
    path = hostile / truncated["steps"][1]["output"]
    path.write_bytes(path.read_bytes()[:-7])
    path = hostile / absurd["steps"][1]["output"]
    header = "{'descr': '|u1', 'fortran_order': False, 'shape': (2147483648, 2147483648, 1), }"
    path.write_bytes(b"\x93NUMPY\x01\x00" + len(header + "\n").to_bytes(2, "little") + header.encode() + b"\n"
                     + b"\0" * 64)
    # a case id that would be a path out of OUT
    evil = json.loads(json.dumps(manifest["cases"][-1]))
    evil["id"] = "../evil"
    manifest["cases"].append(evil)
    (hostile / "manifest.json").write_text(json.dumps(manifest))

    rc, doc = _run(port, hostile, tmp_path / "out")
    assert rc == 0
    _valid(doc)
    cases = doc["cases"]
    need = int(np.prod(truncated["steps"][1]["shape"]))
    assert f"needs {need} bytes of data, the file has {need - 7}" in cases[truncated["id"]]["error"]
    assert "absurd shape" in cases[absurd["id"]]["error"] or "too large" in cases[absurd["id"]]["error"]
    assert "not a safe name" in cases["../evil"]["error"]
    assert not (tmp_path / "evil").exists()
    others = [cid for cid in cases if cid not in (truncated["id"], absurd["id"], "../evil")]
    assert len(others) == len(manifest["cases"]) - 3
    assert all("steps" in cases[cid] for cid in others)

    # a manifest that is not JSON stops the program with a message and status 1, no signal
    (hostile / "manifest.json").write_text('{"cases": [{"id": "x", "pipeline": ' + "[" * 100000)
    rc, doc = _run(port, hostile, tmp_path / "out2")
    assert rc == 1 and doc == {}


def test_c_port_writes_numpys_exact_npy_bytes(port, bundle, tmp_path):
    """Its .npy files load with numpy and match numpy's own bytes for the same array."""
    rc, doc = _run(port, bundle, tmp_path / "out")
    assert rc == 0
    _valid(doc)
    written = sorted((tmp_path / "out").glob("*/*.npy"))
    assert written
    for f in written[:6]:
        again = tmp_path / "again.npy"
        np.save(again, np.load(f))
        assert f.read_bytes() == again.read_bytes(), f
