"""``conformance explain``: both forms end to end, and bad input as one line with exit 2.

RESULTS form: a small bundle made here (Pillow's bilinear resize and decode on synthetic inputs)
run by the opencv harness, then explained. Arrays form: a pipeline file, a PNG and an observed
``.npy`` with a planted mistake (channels reversed in the final tensor) or cv2's own resize.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conformance.corpus import builtin_corpus
from conformance.encoders.png import encode_png
from conformance.generate import Plan, generate
from conformance.reference.pipeline import run_pipeline
from conformance.runner import run_bundle
from conformance.spec import load_pipelines, pipeline_from_dict

PIPELINES = [
    {"id": "p.pillow_resize", "steps": [{"op": "decode", "preset": "pillow"},
                                        {"op": "resize", "preset": "pillow.bilinear", "height": 9, "width": 7}]},
    {"id": "p.gray", "steps": [{"op": "decode", "preset": "pillow"}, {"op": "color", "preset": "pillow.gray"}]},
]
PIPELINE_TOML = """id = "mine"
[[steps]]
op = "decode"
preset = "pillow"
[[steps]]
op = "resize"
preset = "pillow.bilinear"
height = 20
width = 30
[[steps]]
op = "normalize"
preset = "torchvision.imagenet"
[[steps]]
op = "layout"
layout = "chw"
batch = true
"""


def _bundle(root: Path, ids: tuple[str, ...], pipelines: list[dict]) -> Path:
    corpus = builtin_corpus(photos=False)
    inputs = [i for i in corpus if i.id in ids]
    ps = [pipeline_from_dict(p, source="test") for p in pipelines]
    generate(Plan(inputs=inputs, pipelines=ps, selection={p.id: ("synthetic",) for p in ps}), root)
    return root


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("explain")
    bundle = _bundle(root / "bundle", ("syn.gradients.48x64", "syn.colour_bars.24x40"), PIPELINES)
    out = root / "results"
    run_bundle(bundle, out, harnesses=["opencv"], modes=("isolated", "chained"))
    return out


def _main(args: list[str], monkeypatch, capsys) -> tuple[int, str, str]:
    """``conformance.cli.main`` in process: (exit code, stdout, stderr)."""
    from conformance.cli import main

    monkeypatch.setattr(sys, "argv", ["conformance", *args])
    with pytest.raises(SystemExit) as exc:
        main()
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def _one_error_line(code: int, err: str, *words: str) -> None:
    assert code == 2, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    assert "Traceback" not in err
    text = " ".join(err.split())
    for w in words:
        assert w in text, (w, err)


# -- RESULTS ----------------------------------------------------------------------------------------

def test_results_json_explains_cv2_resize_of_pillow_bilinear(results, monkeypatch, capsys):
    code, out, _ = _main(["explain", str(results), "--json"], monkeypatch, capsys)
    assert code == 0
    doc = json.loads(out)
    resize = [s for s in doc["steps"] if s["op"] == "resize" and s["mode"] == "isolated"]
    assert len(resize) == 2
    for s in resize:
        e = s["explanation"]
        best = e["hypotheses"][0]
        assert e["explained"] and best["preset"] == "opencv.linear" and best["max_abs"] == 0
        assert best["knobs"]["antialias"] == [True, False] and best["library"] == "opencv"
        assert "cv2.resize" in best["sentence"] and s["call"] and "INTER_LINEAR" in s["call"]
    # chained mode: the step input is the harness's own decode; the same explanation
    chained = [s for s in doc["steps"] if s["op"] == "resize" and s["mode"] == "chained"]
    assert chained and all(s["explanation"]["explained"] for s in chained)


def test_results_one_case_prints_the_hypotheses_table(results, monkeypatch, capsys):
    case = "p.pillow_resize__syn.gradients.48x64"
    code, out, _ = _main(["explain", str(results), "--case", case, "--harness", "opencv", "--mode",
                          "isolated"], monkeypatch, capsys)
    assert code == 0
    words = " ".join(out.split())
    assert "explained:" in words and "opencv.linear" in words and "settings tried" in words


def test_results_selection_errors_are_one_line(results, monkeypatch, capsys):
    code, _, err = _main(["explain", str(results), "--harness", "nope"], monkeypatch, capsys)
    _one_error_line(code, err, "no harness 'nope'")
    code, _, err = _main(["explain", str(results), "--case", "no.such.case"], monkeypatch, capsys)
    _one_error_line(code, err, "no case 'no.such.case'")


def test_results_of_another_bundle_is_refused(results, tmp_path, monkeypatch, capsys):
    other = _bundle(tmp_path / "other", ("syn.checker.33x31",), PIPELINES[:1])
    copy = tmp_path / "results"
    subprocess.run(["cp", "-r", str(results), str(copy)], check=True)
    run = json.loads((copy / "run.json").read_text())
    run["bundle"] = str(other.resolve())
    (copy / "run.json").write_text(json.dumps(run))
    code, _, err = _main(["explain", str(copy)], monkeypatch, capsys)
    _one_error_line(code, err, "made from another bundle")


# -- your own arrays ----------------------------------------------------------------------------------

@pytest.fixture
def mine(tmp_path) -> tuple[Path, Path, list[np.ndarray]]:
    image = np.zeros((40, 60, 3), np.uint8)
    image[..., 0] = np.arange(60, dtype=np.uint8)[None, :] * 4
    image[..., 1] = np.arange(40, dtype=np.uint8)[:, None] * 6
    image[..., 2] = 200
    png = tmp_path / "in.png"
    png.write_bytes(encode_png(image, colour_type=2, bit_depth=8))
    toml = tmp_path / "p.toml"
    toml.write_text(PIPELINE_TOML)
    outputs = run_pipeline(load_pipelines(toml)[0], png.read_bytes())
    return toml, png, outputs


def test_arrays_planted_channel_swap_is_named(mine, tmp_path, monkeypatch, capsys):
    toml, png, outputs = mine
    observed = tmp_path / "obs.npy"
    np.save(observed, np.ascontiguousarray(outputs[-1][:, ::-1]))  # NCHW: channels reversed
    code, out, _ = _main(["explain", "--pipeline", str(toml), "--input", str(png), "--output", str(observed),
                          "--json"], monkeypatch, capsys)
    assert code == 0
    doc = json.loads(out)
    assert doc["step"] == 3 and doc["explained"] is True
    assert doc["hypotheses"][0]["transform"] == "channels_reversed"
    assert set(doc) >= {"hypotheses", "explained", "budget_exhausted", "equivalent"}
    # the table form says the same
    code, out, _ = _main(["explain", "--pipeline", str(toml), "--input", str(png), "--output", str(observed)],
                         monkeypatch, capsys)
    assert code == 0 and "channels_reversed" in out and "cvtColor" in " ".join(out.split())


def test_arrays_cv2_resize_with_harness_name(mine, tmp_path, monkeypatch, capsys):
    import cv2

    toml, png, outputs = mine
    observed = tmp_path / "cv2.npy"
    np.save(observed, cv2.resize(outputs[0], (30, 20), interpolation=cv2.INTER_LINEAR))
    code, out, _ = _main(["explain", "--pipeline", str(toml), "--input", str(png), "--output", str(observed),
                          "--step", "1", "--harness", "opencv", "--tolerance", "0", "--json"], monkeypatch, capsys)
    assert code == 0
    best = json.loads(out)["hypotheses"][0]
    assert best["preset"] == "opencv.linear" and best["max_abs"] == 0 and best["library"] == "opencv"


@pytest.mark.parametrize("array, words", [
    (np.zeros((20, 30, 3), np.complex128), ["dtype complex128"]),
    (np.zeros((20, 30, 3), bool), ["dtype bool"]),
    (np.zeros(1800, np.uint8), ["shape [1800]"]),
    (np.zeros((5, 5, 3), np.float32), ["shape [5, 5, 3]", "no setting tried gives that shape"]),
])
def test_arrays_of_the_wrong_shape_or_dtype(mine, tmp_path, monkeypatch, capsys, array, words):
    """(5, 5, 3) for the normalize step: no hypothesis changes its shape (for a resize step it
    would be a hypothesis: another target size)."""
    toml, png, _ = mine
    observed = tmp_path / "bad.npy"
    np.save(observed, array)
    code, _, err = _main(["explain", "--pipeline", str(toml), "--input", str(png), "--output", str(observed),
                          "--step", "2"], monkeypatch, capsys)
    _one_error_line(code, err, *words)


def test_bad_files_and_step_out_of_range(mine, tmp_path, monkeypatch, capsys):
    toml, png, outputs = mine
    observed = tmp_path / "ok.npy"
    np.save(observed, outputs[1])
    code, _, err = _main(["explain", "--pipeline", str(toml), "--input", str(png), "--output", str(observed),
                          "--step", "7"], monkeypatch, capsys)
    _one_error_line(code, err, "step 7 is out of range", "0..3")
    garbage = tmp_path / "garbage.npy"
    garbage.write_bytes(b"\x93NUMPY not really")
    code, _, err = _main(["explain", "--pipeline", str(toml), "--input", str(png), "--output", str(garbage)],
                         monkeypatch, capsys)
    _one_error_line(code, err, "garbage.npy", "not a valid .npy")
    code, _, err = _main(["explain", "--pipeline", str(toml), "--input", str(toml), "--output", str(observed),
                          "--step", "1"], monkeypatch, capsys)
    _one_error_line(code, err, "step 0 (decode) cannot run")


def test_usage_errors(results, mine, monkeypatch, capsys):
    toml, png, _ = mine
    code, _, err = _main(["explain"], monkeypatch, capsys)
    assert code == 2 and "give RESULTS, or --pipeline" in err
    code, _, err = _main(["explain", str(results), "--pipeline", str(toml)], monkeypatch, capsys)
    assert code == 2 and "Traceback" not in err


def test_subprocess_exit_code_and_no_traceback(mine, tmp_path):
    toml, png, _ = mine
    observed = tmp_path / "bad.npy"
    np.save(observed, np.zeros((2, 2), np.complex64))
    proc = subprocess.run([sys.executable, "-m", "conformance.cli", "explain", "--pipeline", str(toml), "--input",
                           str(png), "--output", str(observed)], capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error:") and "complex64" in proc.stderr
